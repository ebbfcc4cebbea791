//! Replies to customers: the durable outbox and the sender that empties it.
//!
//! An operator's reply is stored on its appeal as `queued` and put in the outbox in the same
//! transaction ([`Store::change_appeal`]), so it survives a restart. The sender takes each due
//! reply, has the appeal's channel adapter render the platform call (`reply-renderer`), checks
//! the call's host against the plugin's outbound hosts, performs it ([`Runtime::send_reply`](crate::runtime::Runtime::send_reply)), has the
//! adapter read the answer, and records the outcome in the appeal's history: sent (with the
//! platform's message id, which later delivery statuses refer to), retried after the
//! platform's back-off or an exponential one, or failed with the platform's error. A failed
//! reply stays on the appeal and can be queued again; nothing is dropped silently.
//!
//! Delivery is at least once: a crash between the platform's answer and its record sends the
//! reply again on restart (platforms that take an idempotency key get one from the reply id).

pub mod templates;

use crate::appeal::{Appeal, Reply, ReplyState};
use crate::event::{Actor, Event};
use crate::refusal::Refusal;
use crate::registry::Registry;
use crate::runtime::outbound::OutboundError;
use crate::runtime::wit;
use crate::runtime::{SendError, convert};
use crate::store::Store;
use crate::supervisor::{Rest, Role, Round, Supervisor};
use anyhow::Result;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Whether a reply to `appeal` can go out through its channel: its adapter renders one (a
/// dry run: nothing is sent); why not otherwise (no adapter, an adapter that sends no replies,
/// a platform that cannot be answered or is not configured for it).
///
/// # Errors
/// Why no reply can go, in the adapter's or the host's words.
pub fn answerable(registry: &Registry, store: &Store, appeal: &Appeal) -> Result<(), String> {
    let pipeline = registry.pipeline();
    let Some(stage) = pipeline.channels.get(&appeal.channel) else {
        return Err(format!("the {} channel has no active adapter", appeal.channel));
    };
    let probe = wit::OutboundReply { id: "probe".into(), text: "…".into(), author: None };
    registry
        .runtime()
        .render_reply(&stage.plugin, store.directory(), &convert::to_wit(appeal), &probe)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// How the sender backs off.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Wait after the first temporary refusal that names no wait; doubled each time.
    pub first_backoff: Duration,
    /// Longest wait between attempts (also caps a platform's `retry after`).
    pub max_backoff: Duration,
    /// Calls before a reply is given up as failed.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            max_attempts: 10,
        }
    }
}

/// Longest reply text accepted (platforms cut lower: Telegram 4,096, WhatsApp 4,096).
pub const MAX_REPLY_CHARS: usize = 16_384;

/// How often the sender looks at the outbox when nothing wakes it.
const POLL: Duration = Duration::from_millis(250);

/// The outbox and its sender.
pub struct Outbox {
    store: Store,
    registry: Arc<Registry>,
    policy: RetryPolicy,
    wake: Arc<tokio::sync::Notify>,
    in_flight: Mutex<HashSet<String>>,
}

/// What one attempt came to.
enum Attempt {
    Sent(Option<String>),
    Retry { after: Option<Duration>, error: String },
    Failed(String),
}

impl Outbox {
    /// An outbox over `store`, sending through the channel adapters of `registry`.
    pub fn new(store: Store, registry: Arc<Registry>, policy: RetryPolicy) -> Arc<Self> {
        Arc::new(Self {
            store,
            registry,
            policy,
            wake: Arc::new(tokio::sync::Notify::new()),
            in_flight: Mutex::new(HashSet::new()),
        })
    }

    /// Stores a reply to `appeal_id` and queues it; the caller commits before answering.
    ///
    /// # Errors
    /// As [`queue`].
    pub fn queue(&self, appeal_id: &str, text: &str, author: Writer) -> Result<Reply, Refusal> {
        let reply = queue(&self.store, appeal_id, text, author, None)?;
        self.wake.notify_one();
        Ok(reply)
    }

