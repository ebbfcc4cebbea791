//! Call recordings through the Zadarma API: `GET /v1/pbx/record/request/?call_id=…` answers
//! `{"status":"success","link":…,"lifetime_till":…}`, and the link is the MP3. Zadarma makes a
//! recording about 40 s after the call ends; until then the method answers an error, and
//! the host asks again later.
//!
//! Every call is signed as Zadarma's API client does: the parameters sorted by name and
//! form-encoded (`+` for a space), `Authorization: <key>:<base64(hex(HMAC-SHA1(method path +
//! parameters + md5(parameters), secret)))>`.

use super::Config;
use clienthub_sdk::{Attachment, HttpResponse, MediaStep, OutboundRequest, RetryLater};
use md5::{Digest, Md5};

/// Zadarma's API server.
const API: &str = "https://api.zadarma.com";
/// The method that gives a recording's link.
const RECORD_REQUEST: &str = "/v1/pbx/record/request/";
/// How long a "not ready yet" is asked again after.
const NOT_READY_MS: u64 = 20_000;

/// The next step of fetching a recording (`zadarma:<call_id_with_rec>`).
pub fn step(config: &Config, attachment: &Attachment, answers: &[HttpResponse]) -> MediaStep {
    let (Some(key), Some(secret)) = (config.api_key.as_deref(), config.secret.as_deref()) else {
        return MediaStep::Failed(
            "set api_key and secret in the zadarma plugin's configuration to fetch recordings".into(),
        );
    };
    let Some(call_id) = attachment.reference.strip_prefix("zadarma:").filter(|id| !id.is_empty()) else {
        return MediaStep::Failed("not a Zadarma recording reference".into());
    };
    let Some(answer) = answers.first() else {
        let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
        let params = signed_params(&[("call_id", call_id), ("format", "json")]);
        let authorization = format!("{key}:{}", signature(RECORD_REQUEST, &params, secret));
        return MediaStep::Call(
            OutboundRequest::get(format!("{base}{RECORD_REQUEST}?{params}"))
                .with_header("authorization", authorization),
        );
    };
    let body = answer.body_json().unwrap_or_default();
    let message = body["message"].as_str().unwrap_or("no message");
    match (answer.status, body["status"].as_str()) {
        (200, Some("success")) => match body["link"].as_str().or_else(|| body["links"][0].as_str()) {
            Some(link) => MediaStep::Download(OutboundRequest::get(link)),
            None => MediaStep::Failed("Zadarma gave no link".into()),
        },
        (401 | 403, _) => MediaStep::Failed(format!("Zadarma refused the key: {message}")),
        (429, _) => MediaStep::Retry(RetryLater {
            after_ms: answer.retry_after_ms().or(Some(60_000)),
            error: format!("Zadarma's rate limit: {message}"),
        }),
        // "Record not found" until the recording exists; a server error is worth a retry too.
        (status, _) => MediaStep::Retry(RetryLater {
            after_ms: Some(NOT_READY_MS),
            error: format!("the recording is not ready yet (HTTP {status}: {message})"),
        }),
    }
}

/// The parameters sorted by name, form-encoded as PHP's `http_build_query` does (RFC 1738).
fn signed_params(params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    form_urlencoded::Serializer::new(String::new()).extend_pairs(sorted).finish()
}

/// Zadarma's signature of a call to `method` with the encoded `params`.
fn signature(method: &str, params: &str, secret: &str) -> String {
    use base64::Engine;
    let digest = hex::encode(Md5::digest(params.as_bytes()));
    let mac =
        clienthub_sdk::auth::hmac_sha1(secret.as_bytes(), format!("{method}{params}{digest}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hex::encode(mac))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_zadarmas() {
        // Computed independently (Python's hmac, hashlib and base64, as Zadarma's PHP client does).
        let params = super::signed_params(&[("format", "json"), ("call_id", "1.2")]);
        assert_eq!(params, "call_id=1.2&format=json");
        assert_eq!(
            super::signature("/v1/pbx/record/request/", &params, "s"),
            "OGYyYWJjZDg0ZWFlNzIxNDU1YjcwZjEyZjU5ODE1ZWI4NmViYWMwMg=="
        );
    }
}
