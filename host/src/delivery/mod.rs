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
//! record does not make a second deal (and the connector is told when an appeal was handed to it
//! before: `crm_retried` in the metadata). The owner is the appeal's assignee at delivery.
//!
//! After delivery the record follows the appeal ([`updates`], WIT `crm-sync`): every take,
//! hand-off and escalation moves the owner, states move the stage, replies, pauses,
//! resolutions, SLA breaches, failed replies, notes, files and the customer's later messages go
//! onto the timeline. The updates come from a second durable queue, marked in the
//! transactions that record the events, and are applied per appeal in order after the
//! appeals; an update leaves the queue only once applied (or refused for good, which the
//! appeal's history records).

mod updates;

use crate::appeal::{Appeal, CrmLink};
use crate::event::Event;
use crate::registry::Registry;
use crate::registry::Stage;
use crate::runtime::convert;
use crate::runtime::{ChannelWorld, wit};
use crate::store::Store;
use crate::store::crm_updates::Queued;
use crate::supervisor::{Rest, Role, Round, Supervisor};
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
/// Failed calls of the connector (traps, missed deadlines) before an update is given up.
const MAX_UPDATE_FAILURES: u32 = 5;
/// Wait before trying an appeal the CRM refused again.
const REFUSED_WAIT: Duration = Duration::from_secs(600);

/// The CRM outbox worker.
pub struct CrmDelivery {
    store: Store,
    registry: Arc<Registry>,
    files: Arc<crate::store::files::Files>,
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
    /// Updates whose connector call failed (trapped, ran out of time), by event: how often.
    failed_updates: HashMap<String, u32>,
}

impl CrmDelivery {
    /// A worker over `store`, delivering through the registry's active CRM connector, with the
    /// attachment store `files` (files go onto the records' timelines).
    pub fn new(store: Store, registry: Arc<Registry>, files: Arc<crate::store::files::Files>) -> Arc<Self> {
        Arc::new(Self { store, registry, files, state: Mutex::new(State::default()) })
    }

