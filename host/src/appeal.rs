//! The durable appeal record, its history, and the JSON shape the appeals API returns.
//!
//! These are ClientHub's own serde types, separate from the WIT records, so the storage and
//! API formats stay stable when the plugin contract evolves.

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
}

impl Status {
    /// Parses the API's spelling (`routed`, `triage`, …).
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }

    /// Whether a follow-up in the same conversation joins this appeal.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Routed)
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

/// A file reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// `photo`, `document`, `audio`, `voice`, `video`, `call-recording` or `other`.
    pub kind: String,
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

/// What happened to an appeal: one entry per stage, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    /// `received`, `kept`, `tagged`, `dropped`, `routed`, `triage`, `message`, `duplicate`,
    /// `reply_requested`, `delivery_status`.
    pub stage: String,
    /// The plugin that acted, as `name@version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// A human-readable detail (the drop reason, the error, the decision's reason).
    pub detail: String,
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
    /// Every stage, in order.
    pub history: Vec<HistoryEvent>,
}

impl Appeal {
    /// Appends a history event.
    pub fn record(&mut self, at: u64, stage: &str, plugin: Option<String>, detail: impl Into<String>) {
        self.history.push(HistoryEvent { at, stage: stage.to_string(), plugin, detail: detail.into() });
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
