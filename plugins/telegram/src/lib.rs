//! Telegram channel adapter: Bot API `Update` webhooks into ClientHub events.
//!
//! Reads `message`, `edited_message`, `business_message`, `edited_business_message`,
//! `channel_post` and `edited_channel_post` (text, captions, photos, documents, voice, audio,
//! video, shared contacts and locations), and `callback_query` presses of a survey's buttons
//! (the customer's rating). Other update kinds (other buttons, membership changes) are
//! acknowledged with no event. The idempotency key is `update_id`; the
//! conversation is the chat. With `secret_token` configured, the
//! `X-Telegram-Bot-Api-Secret-Token` header must equal it (compared in constant time).
//!
//! Replies go out as `sendMessage` to the appeal's chat, quoting its message ([`reply`]); files
//! are fetched with `getFile` ([`media`]).

use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Attachment, AttachmentKind, Channel, Contact, Event, HttpRequest,
    HttpResponse, InboundMessage, MediaFile, MediaStep, MetaEntry, OutboundReply, OutboundRequest,
    OutboundSurvey, ReplyOutcome,
};
use serde::Deserialize;

mod media;
mod reply;
mod update;
use update::{Message, Update};

/// The Telegram adapter.
pub struct Telegram;

/// Admin configuration.
#[derive(Debug, Default, Deserialize)]
struct Config {
    /// The `secret_token` passed to `setWebhook`.
    #[serde(default)]
    secret_token: Option<String>,
    /// The bot's token from @BotFather; replies need it.
    #[serde(default)]
    bot_token: Option<String>,
    /// The Bot API server (a self-hosted one, say); `https://api.telegram.org` by default.
    #[serde(default)]
    api_base: Option<String>,
}

impl Channel for Telegram {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        verify_secret(&request, config.secret_token.as_deref())?;
        if request.method != "POST" {
            return Err(AdapterError::Malformed("this hook takes POST only".into()));
        }
        let update: Update = serde_json::from_slice(&request.body)
            .map_err(|e| AdapterError::Malformed(format!("not a Telegram Update: {e}")))?;
        let events = to_event(&update).into_iter().collect();
        Ok(AdapterOutput { response: HttpResponse::json(&serde_json::json!({})), events })
    }

    fn render_reply(appeal: Appeal, reply: OutboundReply) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::send_message(&config, &appeal, &reply)
    }

    fn read_reply_answer(_: Appeal, _: OutboundReply, answer: HttpResponse) -> ReplyOutcome {
        reply::read_answer(&answer)
    }

    fn render_survey(appeal: Appeal, survey: OutboundSurvey) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::ask(&config, &appeal, &survey)
    }

    fn render_file(appeal: Appeal, file: MediaFile, caption: String) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::send_file(&config, &appeal, &file, &caption)
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

clienthub_sdk::export_channel!(Telegram);

fn verify_secret(request: &HttpRequest, expected: Option<&str>) -> Result<(), AdapterError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let given = request.header("x-telegram-bot-api-secret-token").unwrap_or("");
    if clienthub_sdk::auth::secret_matches(given, expected) {
        Ok(())
    } else if given.is_empty() {
        Err(AdapterError::Unauthorized("missing X-Telegram-Bot-Api-Secret-Token".into()))
    } else {
        Err(AdapterError::Unauthorized("X-Telegram-Bot-Api-Secret-Token does not match".into()))
    }
}

/// The event an update carries, if any.
fn to_event(update: &Update) -> Option<Event> {
    if let Some(press) = &update.callback_query {
        return survey_answer(update.update_id, press);
    }
    let (message, edited) = update.message()?;
    let mut inbound = inbound_message(update.update_id, message);
    if edited {
        inbound.metadata.push(MetaEntry::new("edited", "true"));
        if let Some(edit_date) = message.edit_date {
            inbound.sent_at = Some(edit_date.saturating_mul(1000));
        }
    }
    // Every message may continue a conversation: the host opens a new appeal when the chat
    // has no open one.
    Some(Event::FollowUp(inbound))
}

