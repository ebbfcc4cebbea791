//! The adapter's part of a webhook request: the channel's plugin verifies it and answers the
//! platform ([`PlatformAnswer`]); what it found becomes an [`Intake`] for the rest of the
//! pipeline, here or on another node. A CRM connector's webhook is applied here; a request the
//! adapter cannot read is kept as a triage appeal.

use super::decide::triage;
use crate::appeal::{Appeal, Status};
use crate::inbound;
use crate::registry::{Pipeline, Stage};
use crate::runtime::convert;
use crate::runtime::{ChannelWorld, Runtime, wit};
use crate::store::{RawRequest, Store};
use anyhow::Result;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The log line about refused requests, at most once a minute (a flood stays out of the log).
static REFUSED_LOG: std::sync::LazyLock<crate::throttle::Throttle> =
    std::sync::LazyLock::new(|| crate::throttle::Throttle::per(Duration::from_secs(60)));

/// What to answer the platform once the writes are committed.
#[derive(Debug)]
pub struct PlatformAnswer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// Appeals created or updated by the request.
    pub appeals: Vec<String>,
}

impl PlatformAnswer {
    pub(super) fn json(status: u16, value: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
            appeals: Vec::new(),
        }
    }
}

/// What an adapter made of a request, ready for the rest of the pipeline (filters, router,
/// storage) — here, or on another node of a cluster.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Intake {
    /// The request, as kept.
    #[serde(with = "raw_bytes")]
    pub raw: RawRequest,
    /// The adapter that read it (`telegram@0.1.0`).
    pub adapter: String,
    /// What it found.
    pub events: Vec<inbound::Event>,
}

/// A raw request inside an intake, in its own encoding (a body is not blown up as JSON).
mod raw_bytes {
    use crate::store::RawRequest;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(raw: &RawRequest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&raw.encode())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RawRequest, D::Error> {
        let bytes = <Vec<u8>>::deserialize(d)?;
        RawRequest::decode(&bytes).map_err(serde::de::Error::custom)
    }
}

/// The adapter's part of a request.
pub enum Adapted {
    /// Nothing more to do: refused, kept in triage, a CRM event applied, no adapter.
    Answered(PlatformAnswer),
    /// Events for the rest of the pipeline, and the platform's answer once they are durable.
    Events(Box<Intake>, PlatformAnswer),
}

impl Pipeline {
    /// Runs a stored raw request through the pipeline. The caller must commit before
    /// answering. Plugin failures never make this fail: they put the appeal in triage.
    ///
    /// # Errors
    /// Only on storage failure (then nothing may be acknowledged).
    pub fn ingest(&self, store: &Store, runtime: &Runtime, raw: RawRequest) -> Result<PlatformAnswer> {
        match self.adapt(store, runtime, raw)? {
            Adapted::Answered(reply) => Ok(reply),
            Adapted::Events(intake, reply) => {
                Ok(PlatformAnswer { appeals: self.process(store, runtime, *intake)?, ..reply })
            }
        }
    }