    /// Starts the worker; it runs until the runtime stops.
    pub fn spawn(self: &Arc<Self>, workers: &Supervisor) {
        let worker = self.clone();
        workers.every("crm", Role::EveryNode, Rest::Fixed(POLL), None, move || {
            let worker = worker.clone();
            async move { worker.deliver_due().await.map(|()| Round::Rest) }
        });
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers the queued appeals in order, then the queued updates, until the CRM asks to wait.
    async fn deliver_due(&self) -> Result<()> {
        let Some(crm) = self.registry.pipeline().crm.clone() else {
            return Ok(());
        };
        if self.deliver_appeals(&crm).await? {
            self.deliver_updates(&crm).await?;
        }
        Ok(())
    }

    /// The queued updates, per appeal in order; an appeal's updates wait while it has no CRM
    /// record yet.
    async fn deliver_updates(&self, crm: &Arc<Stage<ChannelWorld>>) -> Result<()> {
        let mut waiting = std::collections::HashSet::new();
        let directory = self.store.directory();
        for item in self.store.crm_updates()? {
            if self.state().hold_until > self.store.now_ms() {
                return Ok(());
            }
            let appeal_id = match &item {
                Queued::Note { appeal, .. } | Queued::Event { appeal, .. } => appeal.clone(),
            };
            if waiting.contains(&appeal_id) {
                continue;
            }
            let Some(appeal) = self.store.appeal(&appeal_id)? else {
                self.store.crm_update_done(&item)?;
                continue;
            };
            let Some(link) = appeal.crm.clone() else {
                waiting.insert(appeal_id);
                continue;
            };
            let Some(update) = self.update_for(crm, &item, &appeal, &directory).await? else {
                self.store.crm_update_done(&item)?;
                continue;
            };
            let record = wit::CrmRecord { entity: link.entity, id: link.id, url: link.url };
            let (runtime, stage, wit_appeal, directory) =
                (self.registry.runtime().clone(), crm.clone(), convert::to_wit(&appeal), directory.clone());
            let event_id = update.event_id.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                runtime.apply_crm_update(&stage.plugin, directory, &record, &wit_appeal, &update)
            })
            .await?;
            let now = self.store.now_ms();
            let refused = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(wit::CrmError::Retry(later))) => {
                    self.hold(later.after_ms, now);
                    return Ok(());
                }
                Ok(Err(wit::CrmError::Failed(error))) => Some(error),
                // A trap or a missed deadline (a loaded machine) is tried again a few times.
                Err(failure) => {
                    let failures = {
                        let mut state = self.state();
                        let count = state.failed_updates.entry(event_id.clone()).or_default();
                        *count += 1;
                        *count
                    };
                    if failures < MAX_UPDATE_FAILURES {
                        self.hold(None, now);
                        return Ok(());
                    }
                    Some(failure.to_string())
                }
            };
            self.state().failed_updates.remove(&event_id);
            if let Some(error) = refused {
                // The record refuses it (deleted, say): recorded, and the update given up.
                self.record(
                    &appeal.id,
                    now,
                    Some(crm.label.clone()),
                    Event::CrmFailed { error, update: true },
                )?;
            }
            self.store.crm_update_done(&item)?;
            self.state().unavailable = 0;
        }
        Ok(())
    }

    /// The update a queued item makes of `appeal` (with its reply's origin and its file), `None`
    /// when the record needs nothing; marked as handed over before it is.
    async fn update_for(
        &self,
        crm: &Stage<ChannelWorld>,
        item: &Queued,
        appeal: &Appeal,
        directory: &crate::directory::Directory,
    ) -> Result<Option<wit::CrmUpdate>> {
        let (index, mark) = match item {
            Queued::Note { key, text, .. } => {
                return Ok(Some(wit::CrmUpdate {
                    event_id: key.clone(),
                    retried: true,
                    stage: "note".into(),
                    owner: None,
                    state: None,
                    comment: Some(text.clone()),
                    customer_message: None,
                    files: Vec::new(),
                    reply_origin: None,
                }));
            }
            Queued::Event { index, mark, .. } => (*index, mark),
        };
        let crm_name = crm.label.split('@').next().unwrap_or_default();
        let Some(mut update) = updates::update_of(appeal, index, mark, crm_name, directory) else {
            return Ok(None);
        };
        // A reply written in the CRM: its origin, for the delivery receipt.
        if let Some(reply) = appeal.history.get(index as usize).and_then(|e| e.event.reply()) {
            update.reply_origin = self.store.reply_origin(reply)?;
        }
        let update = self.with_files(appeal, index, update).await;
        if !mark.tried {
            self.store.crm_update_tried(&appeal.id, index).await?;
        }
        Ok(Some(update))
    }

    /// `update` with the stored file its event is about (a `file_stored` event), when the file
    /// is small enough for the CRM; a larger one is named in the comment.
    async fn with_files(&self, appeal: &Appeal, index: u32, mut update: wit::CrmUpdate) -> wit::CrmUpdate {
        let Some(Event::FileStored { attachment: n, .. }) =
            appeal.history.get(index as usize).map(|e| &e.event)
        else {
            return update;
        };
        let n = *n;
        let record = self.store.file_record(&appeal.id, n).ok().flatten();
        let Some(crate::store::media::FileState::Stored { sha256, size, .. }) =
            record.as_ref().map(|r| &r.state)
        else {
            return update;
        };
        if *size as usize > updates::CRM_FILE_MAX {
            if let Some(comment) = &mut update.comment {
                comment.push_str(" (файл больше 10 МиБ: он в ClientHub)");
            }
            return update;
        }
        let (store, files, sha256) = (self.store.clone(), self.files.clone(), sha256.clone());
        let body =
            tokio::task::spawn_blocking(move || crate::store::media::read_file(&store, &files, &sha256))
                .await;
        if let Ok(Ok(Some(body))) = body {
            let attachment = appeal.attachments.get(usize::from(n));
            let record = record.expect("matched above");
            let file_name = record
                .file_name
                .clone()
                .or_else(|| attachment.and_then(|a| a.file_name.clone()))
                .unwrap_or_else(|| {
                    default_name(attachment.map_or("file", |a| a.kind.name()), record.mime_type.as_deref())
                });
            update.files.push(wit::CrmFile { file_name, mime_type: record.mime_type.clone(), body });
        }
        update
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
                self.store.crm_delivered(&appeal_id, |_| {})?;
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
        let assignee = appeal.work.assignee.as_deref().and_then(|id| updates::assignee(id, &directory));
        let mut wit_appeal = convert::to_wit(&appeal);
        wit_appeal.metadata.extend(route_metadata(&appeal));
        if self.store.crm_delivery_was_tried(&appeal.id)? {
            wit_appeal.metadata.push(wit::MetaEntry { key: "crm_retried".into(), value: "true".into() });
        } else {
            self.store.crm_delivery_tried(&appeal.id).await?;
        }
        let stage = crm.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            runtime.deliver(&stage.plugin, directory, &wit_appeal, assignee.as_ref())
        })
        .await?;
        let now = self.store.now_ms();
        let label = Some(crm.label.clone());
        match outcome {
            Ok(Ok(record)) => {
                let delivered = Event::CrmDelivered { entity: record.entity.clone(), id: record.id.clone() };
                let link = CrmLink {
                    connector: crm.label.clone(),
                    entity: record.entity,
                    id: record.id,
                    url: record.url,
                    delivered_at: now,
                };
                self.store.crm_delivered(&appeal.id, |a| {
                    a.crm = Some(link.clone());
                    a.record(now, label.clone(), delivered.clone());
                })?;
                self.store.commit().await?;
                let mut state = self.state();
                state.unavailable = 0;
                state.refused.remove(&appeal.id);
                tracing::info!(appeal = %appeal.id, crm = %link.id, "delivered to the CRM");
                Ok(true)
            }
            Ok(Err(wit::CrmError::Retry(later))) => {
                let wait = self.hold(later.after_ms, now);
                tracing::warn!(appeal = %appeal.id, "the CRM asks to wait {:.1} s: {}", wait.as_secs_f64(), later.error);
                // One history entry per appeal and outage, not one per attempt.
                if appeal.history.last().is_none_or(|e| !matches!(e.event, Event::CrmRetry { .. })) {
                    self.record(&appeal.id, now, label, Event::CrmRetry { error: later.error })?;
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
            self.record(&appeal.id, now, label, Event::CrmFailed { error, update: false })?;
        }
        Ok(())
    }

    fn record(&self, appeal_id: &str, now: u64, plugin: Option<String>, event: Event) -> Result<()> {
        self.store.update_appeal(appeal_id, None, |a| a.record(now, plugin.clone(), event.clone()))?;
        Ok(())
    }
}

/// The router's decision and the appeal's state as metadata for the connector: `route_queue`,
/// `route_region`, `route_department`, `route_topic`, `route_priority`, `crm_state` (`new`,
/// `in_work`, `paused`, `resolved`).
fn route_metadata(appeal: &Appeal) -> Vec<wit::MetaEntry> {
    let Some(d) = &appeal.decision else { return Vec::new() };
    let state = match appeal.status {
        crate::appeal::Status::InWork => "in_work",
        crate::appeal::Status::Paused => "paused",
        crate::appeal::Status::Resolved => "resolved",
        _ => "new",
    }
    .to_string();
    [
        ("crm_state", Some(&state)),
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

/// A file name for a file that came without one (`photo.jpg`).
fn default_name(kind: &str, mime: Option<&str>) -> String {
    let extension = crate::store::media::extension_of(mime.unwrap_or_default());
    format!("{kind}.{extension}")
}
