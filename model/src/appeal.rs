//! The durable appeal record, its history, and the JSON shape the appeals API returns.
//!
//! These are ClientHub's own serde types, separate from the WIT records, so the storage and
//! API formats stay stable when the plugin contract evolves. The store keeps them in a
//! positional binary format (the host's `store::record`): a change of their shape takes a new
//! format version there.

use crate::event::Event;
use serde::{Deserialize, Serialize};

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received and kept, not routed (no router is active).
    #[default]
    New,
    /// The router placed it in a queue.
    Routed,
    /// A filter dropped it; kept, with the reason in the history.
    Dropped,
    /// A plugin failed on it (trap, timeout, out of memory, error) or its payload could not be
    /// parsed; kept with the error for someone to look at.
    Triage,
    /// An operator resolved it. A later message in the same conversation opens a new appeal.
    Resolved,
    /// An employee took it into work.
    InWork,
    /// Waiting for the customer or a third party.
    Paused,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 7] = [
        Status::New,
        Status::Routed,
        Status::Dropped,
        Status::Triage,
        Status::Resolved,
        Status::InWork,
        Status::Paused,
    ];

    /// Parses the API's spelling (`routed`, `triage`, …).
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }

    /// The API's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Routed => "routed",
            Status::Dropped => "dropped",
            Status::Triage => "triage",
            Status::Resolved => "resolved",
            Status::InWork => "in_work",
            Status::Paused => "paused",
        }
    }

    /// Whether a follow-up in the same conversation joins this appeal.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Routed | Status::InWork | Status::Paused)
    }
}

/// The customer, after normalisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Display name.
    pub name: Option<String>,
    /// Phone in E.164 (`+79161234567`) when it parsed, else as received.
    pub phone: Option<String>,
    /// E-mail, lower-cased.
    pub email: Option<String>,
    /// The person's id on the channel.
    pub platform_user_id: Option<String>,
}

/// What an attachment is, as the WIT's `attachment-kind` says. Records and the API keep it as
/// its name (`photo`, `call-recording`, …), so records of every format read the same; a name
/// this version does not know reads as [`AttachmentKind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "&'static str")]
pub enum AttachmentKind {
    /// A photo or picture.
    Photo,
    /// A document (PDF, office file, …).
    Document,
    /// An audio file.
    Audio,
    /// A voice message.
    Voice,
    /// A video.
    Video,
    /// A telephone call's recording.
    CallRecording,
    /// Anything else.
    #[default]
    Other,
}

impl AttachmentKind {
    /// Every kind.
    pub const ALL: [AttachmentKind; 7] = [
        AttachmentKind::Photo,
        AttachmentKind::Document,
        AttachmentKind::Audio,
        AttachmentKind::Voice,
        AttachmentKind::Video,
        AttachmentKind::CallRecording,
        AttachmentKind::Other,
    ];

    /// Its name in records and the API.
    pub fn name(self) -> &'static str {
        match self {
            AttachmentKind::Photo => "photo",
            AttachmentKind::Document => "document",
            AttachmentKind::Audio => "audio",
            AttachmentKind::Voice => "voice",
            AttachmentKind::Video => "video",
            AttachmentKind::CallRecording => "call-recording",
            AttachmentKind::Other => "other",
        }
    }

    /// The kind named `name`; [`AttachmentKind::Other`] for a name this version does not know.
    pub fn parse(name: &str) -> Self {
        Self::ALL.into_iter().find(|k| k.name() == name).unwrap_or_default()
    }
}

impl From<String> for AttachmentKind {
    fn from(name: String) -> Self {
        Self::parse(&name)
    }
}

impl From<AttachmentKind> for &'static str {
    fn from(kind: AttachmentKind) -> Self {
        kind.name()
    }
}

/// A file reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// What it is.
    pub kind: AttachmentKind,
    /// Platform file id or URL.
    pub reference: String,
    /// MIME type, if known.
    pub mime_type: Option<String>,
    /// Size in bytes, if known.
    pub size: Option<u64>,
    /// File name, if known.
    pub file_name: Option<String>,
}

