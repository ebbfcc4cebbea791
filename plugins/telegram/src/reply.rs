//! Replies through the Bot API: `sendMessage` to the appeal's chat, quoting the customer's
//! message, in the same forum topic or business connection (a survey with inline buttons); and the reading of the Bot API's
//! answer (`{"ok":true,"result":{"message_id":…}}`, or `{"ok":false,"error_code":429,
//! "parameters":{"retry_after":…}}`).

use super::Config;
use clienthub_sdk::{
    Appeal, HttpResponse, MediaFile, OutboundReply, OutboundRequest, OutboundSurvey, ReplyOutcome, RetryLater,
};
use serde_json::{Value, json};

/// The Bot API's public server.
pub const API: &str = "https://api.telegram.org";

/// The `sendMessage` call for `reply`.
pub fn send_message(
    config: &Config,
    appeal: &Appeal,
    reply: &OutboundReply,
) -> Result<OutboundRequest, String> {
    let token = config
        .bot_token
        .as_deref()
        .ok_or("set bot_token in the telegram plugin's configuration to send replies")?;
    let chat = appeal
        .meta("chat_id")
        .or_else(|| appeal.conversation_key.strip_prefix("chat:"))
        .ok_or("the appeal has no Telegram chat id")?;
    let mut body = json!({ "chat_id": number_or_text(chat), "text": reply.text });
    if let Some(id) = appeal.meta("message_id").and_then(|id| id.parse::<i64>().ok()) {
        body["reply_parameters"] = json!({ "message_id": id, "allow_sending_without_reply": true });
    }
    if let Some(thread) = appeal.meta("message_thread_id").and_then(|t| t.parse::<i64>().ok()) {
        body["message_thread_id"] = json!(thread);
    }
    if let Some(connection) = appeal.meta("business_connection_id") {
        body["business_connection_id"] = json!(connection);
    }
    let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    Ok(OutboundRequest::post_json(format!("{base}/bot{token}/sendMessage"), &body))
}

/// The `sendMessage` call that asks `survey`'s question in the appeal's chat, its options as
/// one row of inline keyboard buttons whose `callback_data` brings the answer back.
pub fn ask(config: &Config, appeal: &Appeal, survey: &OutboundSurvey) -> Result<OutboundRequest, String> {
    let reply = OutboundReply { id: survey.id.clone(), text: survey.question.clone(), author: None };
    let mut request = send_message(config, appeal, &reply)?;
    let mut body: Value = serde_json::from_slice(&request.body).map_err(|e| e.to_string())?;
    let buttons: Vec<Value> = survey
        .options
        .iter()
        .map(|o| json!({"text": o.label, "callback_data": clienthub_sdk::survey::payload(&survey.id, &o.value)}))
        .collect();
    body["reply_markup"] = json!({ "inline_keyboard": [buttons] });
    if let Some(object) = body.as_object_mut() {
        object.remove("reply_parameters");
    }
    request.body = body.to_string().into_bytes();
    Ok(request)
}

/// The `sendPhoto` (an image) or `sendDocument` call that sends `file` with `caption` to the
/// appeal's chat, as `multipart/form-data` (the Bot API takes uploads up to 10 MB for photos
/// and 50 MB for documents).
pub fn send_file(
    config: &Config,
    appeal: &Appeal,
    file: &MediaFile,
    caption: &str,
) -> Result<OutboundRequest, String> {
    let token = config
        .bot_token
        .as_deref()
        .ok_or("set bot_token in the telegram plugin's configuration to send files")?;
    let chat = appeal
        .meta("chat_id")
        .or_else(|| appeal.conversation_key.strip_prefix("chat:"))
        .ok_or("the appeal has no Telegram chat id")?;
    let image =
        file.mime_type.as_deref().is_some_and(|m| m.starts_with("image/")) && file.body.len() <= 10 << 20;
    let (method, field) = if image { ("sendPhoto", "photo") } else { ("sendDocument", "document") };
    let name =
        file.file_name.clone().unwrap_or_else(|| if image { "photo.jpg".into() } else { "file".into() });
    let boundary = format!("clienthub-{:016x}", file.body.len() as u64 ^ 0x5bd1_e995_9e37_79b9);
    let mut body = Vec::new();
    let mut text_part = |name: &str, value: &str| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    };
    text_part("chat_id", chat);
    text_part("caption", &caption.chars().take(1024).collect::<String>());
    if let Some(thread) = appeal.meta("message_thread_id") {
        text_part("message_thread_id", thread);
    }
    let safe_name: String = name.chars().map(|c| if c == '"' || c.is_control() { '_' } else { c }).collect();
    let content_type = file.mime_type.as_deref().unwrap_or("application/octet-stream");
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{safe_name}\"\r\nContent-Type: {content_type}\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(&file.body);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    Ok(OutboundRequest {
        method: "POST".into(),
        url: format!("{base}/bot{token}/{method}"),
        headers: vec![clienthub_sdk::Header {
            name: "content-type".into(),
            value: format!("multipart/form-data; boundary={boundary}"),
        }],
        body,
    })
}

/// What the Bot API's answer means.
pub fn read_answer(answer: &HttpResponse) -> ReplyOutcome {
    let Some(body) = answer.body_json().filter(|b| b.get("ok").is_some()) else {
        return ReplyOutcome::from_status(answer);
    };
    if body["ok"] == Value::Bool(true) {
        return ReplyOutcome::Sent(body["result"]["message_id"].as_i64().map(|id| id.to_string()));
    }
    let code = body["error_code"].as_i64().unwrap_or(i64::from(answer.status));
    let description = body["description"].as_str().unwrap_or("no description");
    let error = format!("Telegram {code}: {description}");
    match code {
        429 | 500..=599 => ReplyOutcome::Retry(RetryLater {
            after_ms: body["parameters"]["retry_after"]
                .as_u64()
                .map(|s| s.saturating_mul(1000))
                .or(answer.retry_after_ms()),
            error,
        }),
        _ => ReplyOutcome::Failed(error),
    }
}

/// Chat ids are numbers; `@channelusername` is text.
fn number_or_text(id: &str) -> Value {
    id.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(id))
}
