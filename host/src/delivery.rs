//! Delivery of routed appeals to the CRM: the durable CRM outbox and the worker that empties
//! it through the active CRM connector (`crm-connector.deliver`).
//!
//! An appeal enters the outbox in the same transaction that stores it (when a CRM connector
//! is active and the appeal is routed), so nothing routed is ever missed, and leaves it in the
//! transaction that records its CRM link. The worker delivers one appeal at a time, oldest
//! first. When the CRM is down or rate-limits (`retry`, Bitrix24's `QUERY_LIMIT_EXCEEDED`),
//! the whole queue waits — the platform's wait when it names one, else 1 s doubling up to a
//! minute — and nothing is dropped: after an hour's outage everything is delivered. A refusal
//! (`failed`: a bad field, expired credentials) keeps the appeal queued, visible with its error,
//! and tried again every ten minutes. Exactly once in the CRM rests on the connector looking
//! the appeal up by its id before creating it, so a crash between the CRM's answer and the
//! record does not make a second deal. The conversation before delivery and every later
//! message of the customer follow as notes on the record's timeline (`add-note`), from a second
//! queue emptied after the appeals.

use crate::appeal::{Appeal, CrmLink};
use crate::registry::Registry;
use crate::registry::Stage;
use crate::runtime::convert;
use crate::runtime::{ChannelWorld, wit};
use crate::store::Store;
use anyhow::Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the worker looks at the outbox.
const POLL: Duration = Duration::from_millis(250);
/// First wait after the CRM asks to retry without naming a wait; doubled up to [`MAX_HOLD`].
const FIRST_HOLD: Duration = Duration::from_secs(1);
/// Longest wait while the CRM is unavailable.
const MAX_HOLD: Duration = Duration::from_secs(60);
/// Wait before trying an appeal the CRM refused again.
const REFUSED_WAIT: Duration = Duration::from_secs(600);

/// The CRM outbox worker.
pub struct CrmDelivery {
    store: Store,
    registry: Arc<Registry>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The whole queue waits until then (ms), after a `retry`.
    hold_until: u64,
    /// Consecutive `retry` answers.
    unavailable: u32,
    /// Appeals the CRM refused: when to try each again, and the error last recorded.
    refused: HashMap<String, (u64, String)>,
}

impl CrmDelivery {
    /// A worker over `store`, delivering through the registry's active CRM connector.
    pub fn new(store: Store, registry: Arc<Registry>) -> Arc<Self> {
        Arc::new(Self { store, registry, state: Mutex::new(State::default()) })
    }

