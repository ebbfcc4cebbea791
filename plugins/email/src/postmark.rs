//! Postmark's inbound webhook: the message as JSON (`FromFull`, `ToFull`, `CcFull`,
//! `Subject`, `TextBody`, `HtmlBody`, `StrippedTextReply`, `Headers`, base64 `Attachments`), so a
//! company can point its support address at Postmark instead of running a mail gateway. The
//! real `Message-ID`, `In-Reply-To` and `References` are read from `Headers`; Postmark's own
//! `MessageID` is the fallback key. Postmark authenticates with HTTP basic credentials in the
//! webhook URL (`inbound_basic_auth`).

use super::{Envelope, kind_of};
use base64::Engine;
use clienthub_sdk::{AdapterError, Attachment, Contact, InboundMessage, MediaFile};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inbound {
    #[serde(default)]
    from_full: Mailbox,
    #[serde(default)]
    to_full: Vec<Mailbox>,
    #[serde(default)]
    cc_full: Vec<Mailbox>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(rename = "MessageID", default)]
    message_id: Option<String>,
    #[serde(default)]
    text_body: Option<String>,
    #[serde(default)]
    html_body: Option<String>,
    #[serde(default)]
    stripped_text_reply: Option<String>,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    attachments: Vec<File>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Mailbox {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Header {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct File {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    content_length: Option<u64>,
    /// The file, base64.
    #[serde(default)]
    content: Option<String>,
}

/// Attachment `n` of a Postmark inbound webhook body, decoded.
pub fn attachment(body: &[u8], n: usize) -> Result<MediaFile, String> {
    let mail: Inbound =
        serde_json::from_slice(body).map_err(|e| format!("not a Postmark inbound message: {e}"))?;
    let file = mail.attachments.into_iter().nth(n).ok_or("the message has no such attachment")?;
    let content = base64::engine::general_purpose::STANDARD
        .decode(file.content.unwrap_or_default().as_bytes())
        .map_err(|e| format!("the attachment's Content is not base64: {e}"))?;
    Ok(MediaFile {
        mime_type: file.content_type.map(|t| t.to_lowercase()),
        file_name: file.name,
        body: content,
    })
}

/// The inbound message of a Postmark inbound webhook body.
pub fn parse(body: &[u8]) -> Result<InboundMessage, AdapterError> {
    let mail: Inbound = serde_json::from_slice(body)
        .map_err(|e| AdapterError::Malformed(format!("not a Postmark inbound message: {e}")))?;
    if mail.from_full.email.is_empty() {
        return Err(AdapterError::Malformed("the Postmark message has no FromFull.Email".into()));
    }
    let header = |name: &str| {
        mail.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    };
    let envelope = Envelope {
        message_id: header("Message-ID").and_then(|v| message_ids(v).into_iter().next()),
        references: header("References").map(message_ids).unwrap_or_default(),
        in_reply_to: header("In-Reply-To").map(message_ids).unwrap_or_default(),
        to: mail.to_full.iter().map(|m| m.email.to_lowercase()).collect(),
        cc: mail.cc_full.iter().map(|m| m.email.to_lowercase()).collect(),
    };
    let platform_id = envelope
        .message_id
        .clone()
        .or_else(|| mail.message_id.clone().map(|id| format!("postmark:{id}")))
        .ok_or_else(|| AdapterError::Malformed("the Postmark message has no Message-ID".into()))?;
    // A reply's new text without the quoted thread, when Postmark could strip it.
    let is_reply = !envelope.in_reply_to.is_empty();
    let stripped = if is_reply { mail.stripped_text_reply.as_ref() } else { None };
    let text = [stripped, mail.text_body.as_ref(), mail.html_body.as_ref()]
        .into_iter()
        .flatten()
        .map(|t| t.replace("\r\n", "\n").trim().to_string())
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let attachments = mail
        .attachments
        .iter()
        .enumerate()
        .map(|(n, file)| {
            let mime = file.content_type.as_ref().map(|t| t.to_lowercase());
            Attachment {
                kind: kind_of(mime.as_deref()),
                reference: format!("postmark:{platform_id}#{n}"),
                mime_type: mime,
                size: file.content_length,
                file_name: file.name.clone(),
            }
        })
        .collect();
    Ok(InboundMessage {
        conversation_key: envelope.conversation(&platform_id),
        metadata: envelope.metadata(),
        platform_id,
        sent_at: None,
        contact: Contact {
            name: mail.from_full.name.filter(|n| !n.is_empty()),
            phone: None,
            email: Some(mail.from_full.email),
            platform_user_id: None,
        },
        subject: mail.subject,
        text,
        attachments,
    })
}

/// The ids of a `Message-ID`/`References`/`In-Reply-To` value, without angle brackets.
fn message_ids(value: &str) -> Vec<String> {
    value
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>'))
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect()
}
