//! OK (Odnoklassniki) channel adapter: the Bot API for groups.
//!
//! OK posts one JSON notification per event to the URL subscribed with
//! `graph.user.subscribe`:
//! - `MESSAGE_CREATED` — a customer's message in one of the group's chats (text, and
//!   `IMAGE`, `VIDEO`, `AUDIO`, `FILE`, `SHARE`, `STICKER` attachments) becomes a follow-up in the
//!   conversation of its `chat_id`; the idempotency key is the message's `mid`.
//! - `MESSAGE_CALLBACK` — a button pressed by the customer becomes a follow-up with the
//!   button's payload; the key is the `callbackId`.
//! - `CHAT_SYSTEM` and anything else is acknowledged with no event.
//!
//! OK signs nothing, so the webhook URL carries a secret (`?secret=…`), checked in constant
//! time when `url_secret` is configured. Replies go out through `POST /graph/me/messages/{chat}`
//! ([`reply`]). The Bot API documents no webhook for comments under group posts.

use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Attachment, AttachmentKind, Channel, Contact, Event, HttpRequest,
    HttpResponse, InboundMessage, MediaStep, MetaEntry, OutboundReply, OutboundRequest, ReplyOutcome,
};
use serde::Deserialize;
use serde_json::Value;

mod reply;

/// The OK (Odnoklassniki) adapter.
pub struct Odnoklassniki;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    url_secret: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    api_base: Option<String>,
}

/// A webhook notification.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default)]
    webhook_type: Option<String>,
    #[serde(default)]
    sender: Sender,
    #[serde(default)]
    recipient: Recipient,
    #[serde(default)]
    message: Option<Message>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    timestamp: Option<u64>,
    #[serde(default)]
    callback_id: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Sender {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Recipient {
    #[serde(default)]
    chat_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Value>,
}

impl Channel for Odnoklassniki {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        if let Some(expected) = &config.url_secret {
            let given = form_urlencoded::parse(request.query.as_bytes())
                .find(|(k, _)| k == "secret")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            if !clienthub_sdk::auth::secret_matches(&given, expected) {
                return Err(AdapterError::Unauthorized(
                    "the webhook URL's secret is missing or wrong".into(),
                ));
            }
        }
        let ack = HttpResponse::json(&serde_json::json!({ "success": true }));
        if request.method != "POST" {
            return Err(AdapterError::Malformed("this hook takes POST only".into()));
        }
        let notification: Notification = serde_json::from_slice(&request.body)
            .map_err(|e| AdapterError::Malformed(format!("not an OK Bot API notification: {e}")))?;
        let events = match notification.webhook_type.as_deref() {
            // Older notifications carry no type; a message makes them MESSAGE_CREATED.
            Some("MESSAGE_CREATED") | None if notification.message.is_some() => {
                vec![Event::FollowUp(message_created(&notification)?)]
            }
            Some("MESSAGE_CALLBACK") => vec![Event::FollowUp(callback(&notification)?)],
            _ => Vec::new(),
        };
        Ok(AdapterOutput { response: ack, events })
    }

    fn render_reply(appeal: Appeal, reply: OutboundReply) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::render(&config, &appeal, &reply)
    }

    fn read_reply_answer(_: Appeal, _: OutboundReply, answer: HttpResponse) -> ReplyOutcome {
        reply::read_answer(&answer)
    }

    fn fetch_media(
        _: Appeal,
        attachment: Attachment,
        _: Option<HttpRequest>,
        _: Vec<HttpResponse>,
    ) -> MediaStep {
        // The payload carried the file's URL.
        MediaStep::download_url(
            &attachment.reference,
            "OK gives no file URL for this attachment: open it on OK",
        )
    }
}

clienthub_sdk::export_channel!(Odnoklassniki);

fn chat(n: &Notification) -> Result<&str, AdapterError> {
    n.recipient
        .chat_id
        .as_deref()
        .ok_or_else(|| AdapterError::Malformed("the notification has no recipient.chat_id".into()))
}

fn message_created(n: &Notification) -> Result<InboundMessage, AdapterError> {
    let message = n
        .message
        .as_ref()
        .ok_or_else(|| AdapterError::Malformed("MESSAGE_CREATED without a message".into()))?;
    let mid = message.mid.clone().ok_or_else(|| AdapterError::Malformed("the message has no mid".into()))?;
    let mut metadata = vec![MetaEntry::new("message_id", mid.clone())];
    let text = message.text.clone().unwrap_or_default();
    for tag in clienthub_sdk::text::hashtags(&text) {
        metadata.push(MetaEntry::new("hashtag", tag));
    }
    inbound(n, mid, text, message.attachments.iter().filter_map(attachment).collect(), metadata)
}

fn callback(n: &Notification) -> Result<InboundMessage, AdapterError> {
    let id = n
        .callback_id
        .clone()
        .ok_or_else(|| AdapterError::Malformed("MESSAGE_CALLBACK without callbackId".into()))?;
    let payload = n.payload.clone().unwrap_or_default();
    let metadata = vec![MetaEntry::new("callback_payload", payload.clone())];
    inbound(n, format!("callback:{id}"), format!("[button] {payload}"), Vec::new(), metadata)
}

fn inbound(
    n: &Notification,
    platform_id: String,
    text: String,
    attachments: Vec<Attachment>,
    mut metadata: Vec<MetaEntry>,
) -> Result<InboundMessage, AdapterError> {
    let chat = chat(n)?;
    metadata.push(MetaEntry::new("chat_id", chat));
    let contact = Contact {
        name: n.sender.name.clone(),
        phone: None,
        email: None,
        platform_user_id: n.sender.user_id.clone(),
    };
    Ok(InboundMessage {
        platform_id,
        conversation_key: chat.to_string(),
        sent_at: n.timestamp,
        contact,
        subject: None,
        text,
        attachments,
        metadata,
    })
}

/// An attachment (`{"type": "IMAGE", "payload": {"url": …}}`) as a reference: its URL, else
/// its id.
fn attachment(value: &Value) -> Option<Attachment> {
    let kind = value.get("type")?.as_str()?;
    let payload = value.get("payload")?;
    let text = |key: &str| {
        payload
            .get(key)
            .and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_i64().map(|n| n.to_string())))
    };
    let reference = text("url").or_else(|| text("id")).or_else(|| text("token"))?;
    let kind = match kind {
        "IMAGE" => AttachmentKind::Photo,
        "VIDEO" => AttachmentKind::Video,
        "AUDIO" => AttachmentKind::Audio,
        "FILE" => AttachmentKind::Document,
        _ => AttachmentKind::Other,
    };
    Some(Attachment { kind, reference, mime_type: None, size: None, file_name: text("name") })
}

#[cfg(test)]
mod tests;