    /// The adapter's part: verification, the platform's answer and the events.
    ///
    /// # Errors
    /// Only on storage failure.
    pub fn adapt(&self, store: &Store, runtime: &Runtime, mut raw: RawRequest) -> Result<Adapted> {
        let Some(adapter) = self.channels.get(&raw.channel) else {
            // Nothing verified it: not kept.
            return Ok(Adapted::Answered(PlatformAnswer::json(
                404,
                serde_json::json!({"error": format!("unknown channel '{}'", raw.channel)}),
            )));
        };
        let request = convert::request_of(&raw);
        let started = Instant::now();
        // A CRM connector's webhooks carry the CRM's replies and statuses.
        let crm = self.crm.as_ref().is_some_and(|crm| Arc::ptr_eq(crm, adapter));
        let output = match crm {
            true => runtime
                .read_crm_event(&adapter.plugin, store.directory(), &request)
                .map(|r| r.map(Output::Crm)),
            false => {
                runtime.handle(&adapter.plugin, store.directory(), &request).map(|r| r.map(Output::Events))
            }
        };
        tracing::trace!(plugin = %adapter.label, elapsed_us = started.elapsed().as_micros() as u64, "adapter");
        self.health.record(&adapter.label, output.as_ref().err().map(|e| e.to_string()).as_deref());
        let triaged = |id: String| {
            Adapted::Answered(PlatformAnswer {
                appeals: vec![id],
                ..PlatformAnswer::json(200, serde_json::json!({"ok": true}))
            })
        };
        // Only a POST carries appeals; another method is a platform's handshake (WhatsApp's
        // subscription check, Zadarma's echo), answered when the adapter verified it and made
        // no events of it, and otherwise refused with nothing kept.
        let handshake = raw.method != "POST";
        let output = match output {
            Ok(Ok(Output::Events(output))) if handshake && !output.events.is_empty() => {
                return Ok(Adapted::Answered(not_allowed()));
            }
            Ok(Ok(Output::Events(output))) if handshake => {
                return Ok(Adapted::Answered(answer_of(output.response)));
            }
            Ok(Ok(_)) | Ok(Err(wit::AdapterError::Malformed(_))) | Err(_) if handshake => {
                return Ok(Adapted::Answered(not_allowed()));
            }
            Ok(Ok(Output::Events(output))) => output,
            Ok(Ok(Output::Crm(output))) => {
                return crm_event(store, &mut raw, adapter, output).map(Adapted::Answered);
            }
            Ok(Err(wit::AdapterError::Unauthorized(why))) => {
                // Refused before anything reaches disk: counted, and logged at most once a minute.
                crate::metrics::refused(&raw.channel);
                if REFUSED_LOG.allows() {
                    tracing::warn!(channel = %raw.channel, "refused (this line at most once a minute): {why}");
                }
                return Ok(Adapted::Answered(PlatformAnswer::json(401, serde_json::json!({"error": why}))));
            }
            Ok(Err(wit::AdapterError::Malformed(why))) => {
                return self
                    .triage_raw(store, &mut raw, adapter, format!("malformed payload: {why}"))
                    .map(triaged);
            }
            Err(failure) => {
                let error = format!("{} failed: {failure}", adapter.label);
                return self.triage_raw(store, &mut raw, adapter, error).map(triaged);
            }
        };
        let reply = answer_of(output.response);
        Ok(Adapted::Events(
            Box::new(Intake {
                raw,
                adapter: adapter.label.clone(),
                events: output.events.into_iter().map(convert::event).collect(),
            }),
            reply,
        ))
    }

    /// Keeps a request the adapter could not turn into events as a triage appeal.
    fn triage_raw(
        &self,
        store: &Store,
        raw: &mut RawRequest,
        adapter: &Stage<ChannelWorld>,
        error: String,
    ) -> Result<String> {
        let id = store.fresh_id();
        let mut appeal = Appeal {
            id: id.clone(),
            channel: raw.channel.clone(),
            platform_id: format!("raw:{}", raw.id),
            conversation_key: format!("raw:{}", raw.id),
            received_at: raw.received_at,
            text: super::redact::body_text(raw, 2000),
            raw_request_id: raw.id.clone(),
            ..Appeal::default()
        };
        appeal.record(raw.received_at, None, crate::event::Event::Received { raw_request: raw.id.clone() });
        let appeal = triage(appeal, &adapter.label, error.clone(), store.now_ms());
        store.put_appeal(&appeal)?;
        crate::metrics::appeal_stored(&appeal.channel, appeal.status.name());
        store.keep_raw(raw, format!("triage {id}: {error}"))?;
        tracing::warn!(appeal = %id, channel = %raw.channel, "request kept in triage: {error}");
        Ok(id)
    }
}

