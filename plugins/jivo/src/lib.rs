//! Site chat channel adapter: the Jivo Bot API.
//!
//! Jivo posts each customer message of the site widget (and of the other chats it gathers) to
//! the bot provider's URL, `/hooks/jivo/<token>`; the token is checked in constant time.
//! `CLIENT_MESSAGE` becomes a follow-up in the conversation of its `chat_id` (text; `PHOTO`,
//! `VIDEO`, `DOCUMENT`, `AUDIO`, `VOICE` as references with name and size; `LOCATION`), keyed by
//! the event `id`, so Jivo's two retries are duplicates. `CHAT_CLOSED` and
//! `AGENT_UNAVAILABLE` are acknowledged with no event. Replies go back as `BOT_MESSAGE`
//! ([`reply`]).

use clienthub_sdk::text::field as text;
use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Attachment, AttachmentKind, Channel, Contact, Event, HttpRequest,
    HttpResponse, InboundMessage, MetaEntry, OutboundReply, OutboundRequest,
};
use serde::Deserialize;
use serde_json::Value;

mod reply;

/// The Jivo adapter.
pub struct Jivo;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    provider_id: Option<String>,
    #[serde(default)]
    api_base: Option<String>,
}

impl Channel for Jivo {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        if let Some(expected) = &config.token {
            let given = request.path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            if !clienthub_sdk::auth::secret_matches(given, expected) {
                return Err(AdapterError::Unauthorized(
                    "the token in the webhook URL is missing or wrong".into(),
                ));
            }
        }
        let ok = HttpResponse::new(200, "application/json", "{}");
        if request.method != "POST" {
            return Err(AdapterError::Malformed("this hook takes POST only".into()));
        }
        let event: Value = serde_json::from_slice(&request.body)
            .map_err(|e| AdapterError::Malformed(format!("not a Jivo Bot API event: {e}")))?;
        let events = match event.get("event").and_then(Value::as_str) {
            Some("CLIENT_MESSAGE") => vec![Event::FollowUp(client_message(&event)?)],
            Some(_) => Vec::new(),
            None => return Err(AdapterError::Malformed("a Jivo event without `event`".into())),
        };
        Ok(AdapterOutput { response: ok, events })
    }

    fn render_reply(appeal: Appeal, reply: OutboundReply) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::render(&config, &appeal, &reply)
    }
}

clienthub_sdk::export_channel!(Jivo);

fn client_message(event: &Value) -> Result<InboundMessage, AdapterError> {
    let need = |key: &str| {
        text(event, key).ok_or_else(|| AdapterError::Malformed(format!("CLIENT_MESSAGE without `{key}`")))
    };
    let (id, chat, client) = (need("id")?, need("chat_id")?, need("client_id")?);
    let message = event
        .get("message")
        .ok_or_else(|| AdapterError::Malformed("CLIENT_MESSAGE without `message`".into()))?;
    let sender = event.get("sender").cloned().unwrap_or_default();
    let kind = text(message, "type").unwrap_or_else(|| "TEXT".into());
    let mut metadata = vec![
        MetaEntry::new("chat_id", chat.clone()),
        MetaEntry::new("client_id", client.clone()),
        MetaEntry::new("message_type", kind.clone()),
    ];
    for (key, value) in [("site_id", text(event, "site_id")), ("page_url", text(&sender, "url"))] {
        if let Some(value) = value {
            metadata.push(MetaEntry::new(key, value));
        }
    }
    if let Some(channel) = event.get("channel").and_then(|c| text(c, "type")) {
        metadata.push(MetaEntry::new("jivo_channel", channel));
    }
    let mut body = text(message, "text").unwrap_or_default();
    if kind == "LOCATION"
        && let (Some(lat), Some(lon)) = (text(message, "latitude"), text(message, "longitude"))
    {
        metadata.push(MetaEntry::new("location", format!("{lat},{lon}")));
    }
    let attachment = text(message, "file").map(|file| Attachment {
        kind: match kind.as_str() {
            "PHOTO" => AttachmentKind::Photo,
            "VIDEO" => AttachmentKind::Video,
            "AUDIO" => AttachmentKind::Audio,
            "VOICE" => AttachmentKind::Voice,
            "DOCUMENT" => AttachmentKind::Document,
            _ => AttachmentKind::Other,
        },
        reference: file,
        mime_type: None,
        size: message.get("file_size").and_then(Value::as_u64),
        file_name: text(message, "file_name"),
    });
    if body.is_empty() {
        body = text(message, "title").unwrap_or_default();
    }
    Ok(InboundMessage {
        platform_id: id,
        conversation_key: format!("chat:{chat}"),
        sent_at: message.get("timestamp").and_then(Value::as_u64).map(|s| s.saturating_mul(1000)),
        contact: Contact {
            name: text(&sender, "name"),
            phone: text(&sender, "phone"),
            email: text(&sender, "email"),
            platform_user_id: Some(client),
        },
        subject: None,
        text: body,
        attachments: attachment.into_iter().collect(),
        metadata,
    })
}

#[cfg(test)]
mod tests;