/// A router's decision as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The queue.
    pub queue: String,
    /// Region id.
    pub region: Option<String>,
    /// Department id.
    pub department: Option<String>,
    /// Topic id.
    pub topic: Option<String>,
    /// Employee ids allowed to take it.
    pub candidates: Vec<String>,
    /// `round-robin`, `least-loaded` or `manual`.
    pub strategy: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// Minutes to take into work, if the route has an SLA.
    pub reaction_minutes: Option<u32>,
    /// The router's explanation.
    pub reason: String,
}

/// One entry of an appeal's history: what happened, when, and the plugin that acted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    /// The plugin that acted, as `name@version`.
    pub plugin: Option<String>,
    /// What happened.
    pub event: Event,
}

impl HistoryEvent {
    /// The stage name (`handed_off`, `reply_sent`, …).
    pub fn stage(&self) -> &str {
        self.event.stage()
    }
}

/// An appeal with its whole history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Appeal {
    /// ClientHub id (a ULID: sorts by arrival).
    pub id: String,
    /// Channel name.
    pub channel: String,
    /// The platform's id of the first message.
    pub platform_id: String,
    /// Conversation key.
    pub conversation_key: String,
    /// When the host received it (ms since the epoch).
    pub received_at: u64,
    /// When the platform says it was sent.
    pub sent_at: Option<u64>,
    /// The customer.
    pub contact: Contact,
    /// The contact this appeal belongs to: the same person across channels, recognised by
    /// E.164 phone, e-mail or the channel's user id.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// Subject line.
    pub subject: Option<String>,
    /// Text of the first message.
    pub text: String,
    /// Files of the first message and of the follow-ups that joined it.
    pub attachments: Vec<Attachment>,
    /// Channel metadata as (key, value) pairs.
    pub metadata: Vec<(String, String)>,
    /// Tags from filters and the router.
    pub tags: Vec<String>,
    /// Where it stands.
    pub status: Status,
    /// The router's decision, once routed.
    pub decision: Option<Decision>,
    /// The error, for `triage`.
    pub error: Option<String>,
    /// The raw request it came from.
    pub raw_request_id: String,
    /// Every event, in order.
    #[serde(default)]
    pub history: Vec<HistoryEvent>,
    /// Operators' replies to the customer, oldest first, each with its delivery state.
    #[serde(default)]
    pub replies: Vec<Reply>,
    /// The CRM record it became, once delivered.
    #[serde(default)]
    pub crm: Option<CrmLink>,
    /// Who works on it and its SLA clocks.
    #[serde(default)]
    pub work: Work,
    /// Its short number (№ 10452), one per installation in order of creation, gap-free; 0 for
    /// an appeal created before numbers were given. Last, so a record without it reads.
    #[serde(default)]
    pub number: u64,
}

impl Appeal {
    /// What people call it: «№ 10452», or its id when it came before short numbers.
    pub fn label(&self) -> String {
        if self.number > 0 { format!("№ {}", self.number) } else { self.id.clone() }
    }

    /// Whether it waits for an employee: open, routed and nobody holds it.
    pub fn is_waiting(&self) -> bool {
        self.status.is_open() && self.status != Status::New && self.work.assignee.is_none()
    }

    /// The employee holding it while it is open.
    pub fn holder(&self) -> Option<&str> {
        self.work.assignee.as_deref().filter(|_| self.status.is_open())
    }
}

/// Who works on an appeal, and the instants its SLA counts (ms since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Work {
    /// The department handling it now (the router's, then escalations and hand-offs).
    pub department: Option<String>,
    /// Its region.
    pub region: Option<String>,
    /// The queue it waits in.
    pub queue: Option<String>,
    /// The employee it is assigned to.
    pub assignee: Option<String>,
    /// When it was assigned.
    pub assigned_at: Option<u64>,
    /// When it reached its current department (escalation counts from here).
    pub since: u64,
    /// Escalations so far.
    pub escalations: u32,
    /// Why it waits for an employee, while it does.
    #[serde(default)]
    pub waiting_reason: Option<String>,
    /// When it was first taken into work.
    pub taken_at: Option<u64>,
    /// When the first reply to the customer was written.
    pub first_reply_at: Option<u64>,
    /// When it was resolved.
    pub resolved_at: Option<u64>,
    /// Since when it is paused.
    pub paused_at: Option<u64>,
    /// Paused time already counted (stops the SLA clock up to the directory's pause limit).
    pub paused_ms: u64,
    /// The reaction deadline (taken into work), before pauses.
    pub reaction_due: Option<u64>,
    /// The resolution deadline, before pauses.
    pub resolution_due: Option<u64>,
    /// When the reaction deadline was found missed.
    pub reaction_overdue_at: Option<u64>,
    /// When the resolution deadline was found missed.
    pub resolution_overdue_at: Option<u64>,
    /// Reaction time as the SLA counted it when it was taken into work (ms; business time
    /// where the topic says so): what the reports add up.
    #[serde(default)]
    pub reaction_ms: Option<u64>,
    /// Resolution time as the SLA counted it when it was resolved (ms; pauses up to the
    /// limit excluded).
    #[serde(default)]
    pub resolution_ms: Option<u64>,
}