    /// Queues a failed reply again, with a fresh count of attempts.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown appeal or reply, [`Refusal::Conflict`] when
    /// the reply has not failed.
    pub fn requeue(&self, appeal_id: &str, reply_id: &str, by: &Actor) -> Result<Reply, Refusal> {
        let now = self.store.now_ms();
        let appeal = self
            .store
            .change_appeal(appeal_id, |appeal| {
                if let Some(reply) = appeal.reply_mut(reply_id)
                    && reply.state == ReplyState::Failed
                {
                    reply.state = ReplyState::Queued;
                    reply.attempts = 0;
                    reply.next_attempt_at = None;
                    reply.updated_at = now;
                    let again =
                        Event::ReplyQueued { reply: reply_id.to_string(), by: Some(by.clone()), again: true };
                    appeal.record(now, None, again);
                }
            })?
            .ok_or_else(|| Refusal::NotFound(format!("no appeal {appeal_id}")))?;
        let reply = appeal
            .replies
            .into_iter()
            .find(|r| r.id == reply_id)
            .ok_or_else(|| Refusal::NotFound(format!("appeal {appeal_id} has no reply {reply_id}")))?;
        if !reply.is_queued() || reply.updated_at != now {
            return Err(Refusal::Conflict(format!(
                "reply {reply_id} is {}; only a failed reply can be queued again",
                reply.state.name()
            )));
        }
        self.wake.notify_one();
        Ok(reply)
    }

    /// Starts the sender under `workers`.
    pub fn spawn(self: &Arc<Self>, workers: &Supervisor) {
        let outbox = self.clone();
        let wake = Some(self.wake.clone());
        workers.every("replies", Role::EveryNode, Rest::Fixed(POLL), wake, move || {
            let outbox = outbox.clone();
            async move { outbox.send_due().map(|()| Round::Rest) }
        });
    }

    /// Starts an attempt for every due reply not already being sent.
    fn send_due(self: &Arc<Self>) -> Result<()> {
        let now = self.store.now_ms();
        for (reply_id, appeal_id) in self.store.queued_replies()? {
            if self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).contains(&reply_id) {
                continue;
            }
            let Some(appeal) = self.store.appeal(&appeal_id)? else { continue };
            let due = appeal
                .replies
                .iter()
                .any(|r| r.id == reply_id && r.is_queued() && r.next_attempt_at.is_none_or(|at| at <= now));
            if !due {
                continue;
            }
            self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).insert(reply_id.clone());
            let outbox = self.clone();
            tokio::spawn(async move {
                if let Err(e) = outbox.attempt(appeal, &reply_id).await {
                    tracing::error!(reply = %reply_id, "recording a reply attempt failed: {e:#}");
                }
                outbox.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&reply_id);
                outbox.wake.notify_one();
            });
        }
        Ok(())
    }

    /// One call to the platform for one reply, and its record.
    async fn attempt(&self, appeal: Appeal, reply_id: &str) -> Result<()> {
        let Some(reply) = appeal.replies.iter().find(|r| r.id == reply_id).cloned() else {
            return Ok(());
        };
        let (plugin, attempt) = self.deliver(&appeal, &reply).await;
        let now = self.store.now_ms();
        let policy = self.policy;
        self.store
            .change_appeal(&appeal.id, |appeal| record(appeal, reply_id, &plugin, &attempt, policy, now))?;
        self.store.commit().await
    }

    /// Renders, checks, sends and reads one reply call; the plugin's label and the outcome.
    async fn deliver(&self, appeal: &Appeal, reply: &Reply) -> (Option<String>, Attempt) {
        let pipeline = self.registry.pipeline();
        let Some(stage) = pipeline.channels.get(&appeal.channel).cloned() else {
            return (None, Attempt::Failed(format!("the {} channel has no active adapter", appeal.channel)));
        };
        let label = Some(stage.label.clone());
        let runtime = self.registry.runtime().clone();
        let directory = self.store.directory();
        let wit_appeal = convert::to_wit(appeal);
        let wit_reply = wit::OutboundReply {
            id: reply.id.clone(),
            text: reply.text.clone(),
            author: reply.author.clone(),
        };
        let answer = match runtime.send_reply(&stage.plugin, directory.clone(), &wit_appeal, &wit_reply).await
        {
            Ok(answer) => answer,
            Err(e @ SendError::Outbound(OutboundError::Unreachable { .. })) => {
                return (label, Attempt::Retry { after: None, error: e.to_string() });
            }
            Err(e) => return (label, Attempt::Failed(e.to_string())),
        };
        let read = tokio::task::spawn_blocking(move || {
            runtime.read_reply_answer(&stage.plugin, directory, &wit_appeal, &wit_reply, &answer)
        })
        .await;
        let attempt = match read {
            Ok(Ok(wit::ReplyOutcome::Sent(id))) => Attempt::Sent(id),
            Ok(Ok(wit::ReplyOutcome::Retry(later))) => {
                Attempt::Retry { after: later.after_ms.map(Duration::from_millis), error: later.error }
            }
            Ok(Ok(wit::ReplyOutcome::Failed(error))) => Attempt::Failed(error),
            Ok(Err(e)) => Attempt::Failed(format!("reading the platform's answer failed: {e}")),
            Err(e) => Attempt::Failed(format!("reading the platform's answer failed: {e}")),
        };
        (label, attempt)
    }
}

