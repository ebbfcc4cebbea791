//! VK channel adapter: Callback API events into ClientHub events.
//!
//! - `confirmation` is answered with the configured string, as VK expects, once verified: by
//!   the secret when it carries one, else by the configured community's id; otherwise refused.
//! - `message_new` (a message to the community) becomes a follow-up in the conversation of its
//!   `peer_id`; both the 5.103+ shape (`object.message`) and the older one (`object` is the
//!   message) are read.
//! - `wall_reply_new` (a comment under one of the community's posts — the main source of
//!   contest noise) becomes a follow-up in the conversation "this author under this post".
//! - Other event types are acknowledged (`ok`) with no event.
//!
//! With `secret` configured every event must carry it; with `group_id` configured, events for
//! another community are refused. The idempotency key is `event_id`.
//!
//! Replies go out as `messages.send` to the peer, or `wall.createComment` under the post in
//! answer to the comment ([`reply`]).

use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Attachment, AttachmentKind, Channel, Contact, Event, HttpRequest,
    HttpResponse, InboundMessage, MediaStep, MetaEntry, OutboundReply, OutboundRequest, ReplyOutcome,
};

mod reply;
use serde::Deserialize;
use serde_json::Value;

/// The VK adapter.
pub struct Vk;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    confirmation: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    group_id: Option<i64>,
    /// A community access token with the `messages` and `wall` rights; replies need it.
    #[serde(default)]
    access_token: Option<String>,
    /// The API version replies are sent with.
    #[serde(default)]
    api_version: Option<String>,
    /// The API server (`https://api.vk.com` by default).
    #[serde(default)]
    api_base: Option<String>,
}

/// The envelope of every Callback API event.
#[derive(Debug, Deserialize)]
struct Callback {
    #[serde(rename = "type")]
    kind: String,
    group_id: Option<i64>,
    event_id: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    object: Value,
}

impl Channel for Vk {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        // With a secret configured, a body that is not an event cannot carry it: refused, not
        // kept as a broken event.
        let event: Callback = serde_json::from_slice(&request.body).map_err(|e| match config.secret {
            Some(_) => AdapterError::Unauthorized("not a VK Callback API event with the secret".into()),
            None => AdapterError::Malformed(format!("not a VK Callback API event: {e}")),
        })?;
        if let (Some(expected), Some(given)) = (config.group_id, event.group_id)
            && expected != given
        {
            return Err(AdapterError::Unauthorized(format!(
                "event for community {given}, this adapter serves {expected}"
            )));
        }
        let secret_matches = config.secret.as_deref().map(|expected| {
            clienthub_sdk::auth::secret_matches(event.secret.as_deref().unwrap_or(""), expected)
        });
        if event.kind == "confirmation" {
            // Verified before it is answered: by the secret when VK sends it, else by the
            // community's id, which must then be configured and named. Nothing is kept.
            let group_matches = config.group_id.is_some() && config.group_id == event.group_id;
            let verified = match (event.secret.is_some(), secret_matches) {
                (true, Some(matches)) => matches,
                _ => group_matches,
            };
            if !verified {
                return Err(AdapterError::Unauthorized(
                    "a confirmation request must carry the secret or the configured community's id".into(),
                ));
            }
            let Some(code) = config.confirmation else {
                return Err(AdapterError::Malformed(
                    "VK asks for the confirmation string, but none is configured (set `confirmation`)".into(),
                ));
            };
            return Ok(AdapterOutput { response: HttpResponse::text(&code), events: vec![] });
        }
        if secret_matches == Some(false) {
            return Err(AdapterError::Unauthorized("the event's secret does not match".into()));
        }
        let events = match event.kind.as_str() {
            "message_new" => vec![Event::FollowUp(message_new(&event)?)],
            "wall_reply_new" => vec![Event::FollowUp(wall_reply_new(&event)?)],
            _ => Vec::new(),
        };
        Ok(AdapterOutput { response: HttpResponse::text("ok"), events })
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
            "VK gives no file URL for this attachment (a video or an id): open it on VK",
        )
    }
}

clienthub_sdk::export_channel!(Vk);

/// A private message or a comment, the fields both share.
#[derive(Debug, Deserialize)]
struct Post {
    id: Option<i64>,
    date: Option<u64>,
    from_id: Option<i64>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    attachments: Vec<Value>,
    // message_new
    peer_id: Option<i64>,
    conversation_message_id: Option<i64>,
    reply_message: Option<Value>,
    // wall_reply_new
    post_id: Option<i64>,
    owner_id: Option<i64>,
    reply_to_comment: Option<i64>,
    #[serde(default)]
    parents_stack: Vec<i64>,
}

fn platform_id(event: &Callback, post: &Post) -> String {
    // event_id is the documented key; very old API versions lack it.
    event.event_id.clone().unwrap_or_else(|| format!("{}:{}", event.kind, post.id.unwrap_or_default()))
}

fn parse_post(value: &Value) -> Result<Post, AdapterError> {
    serde_json::from_value(value.clone())
        .map_err(|e| AdapterError::Malformed(format!("unexpected VK object: {e}")))
}

