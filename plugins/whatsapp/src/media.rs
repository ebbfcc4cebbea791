//! Files through the Cloud API: `GET /{version}/{media-id}` with the access token answers
//! `{"url": …, "mime_type": …, "sha256": …, "file_size": …, "id": …}`; the `url` (on
//! `lookaside.fbsbx.com`, valid for five minutes) is downloaded with the same bearer token.
//! Media ids stay retrievable for 30 days after the webhook.

use super::Config;
use super::reply::{API, VERSION, graph_error};
use clienthub_sdk::{Attachment, HttpResponse, MediaStep, OutboundRequest, RetryLater};

/// The next step of fetching `attachment` (its reference is the media id).
pub fn step(config: &Config, attachment: &Attachment, answers: &[HttpResponse]) -> MediaStep {
    let Some(token) = config.access_token.as_deref() else {
        return MediaStep::Failed(
            "set access_token in the whatsapp plugin's configuration to fetch files".into(),
        );
    };
    let bearer = format!("Bearer {token}");
    let Some(answer) = answers.first() else {
        let id = &attachment.reference;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return MediaStep::Failed("not a WhatsApp media id".into());
        }
        let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
        let version = config.graph_version.as_deref().unwrap_or(VERSION);
        return MediaStep::Call(
            OutboundRequest::get(format!("{base}/{version}/{id}")).with_header("authorization", bearer),
        );
    };
    let body = answer.body_json().unwrap_or_default();
    if !(200..300).contains(&answer.status) {
        return match graph_error(answer, &body) {
            Some((error, true)) => MediaStep::Retry(RetryLater { after_ms: answer.retry_after_ms(), error }),
            Some((error, false)) => MediaStep::Failed(error),
            None if answer.status == 429 || answer.status >= 500 => MediaStep::Retry(RetryLater {
                after_ms: answer.retry_after_ms(),
                error: format!("media URL: HTTP {}", answer.status),
            }),
            None => {
                MediaStep::Failed(format!("media URL: HTTP {}: {}", answer.status, answer.body_excerpt()))
            }
        };
    }
    match body["url"].as_str() {
        Some(url) => MediaStep::Download(OutboundRequest::get(url).with_header("authorization", bearer)),
        None => MediaStep::Failed("the media id's answer has no url".into()),
    }
}
