//! WhatsApp channel adapter: Cloud API webhooks into ClientHub events.
//!
//! - `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` is answered with the
//!   challenge when the token matches the configured `verify_token` (403 otherwise).
//! - Each `POST` must carry `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw
//!   body keyed with the configured `app_secret` (401 otherwise).
//! - `messages` become follow-ups in the conversation of the customer's `wa_id` (text, image,
//!   document, audio/voice, video, sticker, location, contacts, button/interactive replies,
//!   reactions; `context` marks a reply); the idempotency key is the message id (`wamid…`).
//! - `statuses` (sent, delivered, read, failed with the platform's error) become delivery
//!   statuses; the host attaches them to the reply with that message id.
//! - Replies go out as Cloud API `/messages` text messages quoting the customer's message
//!   ([`reply`]); a survey (the customer's rating) goes out as interactive reply buttons (a list
//!   beyond three options), and the pick comes back as `survey_id`/`survey_answer`; media ids
//!   are fetched through their URL with the access token ([`media`]).

use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Attachment, AttachmentKind, Channel, Contact, DeliveryState,
    DeliveryStatus, Event, HttpRequest, HttpResponse, InboundMessage, MediaStep, MetaEntry, OutboundReply,
    OutboundRequest, OutboundSurvey, ReplyOutcome,
};
use serde::Deserialize;
use serde_json::Value;

mod media;
mod payload;
mod reply;
use payload::{Change, Message, Notification, Status};

/// The WhatsApp adapter.
pub struct WhatsApp;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    verify_token: Option<String>,
    #[serde(default)]
    app_secret: Option<String>,
    /// A system-user access token with `whatsapp_business_messaging`; replies need it.
    #[serde(default)]
    access_token: Option<String>,
    /// The business phone number id to send from, when the appeal does not name one.
    #[serde(default)]
    phone_number_id: Option<String>,
    /// The Graph API version (`v21.0` by default).
    #[serde(default)]
    graph_version: Option<String>,
    /// The Graph API server (`https://graph.facebook.com` by default).
    #[serde(default)]
    api_base: Option<String>,
}

impl Channel for WhatsApp {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        if request.method == "GET" {
            return Ok(AdapterOutput { response: subscription_check(&request, &config), events: vec![] });
        }
        verify_signature(&request, config.app_secret.as_deref())?;
        let notification: Notification = serde_json::from_slice(&request.body)
            .map_err(|e| AdapterError::Malformed(format!("not a WhatsApp webhook notification: {e}")))?;
        let events = notification
            .entry
            .iter()
            .flat_map(|entry| entry.changes.iter())
            .filter(|change| change.field == "messages")
            .flat_map(change_events)
            .collect();
        Ok(AdapterOutput { response: HttpResponse::text("ok"), events })
    }

    fn render_reply(appeal: Appeal, reply: OutboundReply) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::render(&config, &appeal, &reply)
    }

    fn read_reply_answer(_: Appeal, _: OutboundReply, answer: HttpResponse) -> ReplyOutcome {
        reply::read_answer(&answer)
    }

    fn render_survey(appeal: Appeal, survey: OutboundSurvey) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::ask(&config, &appeal, &survey)
    }

    fn fetch_media(
        _: Appeal,
        attachment: Attachment,
        _: Option<HttpRequest>,
        answers: Vec<HttpResponse>,
    ) -> MediaStep {
        match clienthub_sdk::config::get::<Config>() {
            Ok(config) => media::step(&config, &attachment, &answers),
            Err(e) => MediaStep::Failed(e),
        }
    }
}

clienthub_sdk::export_channel!(WhatsApp);

fn subscription_check(request: &HttpRequest, config: &Config) -> HttpResponse {
    let query: Vec<(String, String)> =
        form_urlencoded::parse(request.query.as_bytes()).into_owned().collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let token_ok = match (param("hub.verify_token"), config.verify_token.as_deref()) {
        (Some(given), Some(expected)) => clienthub_sdk::auth::secret_matches(given, expected),
        _ => false,
    };
    match (param("hub.mode"), param("hub.challenge")) {
        (Some("subscribe"), Some(challenge)) if token_ok => HttpResponse::text(challenge),
        _ => HttpResponse::new(403, "text/plain; charset=utf-8", "verification failed"),
    }
}

fn verify_signature(request: &HttpRequest, secret: Option<&str>) -> Result<(), AdapterError> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let header = request
        .header("x-hub-signature-256")
        .ok_or_else(|| AdapterError::Unauthorized("missing X-Hub-Signature-256".into()))?;
    let hex_digest = header
        .strip_prefix("sha256=")
        .ok_or_else(|| AdapterError::Unauthorized("X-Hub-Signature-256 must start with sha256=".into()))?;
    let digest = hex::decode(hex_digest.trim())
        .map_err(|_| AdapterError::Unauthorized("X-Hub-Signature-256 is not hex".into()))?;
    match clienthub_sdk::auth::hmac_sha256_matches(secret.as_bytes(), &request.body, &digest) {
        true => Ok(()),
        false => Err(AdapterError::Unauthorized("X-Hub-Signature-256 does not match the body".into())),
    }
}