/// Where an appeal lives in the CRM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrmLink {
    /// The connector that delivered it, `name@version`.
    pub connector: String,
    /// The CRM's kind of record (`deal`, `lead`).
    pub entity: String,
    /// Its id in the CRM.
    pub id: String,
    /// A link to open it.
    pub url: Option<String>,
    /// When it was delivered (ms since the epoch).
    pub delivered_at: u64,
}

/// Where a reply stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyState {
    /// Waiting to be sent, or to be tried again after a temporary refusal (see `error` and
    /// `next_attempt_at`).
    #[default]
    Queued,
    /// The platform accepted it.
    Sent,
    /// The platform reports it delivered.
    Delivered,
    /// The platform reports it read.
    Read,
    /// Refused for good, or given up after the last retry; `error` says why. An operator may
    /// queue it again.
    Failed,
}

/// An operator's reply to the customer, sent through the appeal's channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// ClientHub id (a ULID).
    pub id: String,
    /// The text sent.
    pub text: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// When it was written (ms since the epoch).
    pub created_at: u64,
    /// Where it stands.
    pub state: ReplyState,
    /// Calls made to the platform so far.
    pub attempts: u32,
    /// When the next call is due, while queued.
    pub next_attempt_at: Option<u64>,
    /// The platform's id of the sent message (delivery statuses refer to it).
    pub platform_message_id: Option<String>,
    /// The last error from the platform or the host.
    pub error: Option<String>,
    /// When its state last changed.
    pub updated_at: u64,
}

impl ReplyState {
    /// The API's spelling (`queued`, `sent`, …).
    pub fn name(self) -> &'static str {
        match self {
            ReplyState::Queued => "queued",
            ReplyState::Sent => "sent",
            ReplyState::Delivered => "delivered",
            ReplyState::Read => "read",
            ReplyState::Failed => "failed",
        }
    }
}

impl Reply {
    /// Whether the reply waits in the outbox.
    pub fn is_queued(&self) -> bool {
        self.state == ReplyState::Queued
    }
}

impl Appeal {
    /// The reply with this id.
    pub fn reply_mut(&mut self, id: &str) -> Option<&mut Reply> {
        self.replies.iter_mut().find(|r| r.id == id)
    }

    /// Appends a history event.
    pub fn record(&mut self, at: u64, plugin: Option<String>, event: Event) {
        self.history.push(HistoryEvent { at, plugin, event });
    }
}

#[cfg(test)]
mod tests {
    use super::AttachmentKind;

    #[test]
    fn an_attachment_kind_is_kept_as_its_name_so_every_record_format_reads_it() {
        // The bytes a record held when the kind was a string are the bytes it holds now.
        let as_string = postcard::to_allocvec(&"call-recording".to_string()).unwrap();
        assert_eq!(postcard::to_allocvec(&AttachmentKind::CallRecording).unwrap(), as_string);
        assert_eq!(
            postcard::from_bytes::<AttachmentKind>(&as_string).unwrap(),
            AttachmentKind::CallRecording
        );
        assert_eq!(serde_json::to_string(&AttachmentKind::Photo).unwrap(), "\"photo\"");
        assert_eq!(serde_json::from_str::<AttachmentKind>("\"sticker\"").unwrap(), AttachmentKind::Other);
        for kind in AttachmentKind::ALL {
            assert_eq!(AttachmentKind::parse(kind.name()), kind);
        }
    }
}
