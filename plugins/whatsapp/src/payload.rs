//! The parts of the Cloud API webhook notification this adapter reads
//! (developers.facebook.com → WhatsApp Cloud API → Webhooks → `messages` field). Unknown
//! fields are ignored; Meta adds them over time.

use serde::Deserialize;
use serde_json::Value;

/// The notification: `{"object": "whatsapp_business_account", "entry": [...]}`.
#[derive(Debug, Deserialize)]
pub struct Notification {
    #[serde(default)]
    pub entry: Vec<Entry>,
}

/// One business account's changes.
#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One change; this adapter reads `field == "messages"`.
#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    pub value: ChangeValue,
}

/// The change's value.
#[derive(Debug, Deserialize)]
pub struct ChangeValue {
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<ContactInfo>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub statuses: Vec<Status>,
}

/// The business phone number that received the message.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub phone_number_id: Option<String>,
}

/// The sender's profile.
#[derive(Debug, Deserialize)]
pub struct ContactInfo {
    pub wa_id: Option<String>,
    pub profile: Option<Profile>,
}

/// A profile.
#[derive(Debug, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
}

/// An incoming message; its body is under the key named by `type`.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub from: String,
    pub id: String,
    pub timestamp: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub context: Option<Context>,
    #[serde(flatten)]
    pub raw: serde_json::Map<String, Value>,
}

impl Message {
    /// The object under the message's type (`text`, `image`, …), or null.
    pub fn body(&self) -> &Value {
        self.raw.get(&self.kind).unwrap_or(&Value::Null)
    }
}

/// What a message replies to or forwards.
#[derive(Debug, Deserialize)]
pub struct Context {
    pub id: Option<String>,
    pub forwarded: Option<bool>,
}

/// A status update on a message the business sent.
#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub errors: Vec<StatusError>,
}

/// Why a message failed.
#[derive(Debug, Deserialize)]
pub struct StatusError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub error_data: Option<ErrorData>,
}

/// Details of an error.
#[derive(Debug, Deserialize)]
pub struct ErrorData {
    pub details: Option<String>,
}
