//! Replies through the WhatsApp Cloud API: `POST /{version}/{phone-number-id}/messages` with a
//! text message to the customer's `wa_id`, quoting their message (`context.message_id`). The
//! answer's `messages[0].id` (a `wamid`) is what later `statuses` webhooks refer to. Rate
//! limits and Meta's temporary errors are retried; the rest (outside the 24-hour window,
//! undeliverable) fail with Meta's message.

use super::Config;
use clienthub_sdk::{
    Appeal, HttpResponse, OutboundReply, OutboundRequest, OutboundSurvey, ReplyOutcome, RetryLater,
};
use serde_json::json;

/// The Graph API server.
pub const API: &str = "https://graph.facebook.com";
/// The Graph API version used unless configured.
pub const VERSION: &str = "v21.0";

/// The `/messages` call that asks `survey`'s question as an interactive message: reply buttons
/// for up to three options (titles up to 20 characters), a list for more (up to ten rows).
pub fn ask(config: &Config, appeal: &Appeal, survey: &OutboundSurvey) -> Result<OutboundRequest, String> {
    let reply = OutboundReply { id: survey.id.clone(), text: survey.question.clone(), author: None };
    let mut request = render(config, appeal, &reply)?;
    let mut body: serde_json::Value = serde_json::from_slice(&request.body).map_err(|e| e.to_string())?;
    let cut = |text: &str, n: usize| text.chars().take(n).collect::<String>();
    let id = |value: &str| clienthub_sdk::survey::payload(&survey.id, value);
    let action = match survey.options.len() {
        0..=3 => json!({"buttons": survey.options.iter().map(|o| json!({"type": "reply",
            "reply": {"id": id(&o.value), "title": cut(&o.label, 20)}})).collect::<Vec<_>>()}),
        _ => json!({"button": "Выбрать", "sections": [{"title": cut(&survey.question, 24),
            "rows": survey.options.iter().take(10).map(|o| json!({"id": id(&o.value), "title": cut(&o.label, 24)})).collect::<Vec<_>>()}]}),
    };
    let kind = if survey.options.len() <= 3 { "button" } else { "list" };
    body["type"] = json!("interactive");
    body["interactive"] =
        json!({"type": kind, "body": {"text": cut(&survey.question, 1024)}, "action": action});
    if let Some(object) = body.as_object_mut() {
        object.remove("text");
        object.remove("context");
    }
    request.body = body.to_string().into_bytes();
    Ok(request)
}

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
