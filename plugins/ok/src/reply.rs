//! Replies through OK's Graph API: `POST /graph/me/messages/{chat_id}?access_token=…` with
//! `{"recipient":{"chat_id":…},"message":{"text":…}}` (graph.user.messages). The answer names
//! the new message (`message_id`); errors come as `{"error_code":…,"error_msg":…}`. Service
//! errors and rate limits are retried.

use super::Config;
use clienthub_sdk::{Appeal, HttpResponse, OutboundReply, OutboundRequest, ReplyOutcome, RetryLater};
use serde_json::json;

/// The Graph API server.
const API: &str = "https://api.ok.ru";

/// The `/messages` call that sends `reply`.
pub fn render(config: &Config, appeal: &Appeal, reply: &OutboundReply) -> Result<OutboundRequest, String> {
    let token = config.access_token.as_deref().ok_or(
        "set access_token (the group's Bot API token) in the ok plugin's configuration to send replies",
    )?;
    let chat = appeal.meta("chat_id").unwrap_or(&appeal.conversation_key);
    if !chat.starts_with("chat:") {
        return Err("the appeal has no OK chat id".into());
    }
    let mut message = json!({ "text": reply.text });
    if let Some(mid) = appeal.meta("message_id") {
        message["reply_to"] = json!(mid);
    }
    let body = json!({ "recipient": { "chat_id": chat }, "message": message });
    let query: String =
        form_urlencoded::Serializer::new(String::new()).append_pair("access_token", token).finish();
    let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    Ok(OutboundRequest::post_json(format!("{base}/graph/me/messages/{chat}?{query}"), &body)
        .with_header("content-type", "application/json;charset=utf-8"))
}

/// What the Graph API's answer means.
pub fn read_answer(answer: &HttpResponse) -> ReplyOutcome {
    let Some(body) = answer.body_json() else {
        return ReplyOutcome::from_status(answer);
    };
    if let Some(code) = body["error_code"].as_i64() {
        let error = format!("OK error {code}: {}", body["error_msg"].as_str().unwrap_or("no message"));
        // 1 (unknown error) and 2 (service temporarily unavailable) are worth another try.
        return match code {
            1 | 2 => ReplyOutcome::Retry(RetryLater { after_ms: answer.retry_after_ms(), error }),
            _ => ReplyOutcome::Failed(error),
        };
    }
    match answer.status {
        200..=299 => ReplyOutcome::Sent(body["message_id"].as_str().map(str::to_string)),
        _ => ReplyOutcome::from_status(answer),
    }
}