fn inbound_message(update_id: i64, m: &Message) -> InboundMessage {
    let mut metadata = vec![
        MetaEntry::new("message_id", m.message_id.to_string()),
        MetaEntry::new("chat_id", m.chat.id.to_string()),
        MetaEntry::new("chat_type", m.chat.kind.clone()),
    ];
    if let Some(title) = &m.chat.title {
        metadata.push(MetaEntry::new("chat_title", title.clone()));
    }
    if let Some(username) = m.from.as_ref().and_then(|u| u.username.clone()) {
        metadata.push(MetaEntry::new("username", username));
    }
    if let Some(lang) = m.from.as_ref().and_then(|u| u.language_code.clone()) {
        metadata.push(MetaEntry::new("language", lang));
    }
    if let Some(reply) = &m.reply_to_message {
        metadata.push(MetaEntry::new("reply_to_message_id", reply.message_id.to_string()));
    }
    if let Some(thread) = m.message_thread_id {
        metadata.push(MetaEntry::new("message_thread_id", thread.to_string()));
    }
    if let Some(connection) = &m.business_connection_id {
        metadata.push(MetaEntry::new("business_connection_id", connection.clone()));
    }
    if let Some(loc) = &m.location {
        metadata.push(MetaEntry::new("location", format!("{},{}", loc.latitude, loc.longitude)));
    }
    let text = m.text.clone().or_else(|| m.caption.clone()).unwrap_or_default();
    for tag in m.hashtags(&text) {
        metadata.push(MetaEntry::new("hashtag", tag));
    }
    InboundMessage {
        platform_id: update_id.to_string(),
        conversation_key: format!("chat:{}", m.chat.id),
        sent_at: Some(m.date.saturating_mul(1000)),
        contact: contact(m),
        subject: None,
        text,
        attachments: attachments(m),
        metadata,
    }
}

/// A press of a survey's button: its answer, in the chat the question was asked in. Other
/// buttons are no event.
fn survey_answer(update_id: i64, press: &update::CallbackQuery) -> Option<Event> {
    let (survey, value) = clienthub_sdk::survey::read_payload(press.data.as_deref()?)?;
    let chat = press.message.as_ref().map_or(press.from.id, |m| m.chat.id);
    let mut contact = Contact::unknown();
    contact.name = Some(press.from.first_name.clone());
    contact.platform_user_id = Some(press.from.id.to_string());
    Some(clienthub_sdk::survey::answer_event(
        update_id.to_string(),
        format!("chat:{chat}"),
        contact,
        survey,
        value,
    ))
}

fn contact(m: &Message) -> Contact {
    let mut contact = Contact::unknown();
    if let Some(user) = &m.from {
        let name = match &user.last_name {
            Some(last) => format!("{} {last}", user.first_name),
            None => user.first_name.clone(),
        };
        contact.name = Some(name);
        contact.platform_user_id = Some(user.id.to_string());
    } else if let Some(title) = &m.chat.title {
        contact.name = Some(title.clone());
    }
    // A contact the user shared about themselves gives us their phone number.
    if let Some(shared) = &m.contact
        && (shared.user_id.is_none() || shared.user_id == m.from.as_ref().map(|u| u.id))
    {
        contact.phone = Some(shared.phone_number.clone());
    }
    contact
}

fn attachments(m: &Message) -> Vec<Attachment> {
    let mut out = Vec::new();
    // Telegram sends every size of a photo; the last is the largest.
    if let Some(photo) = m.photo.as_ref().and_then(|sizes| sizes.last()) {
        out.push(Attachment {
            kind: AttachmentKind::Photo,
            reference: photo.file_id.clone(),
            mime_type: Some("image/jpeg".into()),
            size: photo.file_size,
            file_name: None,
        });
    }
    let files = [
        (AttachmentKind::Document, &m.document),
        (AttachmentKind::Voice, &m.voice),
        (AttachmentKind::Audio, &m.audio),
        (AttachmentKind::Video, &m.video),
        (AttachmentKind::Video, &m.video_note),
        (AttachmentKind::Other, &m.sticker),
    ];
    for (kind, file) in files {
        if let Some(f) = file {
            out.push(Attachment {
                kind,
                reference: f.file_id.clone(),
                mime_type: f.mime_type.clone(),
                size: f.file_size,
                file_name: f.file_name.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
