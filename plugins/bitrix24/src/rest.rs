//! Calls to the Bitrix24 REST API through the inbound webhook URL
//! (`{webhook_url}{method}.json`, JSON body), and the reading of its answers:
//! `{"result": …}`, or `{"error": "QUERY_LIMIT_EXCEEDED", "error_description": …}` with 503, or
//! another error code.

use clienthub_sdk::{CrmError, OutboundRequest, RetryLater};
use serde_json::Value;

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