    /// Starts the worker; it runs until the runtime stops.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let worker = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = worker.deliver_due().await {
                    tracing::error!("delivering to the CRM failed: {e:#}");
                }
                tokio::time::sleep(POLL).await;
            }
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers the queued appeals in order, then the queued notes, until the CRM asks to wait.
    async fn deliver_due(&self) -> Result<()> {
        let Some(crm) = self.registry.pipeline().crm.clone() else {
            return Ok(());
        };
        if self.deliver_appeals(&crm).await? {
            self.deliver_notes(&crm).await?;
        }
        Ok(())
    }

    /// The queued notes, in order; a note whose appeal has no CRM record yet waits for it.
    async fn deliver_notes(&self, crm: &Arc<Stage<ChannelWorld>>) -> Result<()> {
        for (key, appeal_id, text) in self.store.crm_notes()? {
            if self.state().hold_until > self.store.now_ms() {
                return Ok(());
            }
            let Some(appeal) = self.store.appeal(&appeal_id)? else {
                self.store.crm_note_sent(&key)?;
                continue;
            };
            let Some(link) = appeal.crm.clone() else { continue };
            let record = wit::CrmRecord { entity: link.entity, id: link.id, url: link.url };
            let (runtime, stage, wit_appeal) =
                (self.registry.runtime().clone(), crm.clone(), convert::to_wit(&appeal));
            let outcome = tokio::task::spawn_blocking(move || {
                runtime.add_note(&stage.plugin, &record, &wit_appeal, &text)
            })
            .await?;
            let now = self.store.now_ms();
            match outcome {
                Ok(Ok(())) => {
                    self.store.crm_note_sent(&key)?;
                    self.state().unavailable = 0;
                }
                Ok(Err(wit::CrmError::Retry(later))) => {
                    self.hold(later.after_ms, now);
                    return Ok(());
                }
                Ok(Err(wit::CrmError::Failed(error))) => {
                    // The record refuses notes (deleted, say): recorded, and the note given up.
                    self.record(
                        &appeal.id,
                        now,
                        "crm_failed",
                        Some(crm.label.clone()),
                        format!("a note was refused: {error}"),
                    )?;
                    self.store.crm_note_sent(&key)?;
                }
                Err(failure) => {
                    self.record(
                        &appeal.id,
                        now,
                        "crm_failed",
                        Some(crm.label.clone()),
                        format!("a note failed: {failure}"),
                    )?;
                    self.store.crm_note_sent(&key)?;
                }
            }
        }
        Ok(())
    }

    /// The queue waits: the CRM's wait when it names one, else 1 s doubling up to a minute.
    fn hold(&self, after_ms: Option<u64>, now: u64) -> Duration {
        let mut state = self.state();
        state.unavailable += 1;
        let backoff = FIRST_HOLD.saturating_mul(1 << (state.unavailable - 1).min(10)).min(MAX_HOLD);
        let wait = after_ms.map(Duration::from_millis).unwrap_or(backoff);
        state.hold_until = now + wait.as_millis() as u64;
        wait
    }

    /// Delivers the queued appeals in order; false when the CRM asked the queue to wait.
    async fn deliver_appeals(&self, crm: &Arc<Stage<ChannelWorld>>) -> Result<bool> {
        for appeal_id in self.store.crm_queue()? {
            let now = self.store.now_ms();
            if self.state().hold_until > now {
                return Ok(false);
            }
            if self.state().refused.get(&appeal_id).is_some_and(|(at, _)| *at > now) {
                continue;
            }
            let Some(appeal) = self.store.appeal(&appeal_id)? else {
                self.store.crm_delivered(&appeal_id, |_| {}, |_| None)?;
                continue;
            };
            if !self.deliver(crm, appeal).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One delivery; false when the CRM asked the queue to wait.
    async fn deliver(&self, crm: &Arc<Stage<ChannelWorld>>, appeal: Appeal) -> Result<bool> {
        let runtime = self.registry.runtime().clone();
        let directory = self.store.directory();
        let assignee = assignee(&appeal, &directory);
        let mut wit_appeal = convert::to_wit(&appeal);
        wit_appeal.metadata.extend(route_metadata(&appeal));
        let stage = crm.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            runtime.deliver(&stage.plugin, directory, &wit_appeal, assignee.as_ref())
        })
        .await?;
        let now = self.store.now_ms();
        let label = Some(crm.label.clone());
        match outcome {
            Ok(Ok(record)) => {
                let detail = format!("{} {} in the CRM", record.entity, record.id);
                let link = CrmLink {
                    connector: crm.label.clone(),
                    entity: record.entity,
                    id: record.id,
                    url: record.url,
                    delivered_at: now,
                };
                self.store.crm_delivered(
                    &appeal.id,
                    |a| {
                        a.crm = Some(link.clone());
                        a.record(now, "crm_delivered", label.clone(), detail.clone());
                    },
                    conversation,
                )?;
                self.store.commit().await?;
                let mut state = self.state();
                state.unavailable = 0;
                state.refused.remove(&appeal.id);
                tracing::info!(appeal = %appeal.id, crm = %link.id, "delivered to the CRM");
                Ok(true)
            }
            Ok(Err(wit::CrmError::Retry(later))) => {
                let wait = {
                    let mut state = self.state();
                    state.unavailable += 1;
                    let backoff =
                        FIRST_HOLD.saturating_mul(1 << (state.unavailable - 1).min(10)).min(MAX_HOLD);
                    let wait = later.after_ms.map(Duration::from_millis).unwrap_or(backoff);
                    state.hold_until = now + wait.as_millis() as u64;
                    wait
                };
                tracing::warn!(appeal = %appeal.id, "the CRM asks to wait {:.1} s: {}", wait.as_secs_f64(), later.error);
                // One history entry per appeal and outage, not one per attempt.
                if appeal.history.last().is_none_or(|e| e.stage != "crm_retry") {
                    self.record(
                        &appeal.id,
                        now,
                        "crm_retry",
                        label,
                        format!("the CRM is unavailable, retrying: {}", later.error),
                    )?;
                }
                Ok(false)
            }
            Ok(Err(wit::CrmError::Failed(error))) => self.refused(&appeal, now, label, error).map(|()| true),
            Err(failure) => {
                self.refused(&appeal, now, label, format!("the connector failed: {failure}")).map(|()| true)
            }
        }
    }

    fn refused(&self, appeal: &Appeal, now: u64, label: Option<String>, error: String) -> Result<()> {
        tracing::warn!(appeal = %appeal.id, "the CRM refused the appeal: {error}");
        let again = now + REFUSED_WAIT.as_millis() as u64;
        let known = self.state().refused.insert(appeal.id.clone(), (again, error.clone())).map(|(_, e)| e);
        if known.as_deref() != Some(&error) {
            self.record(&appeal.id, now, "crm_failed", label, format!("{error} (kept in the CRM outbox)"))?;
        }
        Ok(())
    }

    fn record(
        &self,
        appeal_id: &str,
        now: u64,
        stage: &str,
        plugin: Option<String>,
        detail: String,
    ) -> Result<()> {
        self.store
            .update_appeal(appeal_id, None, |a| a.record(now, stage, plugin.clone(), detail.clone()))?;
        Ok(())
    }
}