fn change_events(change: &Change) -> Vec<Event> {
    let value = &change.value;
    let business = value.metadata.as_ref().and_then(|m| m.phone_number_id.clone());
    let mut events: Vec<Event> = value
        .messages
        .iter()
        .map(|message| {
            let name = value
                .contacts
                .iter()
                .find(|c| c.wa_id.as_deref() == Some(message.from.as_str()))
                .or(value.contacts.first())
                .and_then(|c| c.profile.as_ref())
                .and_then(|p| p.name.clone());
            Event::FollowUp(inbound(message, name, business.as_deref()))
        })
        .collect();
    events.extend(value.statuses.iter().map(|s| Event::DeliveryStatus(status(s))));
    events
}

fn inbound(m: &Message, name: Option<String>, business: Option<&str>) -> InboundMessage {
    let mut metadata = vec![MetaEntry::new("message_type", m.kind.clone())];
    if let Some(id) = business {
        metadata.push(MetaEntry::new("phone_number_id", id));
    }
    if let Some(context) = &m.context {
        if let Some(id) = &context.id {
            metadata.push(MetaEntry::new("reply_to_message_id", id.clone()));
        }
        if context.forwarded == Some(true) {
            metadata.push(MetaEntry::new("forwarded", "true"));
        }
    }
    let (text, attachments) = content(m, &mut metadata);
    InboundMessage {
        platform_id: m.id.clone(),
        conversation_key: format!("wa:{}", m.from),
        sent_at: m.timestamp.as_deref().and_then(|t| t.parse::<u64>().ok()).map(|t| t.saturating_mul(1000)),
        contact: Contact {
            name,
            // wa_id is the number in international format without the "+".
            phone: Some(format!("+{}", m.from)),
            email: None,
            platform_user_id: Some(m.from.clone()),
        },
        subject: None,
        text,
        attachments,
        metadata,
    }
}

/// The text and files of a message, by its type.
fn content(m: &Message, metadata: &mut Vec<MetaEntry>) -> (String, Vec<Attachment>) {
    let field = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let body = m.body();
    let media = |kind: AttachmentKind| Attachment {
        kind,
        reference: field(body, "id").unwrap_or_default(),
        mime_type: field(body, "mime_type"),
        size: None,
        file_name: field(body, "filename"),
    };
    match m.kind.as_str() {
        "text" => (field(body, "body").unwrap_or_default(), vec![]),
        "image" => (field(body, "caption").unwrap_or_default(), vec![media(AttachmentKind::Photo)]),
        "document" => (field(body, "caption").unwrap_or_default(), vec![media(AttachmentKind::Document)]),
        "video" => (field(body, "caption").unwrap_or_default(), vec![media(AttachmentKind::Video)]),
        "audio" => {
            let voice = body.get("voice").and_then(Value::as_bool) == Some(true);
            (String::new(), vec![media(if voice { AttachmentKind::Voice } else { AttachmentKind::Audio })])
        }
        "sticker" => (String::new(), vec![media(AttachmentKind::Other)]),
        "location" => {
            let coordinate = |k: &str| body.get(k).and_then(Value::as_f64).unwrap_or_default();
            metadata.push(MetaEntry::new(
                "location",
                format!("{},{}", coordinate("latitude"), coordinate("longitude")),
            ));
            let place =
                [field(body, "name"), field(body, "address")].into_iter().flatten().collect::<Vec<_>>();
            (place.join(", "), vec![])
        }
        "button" => (field(body, "text").unwrap_or_default(), vec![]),
        "interactive" => {
            let reply = body.get("button_reply").or_else(|| body.get("list_reply")).unwrap_or(&Value::Null);
            // A survey's button or list row brings its question and answer back.
            let id = field(reply, "id").unwrap_or_default();
            if let Some((survey, value)) = clienthub_sdk::survey::read_payload(&id) {
                metadata.push(MetaEntry::new("survey_id", survey));
                metadata.push(MetaEntry::new("survey_answer", value));
            }
            (field(reply, "title").unwrap_or_default(), vec![])
        }
        "reaction" => {
            if let Some(id) = field(body, "message_id") {
                metadata.push(MetaEntry::new("reaction_to", id));
            }
            (field(body, "emoji").unwrap_or_default(), vec![])
        }
        "contacts" => (m.raw.get("contacts").map(Value::to_string).unwrap_or_default(), vec![]),
        _ => {
            let errors = m.raw.get("errors").map(Value::to_string).unwrap_or_default();
            metadata.push(MetaEntry::new("unsupported", errors));
            (String::new(), vec![])
        }
    }
}

fn status(s: &Status) -> DeliveryStatus {
    let state = match s.status.as_str() {
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "failed" => DeliveryState::Failed,
        _ => DeliveryState::Sent,
    };
    let detail = s.errors.first().map(|e| {
        let details = e.error_data.as_ref().and_then(|d| d.details.clone()).unwrap_or_default();
        format!(
            "{} {}: {} {details}",
            e.code.unwrap_or_default(),
            e.title.clone().unwrap_or_default(),
            e.message.clone().unwrap_or_default()
        )
        .trim()
        .to_string()
    });
    DeliveryStatus { platform_message_id: s.id.clone(), state, detail }
}

#[cfg(test)]
mod tests;
