//! One webhook request through the pipeline: adapter → normaliser → filters → router →
//! stored appeal, with idempotency on (channel, platform id) and conversation threading.

use super::normalize;
use crate::appeal::{Appeal, Status};
use crate::inbound;
use crate::registry::{Pipeline, Stage};
use crate::runtime::convert;
use crate::runtime::{ChannelWorld, Runtime, wit};
use crate::store::{Claim, RawRequest, Store};
use anyhow::Result;
use std::sync::Arc;
use std::time::Instant;

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
    fn json(status: u16, value: serde_json::Value) -> Self {
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
            store.set_raw_outcome(&mut raw, "no active adapter".into())?;
            return Ok(Adapted::Answered(PlatformAnswer::json(
                404,
                serde_json::json!({"error": format!("unknown channel '{}'", raw.channel)}),
            )));
        };
        let request = request_of(&raw);
        let started = Instant::now();
        // A CRM connector's webhooks carry the CRM's replies and statuses.
        let crm = self.crm.as_ref().is_some_and(|crm| Arc::ptr_eq(crm, adapter));
        let output = match crm {
            true => runtime
                .handle_crm_event(&adapter.plugin, store.directory(), &request)
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
        let output = match output {
            Ok(Ok(Output::Events(output))) => output,
            Ok(Ok(Output::Crm(output))) => {
                return crm_event(store, &mut raw, adapter, output).map(Adapted::Answered);
            }
            Ok(Err(wit::AdapterError::Unauthorized(why))) => {
                tracing::warn!(channel = %raw.channel, raw = %raw.id, "refused: {why}");
                store.set_raw_outcome(&mut raw, format!("unauthorized: {why}"))?;
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
        let reply = PlatformAnswer {
            status: output.response.status,
            headers: output.response.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            body: output.response.body,
            appeals: Vec::new(),
        };
        Ok(Adapted::Events(
            Box::new(Intake {
                raw,
                adapter: adapter.label.clone(),
                events: output.events.into_iter().map(convert::event).collect(),
            }),
            reply,
        ))
    }

    /// The rest of the pipeline for what an adapter found: the appeals created or updated.
    ///
    /// # Errors
    /// Only on storage failure (then nothing may be acknowledged).
    pub fn process(&self, store: &Store, runtime: &Runtime, intake: Intake) -> Result<Vec<String>> {
        let Intake { mut raw, adapter, events } = intake;
        let mut appeals = Vec::new();
        let mut outcomes = Vec::new();
        for event in events {
            let (id, outcome) = self.event(store, runtime, &raw, &adapter, event)?;
            appeals.extend(id);
            outcomes.push(outcome);
        }
        store.set_raw_outcome(
            &mut raw,
            if outcomes.is_empty() { "no events".into() } else { outcomes.join("; ") },
        )?;
        Ok(appeals)
    }

    fn event(
        &self,
        store: &Store,
        runtime: &Runtime,
        raw: &RawRequest,
        adapter: &str,
        event: inbound::Event,
    ) -> Result<(Option<String>, String)> {
        match event {
            inbound::Event::NewAppeal(message) => self.message(store, runtime, raw, adapter, message, false),
            inbound::Event::FollowUp(message) => self.message(store, runtime, raw, adapter, message, true),
            inbound::Event::ReplyCommand(reply) => {
                let detail = format!(
                    "reply requested by {}: {}",
                    reply.author.as_deref().unwrap_or("unknown"),
                    reply.text
                );
                Ok(match annotate(store, &reply.appeal_id, "reply_requested", adapter, detail)? {
                    true => (Some(reply.appeal_id.clone()), format!("reply for {}", reply.appeal_id)),
                    false => (None, format!("reply for unknown appeal {}", reply.appeal_id)),
                })
            }
            inbound::Event::DeliveryStatus(status) => {
                crate::replies::delivery_status(store, &raw.channel, adapter, &status)
            }
        }
    }

    /// A message: a duplicate, a follow-up joining its conversation's open appeal, or a new
    /// appeal through filters and router.
    fn message(
        &self,
        store: &Store,
        runtime: &Runtime,
        raw: &RawRequest,
        adapter: &str,
        message: inbound::Message,
        follow_up: bool,
    ) -> Result<(Option<String>, String)> {
        if let Some(existing) = store.seen(&raw.channel, &message.platform_id)? {
            return Ok(duplicate(raw, &message.platform_id, existing));
        }
        let open = match follow_up {
            true => store
                .conversation(&raw.channel, &message.conversation_key)?
                .map(|id| store.appeal(&id))
                .transpose()?
                .flatten()
                .filter(|a| a.status.is_open()),
            false => None,
        };
        if let Some(open) = open {
            let detail = match message.attachments.len() {
                0 => message.text.clone(),
                n => format!("{} (+{n} attachments)", message.text),
            };
            let now = store.now_ms();
            let attachments = message.attachments.clone();
            let claim = Some((raw.channel.as_str(), message.platform_id.as_str()));
            let updated = store.update_appeal(&open.id, claim, |appeal| {
                appeal.record(now, "message", Some(adapter.to_string()), detail.clone());
                // A follow-up's files (a call recording, a second photo) belong to the appeal too.
                for file in &attachments {
                    if !appeal.attachments.iter().any(|known| known.reference == file.reference) {
                        appeal.attachments.push(file.clone());
                    }
                }
            })?;
            match updated {
                Some(Claim::Seen(existing)) => return Ok(duplicate(raw, &message.platform_id, existing)),
                Some(Claim::New) => {
                    if open.crm.is_some() {
                        store.queue_crm_note(
                            &open.id,
                            &crate::delivery::follow_up_note(&raw.channel, &detail),
                        )?;
                    }
                    tracing::info!(appeal = %open.id, channel = %raw.channel, "follow-up joined its appeal");
                    return Ok((Some(open.id.clone()), format!("follow-up to {}", open.id)));
                }
                None => {} // Gone meanwhile: open a new appeal.
            }
        }
        let id = store.appeal_id_for(&raw.channel, &message.platform_id)?;
        let mut appeal = self.new_appeal(runtime, store, raw, adapter, id, message);
        let to_crm = self.crm.is_some() && appeal.status == Status::Routed;
        if let Claim::Seen(existing) = store.insert_appeal(&mut appeal, to_crm)? {
            return Ok(duplicate(raw, &appeal.platform_id, existing));
        }
        crate::metrics::appeal_stored(&appeal.channel, appeal.status.name());
        crate::rollout::shadow::run(store, runtime, &self.shadows, &appeal)?;
        tracing::info!(
            appeal = %appeal.id,
            channel = %appeal.channel,
            status = ?appeal.status,
            queue = appeal.decision.as_ref().map(|d| d.queue.as_str()).unwrap_or("-"),
            "appeal stored"
        );
        Ok((Some(appeal.id.clone()), format!("appeal {}", appeal.id)))
    }

    fn new_appeal(
        &self,
        runtime: &Runtime,
        store: &Store,
        raw: &RawRequest,
        adapter: &str,
        id: String,
        message: inbound::Message,
    ) -> Appeal {
        let mut contact = message.contact;
        normalize::contact(&mut contact);
        let mut appeal = Appeal {
            id,
            channel: raw.channel.clone(),
            platform_id: message.platform_id,
            conversation_key: message.conversation_key,
            received_at: raw.received_at,
            sent_at: message.sent_at,
            contact,
            subject: message.subject,
            text: message.text,
            attachments: message.attachments,
            metadata: message.metadata,
            raw_request_id: raw.id.clone(),
            ..Appeal::default()
        };
        appeal.record(
            raw.received_at,
            "received",
            Some(adapter.to_string()),
            format!("raw request {}", raw.id),
        );
        self.decide(runtime, store, appeal)
    }

    /// Runs an appeal through the filter chain and the router: kept and routed, dropped, or in
    /// triage when a plugin failed.
    fn decide(&self, runtime: &Runtime, store: &Store, mut appeal: Appeal) -> Appeal {
        let directory = store.directory();
        for filter in &self.filters {
            let verdict = runtime.check(&filter.plugin, directory.clone(), &convert::to_wit(&appeal));
            self.health.record(&filter.label, verdict.as_ref().err().map(|e| e.to_string()).as_deref());
            match verdict {
                Ok(wit::Verdict::Keep) => {
                    appeal.record(store.now_ms(), "kept", Some(filter.label.clone()), "")
                }
                Ok(wit::Verdict::Tag(tags)) => {
                    appeal.record(store.now_ms(), "tagged", Some(filter.label.clone()), tags.join(", "));
                    appeal.tags.extend(tags);
                }
                Ok(wit::Verdict::Drop(reason)) => {
                    appeal.record(store.now_ms(), "dropped", Some(filter.label.clone()), reason);
                    appeal.status = Status::Dropped;
                    return appeal;
                }
                Err(failure) => return triage(appeal, &filter.label, failure.to_string(), store.now_ms()),
            }
        }
        let Some(router) = &self.router else {
            appeal.record(store.now_ms(), "unrouted", None, "no router is active");
            return appeal;
        };
        let decision = runtime.route(&router.plugin, directory.clone(), &convert::to_wit(&appeal));
        self.health.record(&router.label, decision.as_ref().err().map(|e| e.to_string()).as_deref());
        match decision {
            Ok(decision) => {
                appeal.tags.extend(decision.tags.iter().cloned());
                let decision = convert::decision(decision);
                appeal.record(
                    store.now_ms(),
                    "routed",
                    Some(router.label.clone()),
                    format!("queue {}: {}", decision.queue, decision.reason),
                );
                appeal.tags.extend(decision_tags(&decision));
                appeal.status = Status::Routed;
                appeal.decision = Some(decision);
                crate::work::sla::start(&mut appeal, &directory);
                appeal
            }
            Err(failure) => triage(appeal, &router.label, failure.to_string(), store.now_ms()),
        }
    }

    /// Keeps a request the adapter could not turn into events as a triage appeal.
    fn triage_raw(
        &self,
        store: &Store,
        raw: &mut RawRequest,
        adapter: &Stage<ChannelWorld>,
        error: String,
    ) -> Result<String> {
        let id = ulid::Ulid::new().to_string();
        let mut appeal = Appeal {
            id: id.clone(),
            channel: raw.channel.clone(),
            platform_id: format!("raw:{}", raw.id),
            conversation_key: format!("raw:{}", raw.id),
            received_at: raw.received_at,
            text: String::from_utf8_lossy(&raw.body[..raw.body.len().min(2000)]).into_owned(),
            raw_request_id: raw.id.clone(),
            ..Appeal::default()
        };
        appeal.record(raw.received_at, "received", None, format!("raw request {}", raw.id));
        let appeal = triage(appeal, &adapter.label, error.clone(), store.now_ms());
        store.put_appeal(&appeal)?;
        crate::metrics::appeal_stored(&appeal.channel, appeal.status.name());
        store.set_raw_outcome(raw, format!("triage {id}: {error}"))?;
        tracing::warn!(appeal = %id, channel = %raw.channel, "request kept in triage: {error}");
        Ok(id)
    }
}

/// What an adapter made of a request.
enum Output {
    /// A channel's events.
    Events(wit::AdapterOutput),
    /// A CRM connector's replies and status changes.
    Crm(wit::CrmOutput),
}

/// Applies a CRM webhook: replies are queued for the appeals' own channels, status changes
/// recorded.
fn crm_event(
    store: &Store,
    raw: &mut RawRequest,
    adapter: &Stage<ChannelWorld>,
    output: wit::CrmOutput,
) -> Result<PlatformAnswer> {
    let mut appeals = Vec::new();
    let mut outcomes = Vec::new();
    for reply in output.replies {
        let outcome =
            crate::replies::queue(store, &reply.appeal_id, &reply.text, reply.author, Some(&adapter.label));
        match outcome {
            Ok(queued) => outcomes.push(format!("reply {} for {}", queued.id, reply.appeal_id)),
            Err(crate::refusal::Refusal::Internal(e)) => return Err(e),
            Err(refused) => outcomes.push(format!("reply for {} refused: {refused}", reply.appeal_id)),
        }
        appeals.push(reply.appeal_id);
    }
    for change in output.status_changes {
        use crate::refusal::Refusal;
        use crate::work::actions::{Action, apply};
        let action = match change.status {
            wit::CrmStatus::InWork => Action::Take { employee: None },
            wit::CrmStatus::Paused => Action::Pause { reason: Some(change.detail.clone()) },
            wit::CrmStatus::Resolved => Action::Resolve,
            wit::CrmStatus::Reopened => Action::Reopen,
        };
        // The CRM repeats update events: an action the appeal's state refuses is a no-op.
        outcomes.push(match apply(store, &change.appeal_id, &action, Some(&adapter.label)) {
            Ok(appeal) => format!("{} {:?}", appeal.id, appeal.status),
            Err(Refusal::Internal(e)) => return Err(e),
            Err(refused) => format!("{} unchanged: {refused}", change.appeal_id),
        });
        appeals.push(change.appeal_id);
    }
    store.set_raw_outcome(raw, if outcomes.is_empty() { "no events".into() } else { outcomes.join("; ") })?;
    Ok(PlatformAnswer {
        status: output.response.status,
        headers: output.response.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        body: output.response.body,
        appeals,
    })
}

impl Pipeline {
    /// Runs an appeal that went to triage because a filter or the router failed through the
    /// current filters and router again (after a fix): the changed appeal, routed, dropped, or
    /// still in triage with the new error.
    ///
    /// # Errors
    /// [`Refusal::NotFound`](crate::refusal::Refusal::NotFound) for an unknown appeal;
    /// [`Refusal::Conflict`](crate::refusal::Refusal::Conflict) when it is not in
    /// triage. A triage appeal whose payload was never read has its kept raw request read again
    /// by the current adapter instead.
    pub fn reprocess(
        &self,
        store: &Store,
        runtime: &Runtime,
        id: &str,
    ) -> Result<Appeal, crate::refusal::Refusal> {
        use crate::refusal::Refusal;
        let appeal = store.appeal(id)?.ok_or_else(|| Refusal::NotFound(format!("no appeal {id}")))?;
        if appeal.status != Status::Triage {
            return Err(Refusal::Conflict(format!("appeal {id} is {}, not in triage", appeal.status.name())));
        }
        if appeal.platform_id.starts_with("raw:") {
            return self.reread(store, runtime, &appeal);
        }
        let mut fresh = appeal.clone();
        fresh.status = Status::New;
        fresh.error = None;
        fresh.decision = None;
        fresh.tags.clear();
        fresh.record(store.now_ms(), "reprocessed", None, "through the current filters and router");
        let decided = self.decide(runtime, store, fresh);
        let changed = store.change_appeal(id, |a| {
            a.status = decided.status;
            a.error = decided.error.clone();
            a.decision = decided.decision.clone();
            a.tags = decided.tags.clone();
            a.work = decided.work.clone();
            a.history.extend(decided.history[appeal.history.len()..].iter().cloned());
        })?;
        changed.ok_or_else(|| Refusal::NotFound(format!("no appeal {id}")))
    }
}

impl Pipeline {
    /// A triage appeal whose payload its adapter could not read: the kept raw request goes
    /// through the current adapter again. When it reads now, the request is ingested (its
    /// appeals appear as if just received) and the triage appeal is resolved, naming them;
    /// otherwise the triage appeal records the new failure and stays.
    fn reread(
        &self,
        store: &Store,
        runtime: &Runtime,
        appeal: &Appeal,
    ) -> Result<Appeal, crate::refusal::Refusal> {
        use crate::refusal::Refusal;
        let raw = store
            .raw(&appeal.raw_request_id)?
            .ok_or_else(|| Refusal::NotFound(format!("raw request {} is gone", appeal.raw_request_id)))?;
        let adapter = self
            .channels
            .get(&raw.channel)
            .ok_or_else(|| Refusal::Conflict(format!("no adapter is active for channel {}", raw.channel)))?;
        let now = store.now_ms();
        let (stage, detail) = match runtime.handle(&adapter.plugin, store.directory(), &request_of(&raw)) {
            Ok(Ok(_)) => {
                let reply = self.ingest(store, runtime, raw)?;
                (
                    "reprocessed",
                    format!("{} now reads it: appeals [{}]", adapter.label, reply.appeals.join(", ")),
                )
            }
            Ok(Err(wit::AdapterError::Malformed(why) | wit::AdapterError::Unauthorized(why))) => {
                ("reprocess_failed", format!("{} still refuses it: {why}", adapter.label))
            }
            Err(failure) => ("reprocess_failed", format!("{} failed: {failure}", adapter.label)),
        };
        let changed = store.change_appeal(&appeal.id, |a| {
            if stage == "reprocessed" {
                a.status = Status::Resolved;
            }
            a.record(now, stage, None, detail.clone());
        })?;
        changed.ok_or_else(|| Refusal::NotFound(format!("no appeal {}", appeal.id)))
    }
}

/// The WIT request of a stored raw request.
fn request_of(raw: &RawRequest) -> wit::HttpRequest {
    wit::HttpRequest {
        method: raw.method.clone(),
        path: raw.path.clone(),
        query: raw.query.clone(),
        headers: raw.headers.iter().map(|(n, v)| wit::Header { name: n.clone(), value: v.clone() }).collect(),
        body: raw.body.clone(),
    }
}

fn duplicate(raw: &RawRequest, platform_id: &str, existing: String) -> (Option<String>, String) {
    tracing::debug!(channel = %raw.channel, platform_id, appeal = %existing, "duplicate");
    (Some(existing.clone()), format!("duplicate of {existing}"))
}

fn decision_tags(decision: &crate::appeal::Decision) -> Vec<String> {
    let mut tags = Vec::new();
    if decision.priority != "normal" {
        tags.push(format!("priority:{}", decision.priority));
    }
    tags
}

fn triage(mut appeal: Appeal, plugin: &str, error: String, now: u64) -> Appeal {
    tracing::warn!(appeal = %appeal.id, plugin, "plugin call failed: {error}");
    appeal.record(now, "triage", Some(plugin.to_string()), error.clone());
    appeal.status = Status::Triage;
    appeal.error = Some(error);
    appeal
}

/// Adds a history event to an existing appeal; false when there is no such appeal.
fn annotate(store: &Store, appeal_id: &str, stage: &str, plugin: &str, detail: String) -> Result<bool> {
    let now = store.now_ms();
    let updated = store.update_appeal(appeal_id, None, |appeal| {
        appeal.record(now, stage, Some(plugin.to_string()), detail.clone());
    })?;
    Ok(updated.is_some())
}

#[cfg(test)]
mod tests {
    //! The decide step over real first-party and fixture plugins, in process.

    use super::*;
    use crate::clock::SystemClock;
    use crate::runtime::{AnyPlugin, Grants, Limits, World};

    fn load(runtime: &Runtime, label: &str, bytes: &[u8], world: World) -> AnyPlugin {
        let component = runtime.compile(label, bytes).unwrap();
        let grants = Grants {
            label: label.into(),
            kv: None,
            directory: true,
            config: "{}".into(),
            outbound_hosts: std::sync::Arc::new([]),
        };
        runtime.load(&component, world, grants).unwrap()
    }

    fn first_party(name: &str) -> &'static [u8] {
        clienthub_artifacts::FIRST_PARTY.iter().find(|(n, _)| *n == name).unwrap().1
    }

    /// A pipeline of contest-filter and `router`, a store and a runtime on a temp dir.
    fn pipeline(router: (&str, &[u8])) -> (tempfile::TempDir, Store, Arc<Runtime>, Pipeline) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let runtime =
            Runtime::new(&dir.path().join("compiled"), Limits::default(), Arc::new(SystemClock)).unwrap();
        let AnyPlugin::Filter(filter) =
            load(&runtime, "contest-filter@test", first_party("contest-filter"), World::Filter)
        else {
            panic!("contest-filter is a filter")
        };
        let AnyPlugin::Router(router_plugin) = load(&runtime, router.0, router.1, World::Router) else {
            panic!("{} is a router", router.0)
        };
        let pipeline = Pipeline {
            filters: vec![Arc::new(Stage { label: "contest-filter@test".into(), plugin: filter })],
            router: Some(Arc::new(Stage { label: router.0.into(), plugin: router_plugin })),
            ..Pipeline::default()
        };
        (dir, store, runtime, pipeline)
    }

    fn appeal(text: &str) -> Appeal {
        Appeal { id: "01TEST".into(), channel: "vk".into(), text: text.into(), ..Appeal::default() }
    }

    #[test]
    fn kept_appeals_are_routed_and_contest_noise_dropped() {
        let (_dir, store, runtime, pipeline) = pipeline(("rules-router@test", first_party("rules-router")));
        let routed = pipeline.decide(&runtime, &store, appeal("Где мой заказ?"));
        assert_eq!(routed.status, Status::Routed);
        assert_eq!(routed.decision.as_ref().unwrap().queue, "general");
        let stages: Vec<&str> = routed.history.iter().map(|e| e.stage.as_str()).collect();
        assert_eq!(stages, ["kept", "routed"]);

        let dropped = pipeline.decide(&runtime, &store, appeal("Участвую! #конкурс"));
        assert_eq!(dropped.status, Status::Dropped);
        assert!(dropped.decision.is_none(), "a dropped appeal never reaches the router");
        assert_eq!(dropped.history.last().unwrap().detail, "contest hashtag #конкурс");
    }

    #[test]
    fn a_failing_router_puts_the_appeal_in_triage_with_its_error() {
        let bytes = std::fs::read(clienthub_artifacts::fixtures::CHAOS_ROUTER).unwrap();
        let (_dir, store, runtime, pipeline) = pipeline(("chaos-router@test", &bytes));
        let failed = pipeline.decide(&runtime, &store, appeal("#trap"));
        assert_eq!(failed.status, Status::Triage);
        assert!(failed.error.as_deref().unwrap().contains("chaos-router traps"), "{:?}", failed.error);
        assert_eq!(failed.history.last().unwrap().plugin.as_deref(), Some("chaos-router@test"));
        let calm = pipeline.decide(&runtime, &store, appeal("calm"));
        assert_eq!(calm.status, Status::Routed);
    }
}
