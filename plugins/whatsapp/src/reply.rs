//! Replies through the WhatsApp Cloud API: `POST /{version}/{phone-number-id}/messages` with a
//! text message to the customer's `wa_id`, quoting their message (`context.message_id`). The
//! answer's `messages[0].id` (a `wamid`) is what later `statuses` webhooks refer to. Rate
//! limits and Meta's temporary errors are retried; the rest (outside the 24-hour window,
//! undeliverable) fail with Meta's message.

use super::Config;
use clienthub_sdk::{Appeal, HttpResponse, OutboundReply, OutboundRequest, ReplyOutcome, RetryLater};
use serde_json::json;

/// The Graph API server.
pub const API: &str = "https://graph.facebook.com";
/// The Graph API version used unless configured.
pub const VERSION: &str = "v21.0";

/// The `/messages` call that sends `reply`.
pub fn render(config: &Config, appeal: &Appeal, reply: &OutboundReply) -> Result<OutboundRequest, String> {
    let token = config
        .access_token
        .as_deref()
        .ok_or("set access_token in the whatsapp plugin's configuration to send replies")?;
    let phone_number_id = appeal
        .meta("phone_number_id")
        .or(config.phone_number_id.as_deref())
        .ok_or("the appeal names no business phone_number_id and none is configured")?;
    let to = appeal
        .conversation_key
        .strip_prefix("wa:")
        .or(appeal.contact.platform_user_id.as_deref())
        .ok_or("the appeal has no WhatsApp wa_id")?;
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": { "preview_url": false, "body": reply.text },
    });
    if appeal.platform_id.starts_with("wamid.") {
        body["context"] = json!({ "message_id": appeal.platform_id });
    }
    let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    let version = config.graph_version.as_deref().unwrap_or(VERSION);
    Ok(OutboundRequest::post_json(format!("{base}/{version}/{phone_number_id}/messages"), &body)
        .with_header("authorization", format!("Bearer {token}")))
}

/// What the Cloud API's answer means.
pub fn read_answer(answer: &HttpResponse) -> ReplyOutcome {
    let Some(body) = answer.body_json() else {
        return ReplyOutcome::from_status(answer);
    };
    if (200..300).contains(&answer.status) {
        return ReplyOutcome::Sent(body["messages"][0]["id"].as_str().map(str::to_string));
    }
    match graph_error(answer, &body) {
        Some((message, true)) => {
            ReplyOutcome::Retry(RetryLater { after_ms: answer.retry_after_ms(), error: message })
        }
        Some((message, false)) => ReplyOutcome::Failed(message),
        None => ReplyOutcome::from_status(answer),
    }
}

/// A Graph API error answer as (message, temporary); `None` when the body is no Graph error.
pub fn graph_error(answer: &HttpResponse, body: &serde_json::Value) -> Option<(String, bool)> {
    let error = &body["error"];
    let code = error["code"].as_i64()?;
    let message = format!("WhatsApp error {code}: {}", error["message"].as_str().unwrap_or("no message"));
    // Throttling (4, 80007, 130429, 131048, 131056) and temporary failures (1, 2, 131000,
    // 131016): https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
    let temporary = matches!(code, 1 | 2 | 4 | 80007 | 130429 | 131000 | 131016 | 131048 | 131056);
    Some((message, temporary || answer.status >= 500))
}
