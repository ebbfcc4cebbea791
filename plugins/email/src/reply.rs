//! Replies by e-mail through Postmark's API (`POST /email`): to the customer's address, from
//! the configured sender (or the address they wrote to), `Re:` the subject, with
//! `In-Reply-To` naming their message and `References` the thread, so both mail programs and
//! this adapter thread the answer into the same conversation. Postmark's `MessageID` is the
//! platform message id; 429 and 5xx are retried, other errors fail with Postmark's message.

use super::Config;
use clienthub_sdk::{Appeal, HttpResponse, OutboundReply, OutboundRequest, ReplyOutcome};
use serde_json::json;

/// Postmark's API server.
const API: &str = "https://api.postmarkapp.com";

/// The `/email` call that sends `reply`.
pub fn render(config: &Config, appeal: &Appeal, reply: &OutboundReply) -> Result<OutboundRequest, String> {
    let token = config
        .postmark_token
        .as_deref()
        .ok_or("set postmark_token in the email plugin's configuration to send replies")?;
    let to = appeal.contact.email.as_deref().ok_or("the appeal has no customer e-mail address")?;
    let from = config.from.as_deref().or(appeal.meta("to")).ok_or(
        "set `from` in the email plugin's configuration: the appeal names no mailbox to answer from",
    )?;
    let subject = match appeal.subject.as_deref().map(str::trim) {
        Some(s) if s.to_lowercase().starts_with("re:") => s.to_string(),
        Some(s) if !s.is_empty() => format!("Re: {s}"),
        _ => "Re: your message".to_string(),
    };
    let mut headers = Vec::new();
    if let Some(id) = appeal.meta("message_id") {
        let root = appeal.conversation_key.strip_prefix("thread:").filter(|root| *root != id);
        let references = match root {
            Some(root) => format!("<{root}> <{id}>"),
            None => format!("<{id}>"),
        };
        headers.push(json!({ "Name": "In-Reply-To", "Value": format!("<{id}>") }));
        headers.push(json!({ "Name": "References", "Value": references }));
    }
    let body = json!({
        "From": from,
        "To": to,
        "Subject": subject,
        "TextBody": reply.text,
        "Headers": headers,
        "MessageStream": "outbound",
        "Metadata": { "clienthub_appeal": appeal.id, "clienthub_reply": reply.id },
    });
    let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    Ok(OutboundRequest::post_json(format!("{base}/email"), &body)
        .with_header("accept", "application/json")
        .with_header("x-postmark-server-token", token))
}

/// What Postmark's answer means: `{"ErrorCode":0,"MessageID":…}` is sent.
pub fn read_answer(answer: &HttpResponse) -> ReplyOutcome {
    let body = answer.body_json().unwrap_or_default();
    match (answer.status, body["ErrorCode"].as_i64()) {
        (200..=299, Some(0) | None) => ReplyOutcome::Sent(body["MessageID"].as_str().map(str::to_string)),
        (429 | 500..=599, _) => ReplyOutcome::from_status(answer),
        (status, code) => ReplyOutcome::Failed(format!(
            "Postmark {status} (error {}): {}",
            code.unwrap_or_default(),
            body["Message"].as_str().unwrap_or("no message")
        )),
    }
}