/// The conversation before delivery (the follow-ups that joined the appeal), as the record's
/// first note; none when there was none.
fn conversation(appeal: &Appeal) -> Option<String> {
    let messages: Vec<String> =
        appeal.history.iter().filter(|e| e.stage == "message").map(|e| format!("- {}", e.detail)).collect();
    (!messages.is_empty()).then(|| format!("Customer messages after the first:\n{}", messages.join("\n")))
}

/// A later message of the customer, for the CRM record's timeline.
pub fn follow_up_note(channel: &str, text: &str) -> String {
    format!("Customer ({channel}): {text}")
}

/// The router's decision as metadata for the connector: `route_queue`, `route_region`,
/// `route_department`, `route_topic`, `route_priority`.
fn route_metadata(appeal: &Appeal) -> Vec<wit::MetaEntry> {
    let Some(d) = &appeal.decision else { return Vec::new() };
    [
        ("route_queue", Some(&d.queue)),
        ("route_region", d.region.as_ref()),
        ("route_department", d.department.as_ref()),
        ("route_topic", d.topic.as_ref()),
        ("route_priority", Some(&d.priority)),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|v| wit::MetaEntry { key: key.into(), value: v.clone() }))
    .collect()
}

/// The employee the appeal goes to in the CRM: the router's first candidate, with the CRM user
/// id the directory gives.
fn assignee(appeal: &Appeal, directory: &crate::directory::Directory) -> Option<wit::CrmAssignee> {
    let id = appeal.decision.as_ref()?.candidates.first()?;
    let employee = directory.employees.iter().find(|e| &e.id == id)?;
    Some(wit::CrmAssignee {
        employee_id: employee.id.clone(),
        name: employee.name.clone(),
        crm_user_id: employee.crm_user_id.clone(),
    })
}