/// The adapter's answer to the platform, as it is.
fn answer_of(response: wit::HttpResponse) -> PlatformAnswer {
    PlatformAnswer {
        status: response.status,
        headers: response.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        body: response.body,
        appeals: Vec::new(),
    }
}

/// 405 to a request in another method than POST that is no handshake the adapter knows.
fn not_allowed() -> PlatformAnswer {
    let mut answer = PlatformAnswer::json(
        405,
        serde_json::json!({"error": "this hook takes appeals by POST only", "code": "method_not_allowed"}),
    );
    answer.headers.push(("allow".into(), "POST".into()));
    answer
}

/// What an adapter made of a request.
enum Output {
    /// A channel's events.
    Events(wit::AdapterOutput),
    /// A CRM connector's replies and status changes.
    Crm(wit::CrmEventOutput),
}

/// Applies a CRM webhook: replies are queued for the appeals' own channels, status changes
/// recorded.
fn crm_event(
    store: &Store,
    raw: &mut RawRequest,
    adapter: &Stage<ChannelWorld>,
    output: wit::CrmEventOutput,
) -> Result<PlatformAnswer> {
    let mut appeals = Vec::new();
    let mut outcomes = Vec::new();
    for reply in output.replies {
        let (id, text, author) = (&reply.appeal_id, &reply.text, reply.author.clone());
        let outcome = match &reply.origin {
            Some(origin) => crate::replies::queue_from_crm(store, id, text, author, &adapter.label, origin),
            None => {
                let writer = crate::replies::Writer {
                    name: author,
                    actor: Some(crate::event::Actor::Plugin(adapter.label.clone())),
                };
                crate::replies::queue(store, id, text, writer, Some(&adapter.label)).map(Some)
            }
        };
        match outcome {
            Ok(Some(queued)) => outcomes.push(format!("reply {} for {}", queued.id, reply.appeal_id)),
            Ok(None) => {
                outcomes.push(format!("reply for {} sent before (a repeated event)", reply.appeal_id))
            }
            Err(crate::refusal::Refusal::Internal(e)) => return Err(e),
            Err(refused) => outcomes.push(format!("reply for {} refused: {refused}", reply.appeal_id)),
        }
        appeals.push(reply.appeal_id);
    }
    for change in output.status_changes {
        use crate::refusal::Refusal;
        use crate::work::actions::{Action, apply_for_plugin};
        let (action, already) = match change.status {
            wit::CrmStatus::InWork => (Action::Take { employee: None }, Status::InWork),
            wit::CrmStatus::Paused => (Action::Pause { reason: Some(change.detail.clone()) }, Status::Paused),
            wit::CrmStatus::Resolved => (Action::Resolve, Status::Resolved),
            wit::CrmStatus::Reopened => (Action::Reopen, Status::Routed),
        };
        // The CRM tells of every change of the record, ClientHub's own included (the stage it
        // set): an appeal already in that state is left alone, so nothing echoes back and forth.
        if store.appeal(&change.appeal_id)?.is_some_and(|a| a.status == already) {
            outcomes.push(format!("{} already {:?}", change.appeal_id, already));
            appeals.push(change.appeal_id);
            continue;
        }
        // The CRM repeats update events: an action the appeal's state refuses is a no-op.
        outcomes.push(match apply_for_plugin(store, &change.appeal_id, &action, &adapter.label) {
            Ok(appeal) => format!("{} {:?}", appeal.id, appeal.status),
            Err(Refusal::Internal(e)) => return Err(e),
            Err(refused) => format!("{} unchanged: {refused}", change.appeal_id),
        });
        appeals.push(change.appeal_id);
    }
    store.keep_raw(raw, if outcomes.is_empty() { "no events".into() } else { outcomes.join("; ") })?;
    Ok(PlatformAnswer {
        status: output.response.status,
        headers: output.response.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        body: output.response.body,
        appeals,
    })
}
