//! Calls to the Bitrix24 REST API through the inbound webhook URL
//! (`{webhook_url}{method}.json`, JSON body), and the reading of its answers:
//! `{"result": …}`, or `{"error": "QUERY_LIMIT_EXCEEDED", "error_description": …}` with 503, or
//! another error code; several calls of one appeal go as one `batch`.

use clienthub_sdk::{CrmError, HttpResponse, OutboundRequest, RetryLater};
use serde_json::{Map, Value};

/// How long to wait after `QUERY_LIMIT_EXCEEDED` (Bitrix24 allows about 2 requests a second).
const LIMIT_WAIT_MS: u64 = 1000;

/// Calls `method` with `params`; the `result` of the answer.
///
/// # Errors
/// `retry` for rate limits, outages and network failures; `failed` for Bitrix24's refusals.
pub fn call(webhook_url: &str, method: &str, params: &Value) -> Result<Value, CrmError> {
    let url = format!("{}/{method}.json", webhook_url.trim_end_matches('/'));
    let answer = clienthub_sdk::http::send(&OutboundRequest::post_json(url, params))
        .map_err(|e| CrmError::Retry(RetryLater { after_ms: None, error: format!("{method}: {e}") }))?;
    read(method, &answer)
}

/// The `result` of Bitrix24's `answer` to `method`.
///
/// # Errors
/// As [`call`].
pub fn read(method: &str, answer: &HttpResponse) -> Result<Value, CrmError> {
    let body = answer.body_json().unwrap_or_default();
    let error = body["error"].as_str();
    let description = body["error_description"].as_str().unwrap_or("");
    if answer.status == 503 || error == Some("QUERY_LIMIT_EXCEEDED") {
        let after = answer.retry_after_ms().unwrap_or(LIMIT_WAIT_MS);
        return Err(CrmError::Retry(RetryLater {
            after_ms: Some(after),
            error: format!("{method}: {} {description}", error.unwrap_or("HTTP 503")),
        }));
    }
    if answer.status >= 500 {
        return Err(CrmError::Retry(RetryLater {
            after_ms: None,
            error: format!("{method}: HTTP {} {}", answer.status, error.unwrap_or("")),
        }));
    }
    if let Some(error) = error {
        return Err(CrmError::Failed(format!("Bitrix24 {method}: {error} {description}").trim().to_string()));
    }
    if !(200..300).contains(&answer.status) || body.get("result").is_none() {
        return Err(CrmError::Failed(format!(
            "Bitrix24 {method}: HTTP {} {}",
            answer.status,
            answer.body_excerpt()
        )));
    }
    Ok(body["result"].clone())
}

/// An id in a Bitrix24 answer, sent as a number or a string.
pub fn id(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Calls several methods in one request (`batch`, at most 50): `commands` are (name, method,
/// params); a later command may refer to an earlier one's result as `$result[name]`. The
/// results by name. With `halt`, Bitrix24 stops at the first failing command.
///
/// # Errors
/// As [`call`]; a failing command is `failed` with its error (`retry` for a rate limit).
pub fn batch(webhook_url: &str, commands: &[(&str, &str, Value)]) -> Result<Map<String, Value>, CrmError> {
    let cmd: Map<String, Value> = commands
        .iter()
        .map(|(name, method, params)| {
            ((*name).to_string(), Value::String(format!("{method}?{}", query(params))))
        })
        .collect();
    let answer = call(webhook_url, "batch", &serde_json::json!({ "halt": 1, "cmd": cmd }))?;
    if let Some((name, error)) = answer["result_error"].as_object().and_then(|errors| errors.iter().next()) {
        let code = error["error"].as_str().unwrap_or("");
        let description = error["error_description"].as_str().unwrap_or("");
        let message = format!("batch {name}: {code} {description}").trim().to_string();
        return Err(if code == "QUERY_LIMIT_EXCEEDED" {
            CrmError::Retry(RetryLater { after_ms: Some(LIMIT_WAIT_MS), error: message })
        } else {
            CrmError::Failed(format!("Bitrix24 {message}"))
        });
    }
    Ok(answer["result"].as_object().cloned().unwrap_or_default())
}

/// `params` as a PHP query string (`fields[TITLE]=…&fields[PHONE][0][VALUE]=…`), the form of a
/// `batch` command; a value `$result[…]` (a reference to an earlier command) stays as it is.
pub fn query(params: &Value) -> String {
    let mut pairs = Vec::new();
    flatten(String::new(), params, &mut pairs);
    pairs
        .into_iter()
        .map(|(key, value)| {
            let key: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
            let value = if value.starts_with("$result[") {
                value
            } else {
                form_urlencoded::byte_serialize(value.as_bytes()).collect()
            };
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn flatten(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
    let key = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}[{name}]") };
    match value {
        Value::Object(map) => map.iter().for_each(|(name, v)| flatten(key(name), v, out)),
        Value::Array(list) => list.iter().enumerate().for_each(|(n, v)| flatten(key(&n.to_string()), v, out)),
        Value::String(s) => out.push((prefix, s.clone())),
        Value::Bool(b) => out.push((prefix, if *b { "Y" } else { "N" }.to_string())),
        Value::Number(n) => out.push((prefix, n.to_string())),
        Value::Null => out.push((prefix, String::new())),
    }
}