/// Stores a reply to `appeal_id` and queues it (the sender picks it up within its poll
/// interval); `via` names the plugin it came through (a CRM connector), if any. The caller
/// commits.
///
/// # Errors
/// [`Refusal::NotFound`] for an unknown appeal, [`Refusal::Invalid`] for an empty or
/// oversized text.
pub fn queue(
    store: &Store,
    appeal_id: &str,
    text: &str,
    author: Writer,
    via: Option<&str>,
) -> Result<Reply, Refusal> {
    let (reply, add) = new_reply(store, text, author, via)?;
    store
        .change_appeal(appeal_id, add)?
        .ok_or_else(|| Refusal::NotFound(format!("no appeal {appeal_id}")))?;
    Ok(reply)
}

/// As [`queue`] for a reply written in the CRM at `origin` (an Open Lines message): once per
/// origin and appeal, whatever the CRM sends again; `None` when it came before.
///
/// # Errors
/// As [`queue`].
pub fn queue_from_crm(
    store: &Store,
    appeal_id: &str,
    text: &str,
    author: Option<String>,
    via: &str,
    origin: &str,
) -> Result<Option<Reply>, Refusal> {
    let writer = Writer { name: author, actor: Some(Actor::Plugin(via.to_string())) };
    let (reply, add) = new_reply(store, text, writer, Some(via))?;
    match store.add_crm_reply(appeal_id, origin, add)? {
        None => Ok(None),
        Some(None) => Err(Refusal::NotFound(format!("no appeal {appeal_id}"))),
        Some(Some(_)) => Ok(Some(reply)),
    }
}

/// Who writes a reply: the name the reply shows, and who that is in the appeal's history.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    /// As the reply shows it (`Ольга (olga)`, a CRM user's name).
    pub name: Option<String>,
    /// Who, for the history.
    pub actor: Option<Actor>,
}

/// A new queued reply, and the change that adds it to its appeal.
fn new_reply(
    store: &Store,
    text: &str,
    author: Writer,
    via: Option<&str>,
) -> Result<(Reply, impl Fn(&mut Appeal)), Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Refusal::Invalid("the reply text is empty".into()));
    }
    if text.chars().count() > MAX_REPLY_CHARS {
        return Err(Refusal::Invalid(format!("the reply is longer than {MAX_REPLY_CHARS} characters")));
    }
    let now = store.now_ms();
    let reply = Reply {
        id: ulid::Ulid::new().to_string(),
        text: text.to_string(),
        author: author.name,
        created_at: now,
        updated_at: now,
        ..Reply::default()
    };
    let (queued, via, by) = (reply.clone(), via.map(str::to_string), author.actor);
    let add = move |appeal: &mut Appeal| {
        appeal.record(
            now,
            via.clone(),
            Event::ReplyQueued { reply: queued.id.clone(), by: by.clone(), again: false },
        );
        appeal.replies.push(queued.clone());
        appeal.work.first_reply_at.get_or_insert(now);
    };
    Ok((reply, add))
}

