//! Conveniences on the contract's records: constructors and accessors plugin code needs often.

use crate::{
    AssignmentStrategy, Contact, Decision, Header, HttpRequest, HttpResponse, InboundMessage, MediaStep,
    MetaEntry, OutboundRequest, Priority, ReplyOutcome, RetryLater,
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

impl HttpResponse {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// `Retry-After` in milliseconds, when given in seconds (the form APIs use).
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.header("retry-after")?.trim().parse::<u64>().ok().map(|s| s.saturating_mul(1000))
    }

    /// The body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The start of the body as text, for error messages.
    pub fn body_excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut end = text.len().min(300);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].trim().to_string()
    }
}

impl OutboundRequest {
    /// A `GET` of `url` with no body.
    pub fn get(url: impl Into<String>) -> Self {
        Self { method: "GET".into(), url: url.into(), headers: Vec::new(), body: Vec::new() }
    }

    /// A `POST` of a JSON body to `url`.
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> Self {
        Self {
            method: "POST".into(),
            url: url.into(),
            headers: vec![Header { name: "content-type".into(), value: "application/json".into() }],
            body: body.to_string().into_bytes(),
        }
    }

    /// A `POST` of an `application/x-www-form-urlencoded` body (already encoded) to `url`.
    pub fn post_form(url: impl Into<String>, encoded: impl Into<String>) -> Self {
        Self {
            method: "POST".into(),
            url: url.into(),
            headers: vec![Header {
                name: "content-type".into(),
                value: "application/x-www-form-urlencoded".into(),
            }],
            body: encoded.into().into_bytes(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(Header { name: name.into(), value: value.into() });
        self
    }
}

impl MediaStep {
    /// For a channel whose payload already carries the file's URL (VK and OK photos, VK
    /// documents): download `reference` when it is an absolute URL (the host calls only the
    /// hosts the manifest or the admin allow, plain `http://` only where named so); otherwise
    /// fail with `otherwise` (an id the platform gives no file for).
    pub fn download_url(reference: &str, otherwise: &str) -> Self {
        match reference.starts_with("https://") || reference.starts_with("http://") {
            true => MediaStep::Download(OutboundRequest::get(reference)),
            false => MediaStep::Failed(otherwise.to_string()),
        }
    }
}

impl ReplyOutcome {
    /// The usual reading of an HTTP status: 2xx sent (no message id), 429 and 5xx retry
    /// (after `Retry-After` when given), anything else failed with the status and body.
    pub fn from_status(answer: &HttpResponse) -> Self {
        match answer.status {
            200..=299 => ReplyOutcome::Sent(None),
            429 | 500..=599 => ReplyOutcome::Retry(RetryLater {
                after_ms: answer.retry_after_ms(),
                error: format!("HTTP {}: {}", answer.status, answer.body_excerpt()),
            }),
            status => ReplyOutcome::Failed(format!("HTTP {status}: {}", answer.body_excerpt())),
        }
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
