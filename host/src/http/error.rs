//! [`ApiError`]: every refusal of the HTTP API as one type, so handlers use `?`. A
//! [`Refusal`] keeps its status (400, 404, 409), storage and other internal failures are 500s,
//! and a body that could not be read is a 413 or 400. The answer is `{"error": message, "code":
//! code}`, with any extra fields the refusal carries (a directory's list of problems). The
//! `code` is stable (`not_found`, `wrong_credentials`, `checklist_incomplete`, …): a client
//! shows its own words for it in its own language, the message is for people reading logs.

use super::bytes_body::Body;
use super::reply::{BodyError, json};
use crate::refusal::Refusal;
use hyper::Response;

/// A refused API request: the status and what to tell the caller.
#[derive(Debug)]
pub struct ApiError {
    status: u16,
    code: &'static str,
    message: String,
    extra: serde_json::Map<String, serde_json::Value>,
    /// Whether the connection is closed after the answer (a body that never came).
    close: bool,
}

impl ApiError {
    /// A refusal with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        let code = match status {
            400 => "invalid",
            401 => "unauthenticated",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            408 => "body_timeout",
            409 => "conflict",
            413 => "too_large",
            429 => "too_many",
            _ => "internal",
        };
        Self { status, code, message: message.into(), extra: serde_json::Map::new(), close: false }
    }

    /// The same refusal with a more precise stable code.
    pub fn code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// 400: the input is wrong; the message says how.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// 500 for a failure that is not the caller's (a task that died, say).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }

    /// The same refusal with one more field in its answer.
    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.extra.insert(key.into(), serde_json::to_value(value).unwrap_or_default());
        self
    }

    /// The answer: `{"error": message, …extra}`.
    pub fn response(&self) -> Response<Body> {
        let mut body = self.extra.clone();
        body.insert("error".into(), self.message.clone().into());
        body.insert("code".into(), self.code.into());
        let mut response = json(self.status, &body);
        if self.close {
            response
                .headers_mut()
                .insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Internal(e) => e.into(),
            Refusal::ChecklistOpen(items) => {
                Self::new(409, Refusal::ChecklistOpen(items.clone()).to_string())
                    .code("checklist_incomplete")
                    .with("items", items)
            }
            other => Self::new(other.status(), other.to_string()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(format!("{error:#}"))
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge(limit) => Self::new(413, format!("the body is larger than {limit} bytes")),
            BodyError::Broken(why) => Self::invalid(format!("could not read the body: {why}")),
            BodyError::TimedOut(after) => Self {
                close: true,
                ..Self::new(408, format!("the body did not arrive within {} s", after.as_secs()))
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_status_and_internal_failures_are_500() {
        assert_eq!(ApiError::from(Refusal::Conflict("busy".into())).status, 409);
        assert_eq!(ApiError::from(Refusal::Internal(anyhow::anyhow!("disk"))).status, 500);
        assert_eq!(ApiError::from(anyhow::anyhow!("disk")).message, "disk");
        assert_eq!(ApiError::from(BodyError::TooLarge(10)).status, 413);
    }
}
