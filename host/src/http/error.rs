//! [`ApiError`]: every refusal of the HTTP API as one type, so handlers use `?`. A
//! [`Refusal`] keeps its status (400, 404, 409), storage and other internal failures are 500s,
//! and a body that could not be read is a 413 or 400. The answer is `{"error": message, "code":
//! code}`, with any extra fields the refusal carries (a directory's list of problems). The
//! `code` is stable (`not_found`, `wrong_credentials`, `checklist_incomplete`, …). The API
//! answers in the caller's language (`?lang=`, else `Accept-Language`, else Russian): where a
//! code says it all, `error` is its sentence in that language and `detail` the host's own
//! message; where the message says what exactly is wrong (invalid input, what was not found, a
//! conflict), `error` is that message.

use super::bytes_body::Body;
use super::reply::{BodyError, json};
use crate::refusal::Refusal;
use crate::text::Lang;
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

    /// The answer with the host's message as it is: `{"error": message, "code", …extra}` (for
    /// webhooks, whose callers are platforms).
    pub fn response(&self) -> Response<Body> {
        self.answer(None)
    }

    /// The answer for a person reading `lang`: the code's sentence as `error` where it has one,
    /// the host's message as `detail`.
    pub fn response_in(&self, lang: Lang) -> Response<Body> {
        self.answer(self.words(lang))
    }

    /// The code's sentence in `lang`, where the code says it all.
    fn words(&self, lang: Lang) -> Option<String> {
        let (ru, en): (String, String) = match self.code {
            "unauthenticated" => ("войдите в систему".into(), "sign in first".into()),
            "forbidden" => ("нет доступа".into(), "access denied".into()),
            "method_not_allowed" => ("такой запрос не поддерживается".into(), "method not allowed".into()),
            "body_timeout" => (
                "запрос не дошёл целиком: повторите".into(),
                "the request did not arrive whole: retry".into(),
            ),
            "too_large" => ("запрос слишком большой".into(), "the request is too large".into()),
            "too_many" => {
                ("слишком много запросов: повторите позже".into(), "too many requests: retry later".into())
            }
            "internal" => (
                "внутренняя ошибка сервера: подробности в журнале".into(),
                "internal server error: see the log".into(),
            ),
            "checklist_incomplete" => {
                let items: Vec<&str> = self
                    .extra
                    .get("items")
                    .and_then(|v| v.as_array())
                    .map_or(Vec::new(), |a| a.iter().filter_map(|i| i.as_str()).collect());
                (
                    format!("не выполнены обязательные пункты: {}", items.join("; ")),
                    format!("required checklist items are open: {}", items.join("; ")),
                )
            }
            "wrong_credentials" => ("неверный логин или пароль".into(), "wrong login or password".into()),
            "token_refused" => ("токен не принят".into(), "the token was refused".into()),
            "locked_out" => {
                let minutes =
                    self.extra.get("retry_after_s").and_then(|v| v.as_u64()).unwrap_or(60).div_ceil(60);
                (
                    format!("слишком много неудачных попыток: повторите через {minutes} мин"),
                    format!("too many failed sign-ins: try again in {minutes} min"),
                )
            }
            "second_factor_needed" => (
                "введите код из приложения-аутентификатора".into(),
                "enter the code from your authenticator app".into(),
            ),
            "role_too_weak" => {
                ("для этого действия не хватает прав".into(), "your role may not do this".into())
            }
            "out_of_scope" => ("обращение вне вашей зоны".into(), "the appeal is outside your scope".into()),
            "masters_may_not_reply" => (
                "мастер не отвечает клиенту в этом отделе: оставьте заметку".into(),
                "masters do not reply to customers in this department: leave a note".into(),
            ),
            "not_yourself" => (
                "действия записываются от вашего имени: указывать другого нельзя".into(),
                "actions are recorded under your own name".into(),
            ),
            "csrf" => ("страница устарела: обновите её".into(), "the page is stale: reload it".into()),
            "invitation_invalid" => (
                "приглашение неизвестно, использовано или просрочено: попросите новое".into(),
                "the invitation is unknown, used or expired: ask for a new one".into(),
            ),
            _ => return None,
        };
        Some(if lang == Lang::Ru { ru } else { en })
    }

    fn answer(&self, words: Option<String>) -> Response<Body> {
        let mut body = self.extra.clone();
        match words {
            Some(words) => {
                body.insert("error".into(), words.into());
                body.insert("detail".into(), self.message.clone().into());
            }
            None => {
                body.insert("error".into(), self.message.clone().into());
            }
        }
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

impl From<crate::access::checks::Unchecked> for ApiError {
    fn from(unchecked: crate::access::checks::Unchecked) -> Self {
        match unchecked {
            crate::access::checks::Unchecked::Busy => {
                Self::new(429, unchecked.to_string()).code("too_many").with("retry_after_s", 1)
            }
            crate::access::checks::Unchecked::Failed(_) => Self::internal(unchecked.to_string()),
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

    #[test]
    fn a_code_that_says_it_all_reads_in_the_caller_s_language() {
        let locked = ApiError::new(429, "locked out for 120 s").code("locked_out").with("retry_after_s", 120);
        assert_eq!(locked.words(Lang::Ru).unwrap(), "слишком много неудачных попыток: повторите через 2 мин");
        assert_eq!(locked.words(Lang::En).unwrap(), "too many failed sign-ins: try again in 2 min");
        // What exactly is wrong stays the message.
        assert_eq!(ApiError::invalid("`limit` is not a number").words(Lang::Ru), None);
    }
}
