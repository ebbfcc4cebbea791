//! Files through the Bot API: `getFile` with the attachment's `file_id` gives a `file_path`
//! (valid for at least an hour), and `https://api.telegram.org/file/bot<token>/<file_path>`
//! is the file. The Bot API hands out files up to 20 MB; a larger one answers
//! `{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}`.

use super::Config;
use clienthub_sdk::{Attachment, HttpResponse, MediaStep, OutboundRequest, RetryLater};
use serde_json::Value;

/// The next step of fetching `attachment`, after the Bot API's `answers` so far.
pub fn step(config: &Config, attachment: &Attachment, answers: &[HttpResponse]) -> MediaStep {
    let Some(token) = config.bot_token.as_deref() else {
        return MediaStep::Failed(
            "set bot_token in the telegram plugin's configuration to fetch files".into(),
        );
    };
    let base = config.api_base.as_deref().unwrap_or(super::reply::API).trim_end_matches('/');
    let Some(answer) = answers.first() else {
        let file_id = query_escape(&attachment.reference);
        return MediaStep::Call(OutboundRequest::get(format!("{base}/bot{token}/getFile?file_id={file_id}")));
    };
    let Some(body) = answer.body_json().filter(|b| b.get("ok").is_some()) else {
        return match answer.status {
            429 | 500..=599 => MediaStep::Retry(RetryLater {
                after_ms: answer.retry_after_ms(),
                error: format!("getFile: HTTP {}", answer.status),
            }),
            status => MediaStep::Failed(format!("getFile: HTTP {status}: {}", answer.body_excerpt())),
        };
    };
    if body["ok"] != Value::Bool(true) {
        let code = body["error_code"].as_i64().unwrap_or(i64::from(answer.status));
        let error = format!("Telegram {code}: {}", body["description"].as_str().unwrap_or("no description"));
        return match code {
            429 | 500..=599 => MediaStep::Retry(RetryLater {
                after_ms: body["parameters"]["retry_after"].as_u64().map(|s| s.saturating_mul(1000)),
                error,
            }),
            _ => MediaStep::Failed(error),
        };
    }
    match body["result"]["file_path"].as_str() {
        Some(path) if !path.starts_with('/') => {
            MediaStep::Download(OutboundRequest::get(format!("{base}/file/bot{token}/{path}")))
        }
        Some(_) => {
            MediaStep::Failed("a local Bot API server gave a local file path; serve it over HTTP".into())
        }
        None => MediaStep::Failed("getFile gave no file_path".into()),
    }
}

/// `file_id`s are URL-safe base64, but a reference is data: escape anything else.
fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
