//! E-mail channel adapter: a mail gateway (Postfix pipe, an MTA webhook, `curl --data-binary
//! @message.eml`) posts the raw RFC 5322 message to `/hooks/email`.
//!
//! MIME is parsed by `mail-parser`: multipart bodies, attachments, encoded words (RFC 2047) and
//! RFC 2231 file names, and charsets including UTF-8, windows-1251 and KOI8-R. The text is the
//! first text part (HTML converted to text when there is no plain part). The idempotency key
//! is the `Message-ID`; the conversation is the thread's root: the first `References` entry,
//! else `In-Reply-To`, else the message's own id, so a customer's reply joins the appeal its
//! thread opened. Attachments are kept as references into the stored raw message
//! (`mime:<message-id>#<n>`) with their type, size and name.
//!
//! Postmark's inbound webhook (the message as JSON, `content-type: application/json`) is read
//! too ([`postmark`]), so no mail gateway is needed.
//!
//! Replies go out through Postmark's e-mail API with `In-Reply-To` and `References`, so the
//! customer's mail program threads them and the customer's answer joins the appeal ([`reply`]).

use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Attachment, AttachmentKind, Channel, Contact, Event, HttpRequest,
    HttpResponse, InboundMessage, MediaFile, MediaStep, MetaEntry, OutboundReply, OutboundRequest,
    ReplyOutcome,
};

mod postmark;
mod reply;
use base64::Engine;
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use serde::Deserialize;

/// The e-mail adapter.
pub struct Email;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    api_key: Option<String>,
    /// `user:password` of the basic credentials in Postmark's inbound webhook URL.
    #[serde(default)]
    inbound_basic_auth: Option<String>,
    /// The Postmark server token replies are sent with.
    #[serde(default)]
    postmark_token: Option<String>,
    /// The sender of replies (`Support <support@shop.example>`); by default the address the
    /// customer wrote to.
    #[serde(default)]
    from: Option<String>,
    /// The Postmark API server (`https://api.postmarkapp.com` by default).
    #[serde(default)]
    api_base: Option<String>,
}

impl Channel for Email {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        // Postmark's JSON carries basic credentials (it cannot send X-Api-Key); anything else,
        // or JSON while no credentials are configured, needs the API key when one is set.
        let postmark = request.media_type() == "application/json";
        if let (true, Some(basic)) = (postmark, config.inbound_basic_auth.as_deref()) {
            verify_basic(&request, basic)?;
        } else if let Some(expected) = &config.api_key {
            let given = request.header("x-api-key").unwrap_or("");
            if !clienthub_sdk::auth::secret_matches(given, expected) {
                return Err(AdapterError::Unauthorized("X-Api-Key missing or wrong".into()));
            }
        }
        if request.method != "POST" {
            return Err(AdapterError::Malformed("this hook takes POST only".into()));
        }
        let message = if postmark { postmark::parse(&request.body)? } else { parse(&request.body)? };
        Ok(AdapterOutput { response: HttpResponse::text("ok"), events: vec![Event::FollowUp(message)] })
    }

    fn render_reply(appeal: Appeal, reply: OutboundReply) -> Result<OutboundRequest, String> {
        let config: Config = clienthub_sdk::config::get()?;
        reply::render(&config, &appeal, &reply)
    }

    fn read_reply_answer(_: Appeal, _: OutboundReply, answer: HttpResponse) -> ReplyOutcome {
        reply::read_answer(&answer)
    }

    /// An attachment is cut from the kept raw message: `mime:<message-id>#<n>` is the n-th
    /// attachment of the RFC 5322 message, `postmark:<message-id>#<n>` the n-th of
    /// Postmark's JSON.
    fn fetch_media(
        _: Appeal,
        attachment: Attachment,
        raw: Option<HttpRequest>,
        _: Vec<HttpResponse>,
    ) -> MediaStep {
        let Some(raw) = raw else {
            return MediaStep::Failed("the raw message is no longer kept".into());
        };
        let (scheme, rest) = attachment.reference.split_once(':').unwrap_or_default();
        let Some(n) = rest.rsplit_once('#').and_then(|(_, n)| n.parse::<usize>().ok()) else {
            return MediaStep::Failed("not an e-mail attachment reference".into());
        };
        let file = match scheme {
            "mime" => mime_part(&raw.body, n),
            "postmark" => postmark::attachment(&raw.body, n),
            _ => Err("not an e-mail attachment reference".into()),
        };
        file.map_or_else(MediaStep::Failed, MediaStep::File)
    }
}

/// Attachment `n` of a raw RFC 5322 message.
fn mime_part(raw: &[u8], n: usize) -> Result<MediaFile, String> {
    let mail = MessageParser::default().parse(raw).ok_or("the kept message is not RFC 5322")?;
    let part = mail.attachments().nth(n).ok_or("the message has no such attachment")?;
    let mime = part
        .content_type()
        .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")).to_lowercase());
    Ok(MediaFile {
        mime_type: mime,
        file_name: part.attachment_name().map(str::to_string),
        body: part.contents().to_vec(),
    })
}