/// Applies an attempt's outcome to the reply and the appeal's history.
fn record(
    appeal: &mut Appeal,
    reply_id: &str,
    plugin: &Option<String>,
    attempt: &Attempt,
    policy: RetryPolicy,
    now: u64,
) {
    let Some(reply) = appeal.reply_mut(reply_id) else { return };
    if !reply.is_queued() {
        return;
    }
    reply.attempts += 1;
    reply.updated_at = now;
    let n = reply.attempts;
    let reply_id = reply_id.to_string();
    let event = match attempt {
        Attempt::Sent(id) => {
            reply.state = ReplyState::Sent;
            reply.platform_message_id = id.clone();
            reply.error = None;
            reply.next_attempt_at = None;
            Event::ReplySent { reply: reply_id, message: id.clone(), attempt: n }
        }
        Attempt::Retry { after, error } if n < policy.max_attempts => {
            let backoff = policy.first_backoff.saturating_mul(1 << (n - 1).min(20));
            let wait = after.unwrap_or(backoff).min(policy.max_backoff);
            reply.next_attempt_at = Some(now + wait.as_millis() as u64);
            reply.error = Some(error.clone());
            let next_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            Event::ReplyRetry { reply: reply_id, attempt: n, error: error.clone(), next_in_ms }
        }
        Attempt::Retry { error, .. } => {
            reply.state = ReplyState::Failed;
            reply.next_attempt_at = None;
            reply.error = Some(format!("gave up after {n} attempts: {error}"));
            Event::ReplyFailed { reply: reply_id, attempt: n, error: error.clone(), gave_up: true }
        }
        Attempt::Failed(error) => {
            reply.state = ReplyState::Failed;
            reply.next_attempt_at = None;
            reply.error = Some(error.clone());
            Event::ReplyFailed { reply: reply_id, attempt: n, error: error.clone(), gave_up: false }
        }
    };
    let words = crate::text::render(&event, crate::text::Lang::En, &crate::text::NoNames);
    tracing::info!(appeal = %appeal.id, reply = event.reply().unwrap_or_default(), "{words}");
    crate::metrics::reply_attempt(&appeal.channel, event.stage().trim_start_matches("reply_"));
    appeal.record(now, plugin.clone(), event);
}

/// Applies a platform's delivery status to the reply it names: states only move forward
/// (sent → delivered → read); `failed` records the platform's reason. The outcome for the raw
/// request's record.
///
/// # Errors
/// On storage failure.
pub fn delivery_status(
    store: &Store,
    channel: &str,
    plugin: &str,
    status: &crate::inbound::DeliveryStatus,
) -> Result<(Option<String>, String)> {
    let message = &status.platform_message_id;
    let state = status.state;
    let Some((appeal_id, reply_id)) = store.reply_by_message(channel, message)? else {
        tracing::info!(channel, message = %message, ?state, "delivery status for a message ClientHub did not send");
        return Ok((None, format!("delivery status {} for unknown message {message}", state.name())));
    };
    let now = store.now_ms();
    store.change_appeal(&appeal_id, |appeal| {
        let Some(reply) = appeal.reply_mut(&reply_id) else { return };
        if state <= reply.state {
            return;
        }
        reply.state = state;
        reply.updated_at = now;
        if state == ReplyState::Failed {
            reply.error =
                Some(status.detail.clone().unwrap_or_else(|| "the platform reports it failed".into()));
        }
        let event = Event::DeliveryStatus { reply: reply_id.clone(), state, detail: status.detail.clone() };
        appeal.record(now, Some(plugin.to_string()), event);
    })?;
    Ok((
        Some(appeal_id.clone()),
        format!("delivery status {} for reply {reply_id} of {appeal_id}", state.name()),
    ))
}
