//! How big a plugin's result is. A result over its cap fails the call (`CallError::Oversized`)
//! before it reaches storage: a router cannot write a 32 MiB reason into every appeal.

use super::wit;

/// Largest adapter output: webhook bodies are at most 1 MiB, so a sane parse stays below this.
const MAX_OUTPUT_BYTES: usize = 4 << 20;
/// Largest filter verdict or router decision.
const MAX_DECISION_BYTES: usize = 64 << 10;

/// A plugin call's result, measured in the bytes of its strings and lists.
pub trait Output {
    /// The cap for this kind of result.
    const CAP: usize = MAX_OUTPUT_BYTES;
    /// Its size; results that cannot be large count as 0.
    fn bytes(&self) -> usize {
        0
    }
}

fn strings<'a>(all: impl IntoIterator<Item = &'a String>) -> usize {
    all.into_iter().map(String::len).sum()
}

fn headers(list: &[wit::Header]) -> usize {
    list.iter().map(|h| h.name.len() + h.value.len()).sum()
}

fn response(r: &wit::HttpResponse) -> usize {
    r.body.len() + headers(&r.headers)
}

fn refusal(e: &wit::AdapterError) -> usize {
    match e {
        wit::AdapterError::Unauthorized(m) | wit::AdapterError::Malformed(m) => m.len(),
    }
}

fn message(m: &wit::InboundMessage) -> usize {
    let c = &m.contact;
    m.platform_id.len()
        + m.conversation_key.len()
        + m.subject.as_ref().map_or(0, String::len)
        + m.text.len()
        + strings(c.name.iter().chain(&c.phone).chain(&c.email).chain(&c.platform_user_id))
        + m.attachments
            .iter()
            .map(|a| a.reference.len() + strings(a.mime_type.iter().chain(&a.file_name)))
            .sum::<usize>()
        + m.metadata.iter().map(|e| e.key.len() + e.value.len()).sum::<usize>()
}

impl Output for Result<wit::AdapterOutput, wit::AdapterError> {
    fn bytes(&self) -> usize {
        match self {
            Ok(out) => {
                response(&out.response)
                    + out
                        .events
                        .iter()
                        .map(|e| match e {
                            wit::Event::NewAppeal(m) | wit::Event::FollowUp(m) => message(m),
                            wit::Event::ReplyCommand(r) => r.text.len() + r.appeal_id.len(),
                            wit::Event::DeliveryStatus(s) => {
                                s.platform_message_id.len() + s.detail.as_ref().map_or(0, String::len)
                            }
                        })
                        .sum::<usize>()
            }
            Err(e) => refusal(e),
        }
    }
}

impl Output for Result<wit::Decision, String> {
    const CAP: usize = MAX_DECISION_BYTES;
    fn bytes(&self) -> usize {
        match self {
            Ok(d) => {
                d.queue.len()
                    + strings(d.region.iter().chain(&d.department).chain(&d.topic))
                    + strings(&d.candidates)
                    + strings(&d.tags)
                    + d.reason.len()
            }
            Err(message) => message.len(),
        }
    }
}

impl Output for Result<wit::Verdict, String> {
    const CAP: usize = MAX_DECISION_BYTES;
    fn bytes(&self) -> usize {
        match self {
            Ok(wit::Verdict::Keep) => 0,
            Ok(wit::Verdict::Drop(reason)) => reason.len(),
            Ok(wit::Verdict::Tag(tags)) => strings(tags),
            Err(message) => message.len(),
        }
    }
}

impl Output for Result<wit::OutboundRequest, String> {
    fn bytes(&self) -> usize {
        match self {
            Ok(r) => r.method.len() + r.url.len() + headers(&r.headers) + r.body.len(),
            Err(message) => message.len(),
        }
    }
}

impl Output for Result<wit::CrmEventOutput, wit::AdapterError> {
    fn bytes(&self) -> usize {
        match self {
            Ok(out) => {
                let replies =
                    out.replies.iter().map(|r| r.text.len() + strings(r.origin.iter().chain(&r.author)));
                response(&out.response) + replies.sum::<usize>()
            }
            Err(e) => refusal(e),
        }
    }
}

/// Largest media step: a file cut from a kept request is no larger than the request.
const MAX_MEDIA_STEP_BYTES: usize = 16 << 20;

impl Output for wit::MediaStep {
    const CAP: usize = MAX_MEDIA_STEP_BYTES;
    fn bytes(&self) -> usize {
        match self {
            wit::MediaStep::Call(r) | wit::MediaStep::Download(r) => {
                r.method.len() + r.url.len() + headers(&r.headers) + r.body.len()
            }
            wit::MediaStep::File(f) => f.body.len() + strings(f.mime_type.iter().chain(&f.file_name)),
            wit::MediaStep::Retry(r) => r.error.len(),
            wit::MediaStep::Failed(message) => message.len(),
        }
    }
}

impl Output for wit::Manifest {}
impl Output for wit::ReplyOutcome {}
impl Output for Option<String> {}
impl Output for Result<wit::CrmRecord, wit::CrmError> {}
impl Output for Result<(), wit::CrmError> {}
