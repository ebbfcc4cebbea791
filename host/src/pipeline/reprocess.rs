//! Reprocessing a triage appeal after a fix: through the current filters and router again,
//! or, when its payload was never read, its kept raw request through the current adapter.

use crate::appeal::{Appeal, Status};
use crate::event::Event;
use crate::registry::Pipeline;
use crate::runtime::{Runtime, wit};
use crate::store::Store;

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
        self.decide_again(store, runtime, appeal, None)
    }

    /// Routes an open appeal again ("route again" after a correction): through the current
    /// filters and router, with a fresh assignment and SLA; `by` names who asked.
    ///
    /// # Errors
    /// [`Refusal::NotFound`](crate::refusal::Refusal::NotFound) for an unknown appeal;
    /// [`Refusal::Conflict`](crate::refusal::Refusal::Conflict) when it is resolved or dropped.
    pub fn route_again(
        &self,
        store: &Store,
        runtime: &Runtime,
        id: &str,
        by: &crate::event::Actor,
    ) -> Result<Appeal, crate::refusal::Refusal> {
        use crate::refusal::Refusal;
        let appeal = store.appeal(id)?.ok_or_else(|| Refusal::NotFound(format!("no appeal {id}")))?;
        if !appeal.status.is_open() && appeal.status != Status::Triage {
            return Err(Refusal::Conflict(format!(
                "appeal {id} is {}; reopen it first",
                appeal.status.name()
            )));
        }
        self.decide_again(store, runtime, appeal, Some(by.clone()))
    }

    /// Runs `appeal` through the current filters and router and stores the outcome.
    fn decide_again(
        &self,
        store: &Store,
        runtime: &Runtime,
        appeal: Appeal,
        by: Option<crate::event::Actor>,
    ) -> Result<Appeal, crate::refusal::Refusal> {
        use crate::refusal::Refusal;
        let id = appeal.id.clone();
        let mut fresh = appeal.clone();
        fresh.status = Status::New;
        fresh.error = None;
        fresh.decision = None;
        fresh.tags.clear();
        fresh.record(store.now_ms(), None, Event::Reprocessed { by, appeals: Vec::new() });
        let decided = self.decide(runtime, store, fresh);
        let changed = store.change_appeal(&id, |a| {
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
        let event = match runtime.handle(
            &adapter.plugin,
            store.directory(),
            &crate::runtime::convert::request_of(&raw),
        ) {
            Ok(Ok(_)) => {
                let reply = self.ingest(store, runtime, raw)?;
                Event::Reprocessed { by: None, appeals: reply.appeals }
            }
            Ok(Err(wit::AdapterError::Malformed(why) | wit::AdapterError::Unauthorized(why))) => {
                Event::ReprocessFailed { error: why }
            }
            Err(failure) => Event::ReprocessFailed { error: failure.to_string() },
        };
        let plugin = Some(adapter.label.clone());
        let changed = store.change_appeal(&appeal.id, |a| {
            if matches!(event, Event::Reprocessed { .. }) {
                a.status = Status::Resolved;
            }
            a.record(now, plugin.clone(), event.clone());
        })?;
        changed.ok_or_else(|| Refusal::NotFound(format!("no appeal {}", appeal.id)))
    }
}
