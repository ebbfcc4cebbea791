//! What a channel adapter found in a webhook request, in ClientHub's own terms: converted once
//! from the plugin's WIT records (`runtime::convert`), then carried through the
//! pipeline, and across a cluster's intake queue. The queue encodes these with postcard, which
//! is not self-describing: fields are never skipped, and new fields go at the end.

use crate::appeal::{Attachment, Contact, ReplyState};
use serde::{Deserialize, Serialize};

/// One thing a request carried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A new appeal (a first message, a comment, a call, a review).
    NewAppeal(Message),
    /// A message in an existing conversation: joins its open appeal, or opens a new one.
    FollowUp(Message),
    /// A reply to send, asked for from outside (a CRM operator's answer).
    ReplyCommand(ReplyCommand),
    /// What became of a reply the host sent (delivered, read, failed).
    DeliveryStatus(DeliveryStatus),
}

/// A customer's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The platform's own id of the message (the idempotency key, with the channel).
    pub platform_id: String,
    /// The conversation it belongs to (a chat, a post's comment thread, a caller).
    pub conversation_key: String,
    /// When the customer sent it (ms since the epoch), when the platform says.
    pub sent_at: Option<u64>,
    /// Who sent it, as the platform knows them.
    pub contact: Contact,
    /// A subject line (e-mail), if any.
    pub subject: Option<String>,
    /// The text.
    pub text: String,
    /// Files: photos, documents, call recordings.
    pub attachments: Vec<Attachment>,
    /// Free-form metadata (region, store, post id, rating), in the adapter's order.
    pub metadata: Vec<(String, String)>,
}

/// A reply asked for from outside the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyCommand {
    /// The appeal to answer.
    pub appeal_id: String,
    /// The text to send.
    pub text: String,
    /// Who wrote it, as the other system names them.
    pub author: Option<String>,
}

/// A platform's word on a sent reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryStatus {
    /// The platform's id of the sent message.
    pub platform_message_id: String,
    /// Where it stands now.
    pub state: ReplyState,
    /// The platform's explanation, if any.
    pub detail: Option<String>,
}

impl Event {
    /// The message it carries, if it is one.
    pub fn message(&self) -> Option<&Message> {
        match self {
            Event::NewAppeal(m) | Event::FollowUp(m) => Some(m),
            Event::ReplyCommand(_) | Event::DeliveryStatus(_) => None,
        }
    }
}
