//! Conveniences on the contract's records: constructors and accessors plugin code needs often.

use crate::{
    AssignmentStrategy, Contact, Decision, Header, HttpRequest, HttpResponse, InboundMessage, MetaEntry,
    Priority,
};

impl HttpRequest {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// The `content-type` without parameters, lower-cased (`application/json`).
    pub fn media_type(&self) -> String {
        self.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase()
    }
}

impl HttpResponse {
    /// A response with this status, content type and body.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![Header { name: "content-type".into(), value: content_type.into() }],
            body: body.into(),
        }
    }

    /// `200 OK` with a JSON body.
    pub fn json(body: &serde_json::Value) -> Self {
        Self::new(200, "application/json", body.to_string())
    }

    /// `200 OK` with a plain-text body.
    pub fn text(body: &str) -> Self {
        Self::new(200, "text/plain; charset=utf-8", body)
    }
}

impl Decision {
    /// A decision that puts the appeal in `queue` with normal priority and no candidates.
    pub fn to_queue(queue: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            queue: queue.into(),
            region: None,
            department: None,
            topic: None,
            candidates: Vec::new(),
            strategy: AssignmentStrategy::RoundRobin,
            priority: Priority::Normal,
            tags: Vec::new(),
            reaction_minutes: None,
            reason: reason.into(),
        }
    }
}

impl MetaEntry {
    /// A metadata entry.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

impl Contact {
    /// A contact of whom nothing is known.
    pub fn unknown() -> Self {
        Self { name: None, phone: None, email: None, platform_user_id: None }
    }
}

impl InboundMessage {
    /// The first metadata value under `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|m| m.key == key).map(|m| m.value.as_str())
    }
}

impl crate::Appeal {
    /// The first metadata value under `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|m| m.key == key).map(|m| m.value.as_str())
    }
}
