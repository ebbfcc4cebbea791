//! `/metrics` in the Prometheus text format (`prometheus-client`): appeals taken in by channel
//! and status, plugin calls, errors and latency per `name@version`, outbox depths, open
//! appeals, SLA breaches, reply outcomes, the database's memory and its journal syncs, the
//! host's heap.
//! Counters are process-wide (since start); gauges are read from the store at each scrape.

use crate::appeal::Status;
use crate::store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Intake {
    channel: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outbox {
    outbox: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Breach {
    deadline: String,
    department: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Stored {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Channel {
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MemoryPart {
    part: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplyOutcome {
    channel: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoticeOutcome {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInOutcome {
    outcome: &'static str,
}

/// The metric families.
struct Metrics {
    sign_ins: Family<SignInOutcome, Counter>,
    registry: Registry,
    notices: Family<NoticeOutcome, Counter>,
    appeals: Family<Intake, Counter>,
    outbox: Family<Outbox, Gauge>,
    open: Gauge,
    breaches: Family<Breach, Counter>,
    replies: Family<ReplyOutcome, Counter>,
    ticks: Counter,
    refused: Family<Channel, Counter>,
    stored: Family<Stored, Gauge>,
    memory: Family<MemoryPart, Gauge>,
    syncs: Counter,
    sync_seconds: Counter<f64, AtomicU64>,
    heap: Family<MemoryPart, Gauge>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("clienthub");
    let appeals = Family::<Intake, Counter>::default();
    registry.register("appeals", "Appeals stored, by channel and status at intake", appeals.clone());
    let sign_ins = Family::<SignInOutcome, Counter>::default();
    registry.register(
        "sign_ins",
        "Password sign-ins, by outcome (passed, failed, locked, address_locked, busy, code_needed)",
        sign_ins.clone(),
    );
    crate::runtime::figures::register(&mut registry);
    crate::supervisor::register(&mut registry);
    let outbox = Family::<Outbox, Gauge>::default();
    registry.register("outbox_depth", "Items waiting in an outbox (replies, crm)", outbox.clone());
    let open = Gauge::default();
    registry.register("appeals_open", "Open appeals waiting for or held by an employee", open.clone());
    let breaches = Family::<Breach, Counter>::default();
    registry.register("sla_breaches", "Missed SLA deadlines, by deadline and department", breaches.clone());
    let replies = Family::<ReplyOutcome, Counter>::default();
    registry.register("replies", "Reply attempts, by channel and outcome", replies.clone());
    let notices = Family::<NoticeOutcome, Counter>::default();
    registry.register(
        "notices",
        "Notice attempts, by kind and outcome (sent, retry, given_up)",
        notices.clone(),
    );
    let ticks = Counter::default();
    registry.register("dispatcher_ticks", "Passes of the dispatcher over the open appeals", ticks.clone());
    let refused = Family::<Channel, Counter>::default();
    registry.register(
        "refused",
        "Webhook requests refused as unauthenticated, by channel (never stored)",
        refused.clone(),
    );
    let stored = Family::<Stored, Gauge>::default();
    registry.register(
        "appeals_stored",
        "Appeals stored now, by status (maintained counters)",
        stored.clone(),
    );
    let memory = Family::<MemoryPart, Gauge>::default();
    registry.register(
        "store_memory_bytes",
        "Memory the database holds, by part (block_cache, memtables)",
        memory.clone(),
    );
    let syncs = Counter::default();
    registry.register("store_syncs", "Journal syncs that made acknowledged writes durable", syncs.clone());
    let sync_seconds = Counter::<f64, AtomicU64>::default();
    registry.register("store_sync_seconds", "Time the journal syncs took in all", sync_seconds.clone());
    let heap = Family::<MemoryPart, Gauge>::default();
    registry.register(
        "process_heap_bytes",
        "The host's heap, by part (in_use: allocated; free: malloc's free chunks, pages a trim handed back included)",
        heap.clone(),
    );
    Metrics {
        sign_ins,
        registry,
        appeals,
        outbox,
        open,
        breaches,
        replies,
        ticks,
        notices,
        refused,
        stored,
        memory,
        syncs,
        sync_seconds,
        heap,
    }
});

/// An appeal stored with this status.
pub fn appeal_stored(channel: &str, status: &str) {
    METRICS.appeals.get_or_create(&Intake { channel: channel.into(), status: status.into() }).inc();
}

/// A missed SLA deadline.
pub fn sla_breach(deadline: &str, department: &str) {
    METRICS
        .breaches
        .get_or_create(&Breach { deadline: deadline.into(), department: department.into() })
        .inc();
}

/// A webhook request its channel refused as unauthenticated.
pub fn refused(channel: &str) {
    METRICS.refused.get_or_create(&Channel { channel: channel.into() }).inc();
}

/// One pass of the dispatcher (assignment, escalation, SLA) finished.
pub fn dispatcher_tick() {
    METRICS.ticks.inc();
}

/// A reply attempt's outcome (`sent`, `retry`, `failed`).
pub fn reply_attempt(channel: &str, outcome: &str) {
    METRICS.replies.get_or_create(&ReplyOutcome { channel: channel.into(), outcome: outcome.into() }).inc();
}

/// A password sign-in's outcome (`passed`, `failed`, `locked`, `address_locked`, `busy`,
/// `code_needed`).
pub fn sign_in(outcome: &'static str) {
    METRICS.sign_ins.get_or_create(&SignInOutcome { outcome }).inc();
}

/// A notice attempt's outcome (`sent`, `retry`, `given_up`) for an event of `kind`.
pub fn notice_attempt(kind: &str, outcome: &str) {
    METRICS.notices.get_or_create(&NoticeOutcome { kind: kind.into(), outcome: outcome.into() }).inc();
}

/// The text exposition, with the gauges read from `store` now.
///
/// # Errors
/// When the store cannot be read.
pub fn render(store: &Store) -> anyhow::Result<String> {
    let depth = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    METRICS
        .outbox
        .get_or_create(&Outbox { outbox: "replies".into() })
        .set(depth(store.queued_replies()?.len()));
    METRICS.outbox.get_or_create(&Outbox { outbox: "crm".into() }).set(depth(store.crm_queue_len()));
    let mut open = 0;
    for status in Status::ALL {
        let count = i64::try_from(store.status_count(status)).unwrap_or(i64::MAX);
        METRICS.stored.get_or_create(&Stored { status: status.name().into() }).set(count);
        // Routed (waiting or assigned), in work or paused: what the dispatcher watches.
        if status.is_open() && status != Status::New {
            open += count;
        }
    }
    METRICS.open.set(open);
    let (syncs, sync_time) = store.syncs();
    METRICS.syncs.inner().store(syncs, Ordering::Relaxed);
    METRICS.sync_seconds.inner().store(sync_time.as_secs_f64().to_bits(), Ordering::Relaxed);
    let gauge = |family: &Family<MemoryPart, Gauge>, part: &str, bytes: u64| {
        family.get_or_create(&MemoryPart { part: part.into() }).set(i64::try_from(bytes).unwrap_or(i64::MAX));
    };
    let (cache, memtables) = store.memory();
    gauge(&METRICS.memory, "block_cache", cache);
    gauge(&METRICS.memory, "memtables", memtables);
    if let Some((in_use, free)) = crate::memory::heap() {
        gauge(&METRICS.heap, "in_use", in_use);
        gauge(&METRICS.heap, "free", free);
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &METRICS.registry)?;
    Ok(text)
}