fn message_new(event: &Callback) -> Result<InboundMessage, AdapterError> {
    // API 5.103+: {"message": {...}, "client_info": {...}}; before: the message itself.
    let object = event.object.get("message").unwrap_or(&event.object);
    let post = parse_post(object)?;
    let from = post.from_id.ok_or_else(|| AdapterError::Malformed("message_new without from_id".into()))?;
    let peer = post.peer_id.unwrap_or(from);
    let mut metadata =
        vec![MetaEntry::new("vk_kind", "message"), MetaEntry::new("peer_id", peer.to_string())];
    if let Some(id) = post.id {
        metadata.push(MetaEntry::new("message_id", id.to_string()));
    }
    if let Some(id) = post.conversation_message_id {
        metadata.push(MetaEntry::new("conversation_message_id", id.to_string()));
    }
    if let Some(reply) = post.reply_message.as_ref().and_then(|r| r.get("id")).and_then(Value::as_i64) {
        metadata.push(MetaEntry::new("reply_to_message_id", reply.to_string()));
    }
    Ok(inbound(event, &post, format!("peer:{peer}"), from, metadata))
}

fn wall_reply_new(event: &Callback) -> Result<InboundMessage, AdapterError> {
    let post = parse_post(&event.object)?;
    let from =
        post.from_id.ok_or_else(|| AdapterError::Malformed("wall_reply_new without from_id".into()))?;
    let post_id =
        post.post_id.ok_or_else(|| AdapterError::Malformed("wall_reply_new without post_id".into()))?;
    let owner = post.owner_id.or(event.group_id.map(|g| -g)).unwrap_or_default();
    let mut metadata = vec![
        MetaEntry::new("vk_kind", "comment"),
        MetaEntry::new("post_id", post_id.to_string()),
        MetaEntry::new("owner_id", owner.to_string()),
    ];
    if let Some(id) = post.id {
        metadata.push(MetaEntry::new("comment_id", id.to_string()));
    }
    if let Some(reply) = post.reply_to_comment.or(post.parents_stack.last().copied()) {
        metadata.push(MetaEntry::new("reply_to_comment", reply.to_string()));
    }
    Ok(inbound(event, &post, format!("wall:{owner}_{post_id}:{from}"), from, metadata))
}

fn inbound(
    event: &Callback,
    post: &Post,
    conversation_key: String,
    from: i64,
    mut metadata: Vec<MetaEntry>,
) -> InboundMessage {
    if let Some(group) = event.group_id {
        metadata.push(MetaEntry::new("group_id", group.to_string()));
    }
    for tag in clienthub_sdk::text::hashtags(&post.text) {
        metadata.push(MetaEntry::new("hashtag", tag));
    }
    let mut contact = Contact::unknown();
    // Positive ids are people, negative ids are communities.
    contact.platform_user_id = Some(from.to_string());
    InboundMessage {
        platform_id: platform_id(event, post),
        conversation_key,
        sent_at: post.date.map(|d| d.saturating_mul(1000)),
        contact,
        subject: None,
        text: post.text.clone(),
        attachments: post.attachments.iter().filter_map(attachment).collect(),
        metadata,
    }
}

/// A VK attachment (`{"type": "photo", "photo": {...}}`) as a reference.
fn attachment(value: &Value) -> Option<Attachment> {
    let kind = value.get("type")?.as_str()?;
    let body = value.get(kind)?;
    let id = |v: &Value| -> Option<String> {
        let owner = v.get("owner_id")?.as_i64()?;
        let id = v.get("id")?.as_i64()?;
        Some(match v.get("access_key").and_then(Value::as_str) {
            Some(key) => format!("{kind}{owner}_{id}_{key}"),
            None => format!("{kind}{owner}_{id}"),
        })
    };
    let str_of = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let (kind_enum, reference, mime, size, name) = match kind {
        "photo" => {
            // The largest size's URL, else the attachment id.
            let url = body
                .get("sizes")
                .and_then(Value::as_array)
                .and_then(|sizes| {
                    sizes.iter().max_by_key(|s| {
                        s.get("width").and_then(Value::as_u64).unwrap_or(0)
                            * s.get("height").and_then(Value::as_u64).unwrap_or(0)
                    })
                })
                .and_then(|s| s.get("url").and_then(Value::as_str).map(str::to_string));
            (AttachmentKind::Photo, url.or_else(|| id(body))?, Some("image/jpeg".to_string()), None, None)
        }
        "doc" => (
            AttachmentKind::Document,
            str_of("url").or_else(|| id(body))?,
            None,
            body.get("size").and_then(Value::as_u64),
            str_of("title"),
        ),
        "audio_message" => (
            AttachmentKind::Voice,
            str_of("link_ogg").or_else(|| str_of("link_mp3")).or_else(|| id(body))?,
            Some("audio/ogg".to_string()),
            None,
            None,
        ),
        "video" => (AttachmentKind::Video, id(body)?, None, None, str_of("title")),
        "audio" => (AttachmentKind::Audio, str_of("url").or_else(|| id(body))?, None, None, str_of("title")),
        _ => (AttachmentKind::Other, id(body).unwrap_or_else(|| kind.to_string()), None, None, None),
    };
    Some(Attachment { kind: kind_enum, reference, mime_type: mime, size, file_name: name })
}

#[cfg(test)]
mod tests;