clienthub_sdk::export_channel!(Email);

/// Postmark's basic credentials (`https://user:password@…/hooks/email`).
fn verify_basic(request: &HttpRequest, expected: &str) -> Result<(), AdapterError> {
    let given = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .unwrap_or_default();
    if clienthub_sdk::auth::bytes_match(&given, expected.as_bytes()) {
        Ok(())
    } else {
        Err(AdapterError::Unauthorized("Postmark's basic credentials are missing or wrong".into()))
    }
}

/// The inbound message of a raw e-mail.
fn parse(raw: &[u8]) -> Result<InboundMessage, AdapterError> {
    let mail = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| AdapterError::Malformed("not an RFC 5322 message".into()))?;
    let from = first_address(mail.from())
        .ok_or_else(|| AdapterError::Malformed("the message has no From address".into()))?;
    let envelope = Envelope {
        message_id: mail.message_id().map(str::to_string),
        references: ids(mail.references()),
        in_reply_to: ids(mail.in_reply_to()),
        to: addresses(mail.to()),
        cc: addresses(mail.cc()),
    };
    let platform_id = envelope
        .message_id
        .clone()
        .unwrap_or_else(|| format!("body-{}", clienthub_sdk::text::content_id(raw)));
    let text = mail.body_text(0).map(|t| t.replace("\r\n", "\n").trim().to_string()).unwrap_or_default();
    let attachments = mail
        .attachments()
        .enumerate()
        .map(|(n, part)| {
            let mime = part.content_type().map(|ct| {
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")).to_lowercase()
            });
            Attachment {
                kind: kind_of(mime.as_deref()),
                reference: format!("mime:{platform_id}#{n}"),
                mime_type: mime,
                size: Some(part.contents().len() as u64),
                file_name: part.attachment_name().map(str::to_string),
            }
        })
        .collect();
    Ok(InboundMessage {
        conversation_key: envelope.conversation(&platform_id),
        metadata: envelope.metadata(),
        platform_id,
        sent_at: mail.date().map(|d| (d.to_timestamp().max(0) as u64).saturating_mul(1000)),
        contact: Contact { name: from.0, phone: None, email: Some(from.1), platform_user_id: None },
        subject: mail.subject().map(str::to_string),
        text,
        attachments,
    })
}

/// A message's threading and addressing, whichever way it arrived (raw MIME or a provider's
/// JSON).
#[derive(Debug, Default)]
struct Envelope {
    /// `Message-ID`, without angle brackets.
    message_id: Option<String>,
    /// `References`, in order.
    references: Vec<String>,
    /// `In-Reply-To`.
    in_reply_to: Vec<String>,
    /// Addresses of `To`.
    to: Vec<String>,
    /// Addresses of `Cc`.
    cc: Vec<String>,
}

impl Envelope {
    /// The thread root: the first `References` entry, else `In-Reply-To`, else the message's
    /// own id, so a customer's reply joins the appeal its thread opened.
    fn conversation(&self, platform_id: &str) -> String {
        let root = self.references.first().or(self.in_reply_to.first()).map_or(platform_id, String::as_str);
        format!("thread:{root}")
    }

    fn metadata(&self) -> Vec<MetaEntry> {
        let mut metadata = Vec::new();
        if let Some(id) = &self.message_id {
            metadata.push(MetaEntry::new("message_id", id.clone()));
        }
        for id in &self.in_reply_to {
            metadata.push(MetaEntry::new("in_reply_to", id.clone()));
        }
        for (key, list) in [("to", &self.to), ("cc", &self.cc)] {
            metadata.extend(list.iter().map(|address| MetaEntry::new(key, address.clone())));
        }
        metadata
    }
}

/// The attachment kind of a MIME type.
fn kind_of(mime: Option<&str>) -> AttachmentKind {
    match mime.map(|m| m.split('/').next().unwrap_or("")) {
        Some("image") => AttachmentKind::Photo,
        Some("audio") => AttachmentKind::Audio,
        Some("video") => AttachmentKind::Video,
        _ => AttachmentKind::Document,
    }
}

/// The addresses of an address header.
fn addresses(list: Option<&Address<'_>>) -> Vec<String> {
    list.into_iter()
        .flat_map(Address::iter)
        .filter_map(|a| a.address.as_ref().map(|e| e.to_string()))
        .collect()
}

/// (display name, address) of the first mailbox.
fn first_address(address: Option<&Address<'_>>) -> Option<(Option<String>, String)> {
    let first = address?.first()?;
    Some((first.name.as_ref().map(|n| n.to_string()), first.address.as_ref()?.to_string()))
}

/// Message ids of a `References` or `In-Reply-To` header, in order.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![id.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|id| id.to_string()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
