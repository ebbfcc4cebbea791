//! Call recordings through the Mango Office VPBX API: `POST /vpbx/queries/recording/post`
//! with the form fields `vpbx_api_key`, `sign` (`sha256_hex(vpbx_api_key + json +
//! vpbx_api_salt)`) and `json` = `{"recording_id": …, "action": "download"}`. Mango answers
//! with a redirect (`302`, `Location`) to the file, which is then downloaded; an answer that
//! is the file itself is downloaded by repeating the call.

use super::Config;
use clienthub_sdk::{Attachment, HttpResponse, MediaStep, OutboundRequest, RetryLater};
use sha2::{Digest, Sha256};

/// Mango Office's API server.
const API: &str = "https://app.mango-office.ru";

/// The next step of fetching a recording (`mango:<recording_id>`).
pub fn step(config: &Config, attachment: &Attachment, answers: &[HttpResponse]) -> MediaStep {
    let (Some(key), Some(salt)) = (config.api_key.as_deref(), config.api_salt.as_deref()) else {
        return MediaStep::Failed(
            "set api_key and api_salt in the mango plugin's configuration to fetch recordings".into(),
        );
    };
    let Some(recording) = attachment.reference.strip_prefix("mango:").filter(|id| !id.is_empty()) else {
        return MediaStep::Failed("not a Mango Office recording reference".into());
    };
    let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    let json = serde_json::json!({ "recording_id": recording, "action": "download" }).to_string();
    let sign = hex::encode(Sha256::digest(format!("{key}{json}{salt}").as_bytes()));
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("vpbx_api_key", key)
        .append_pair("sign", &sign)
        .append_pair("json", &json)
        .finish();
    let call = OutboundRequest::post_form(format!("{base}/vpbx/queries/recording/post"), form);
    let Some(answer) = answers.first() else {
        return MediaStep::Call(call);
    };
    match answer.status {
        301 | 302 | 303 | 307 | 308 => match answer.header("location") {
            Some(location) => MediaStep::Download(OutboundRequest::get(location)),
            None => MediaStep::Failed("Mango redirected with no Location".into()),
        },
        200 if answer.header("content-type").is_some_and(|t| !t.contains("json")) => {
            MediaStep::Download(call)
        }
        404 | 429 | 500..=599 => MediaStep::Retry(RetryLater {
            after_ms: answer.retry_after_ms(),
            error: format!("Mango: HTTP {}: {}", answer.status, answer.body_excerpt()),
        }),
        status => MediaStep::Failed(format!("Mango: HTTP {status}: {}", answer.body_excerpt())),
    }
}
