//! Safe rollout of business logic: a candidate router or filter version runs in **shadow**
//! beside the active one on live traffic (its outcomes recorded, never applied), is **replayed**
//! over stored appeals before activation, and a newly activated version that keeps failing is
//! **rolled back** by the host ([`crate::registry::health`]). Outcomes are compared as short summaries
//! (`summary`): a router's queue, region, department, topic, priority and candidates; a
//! filter's verdict; or the error.

pub mod replay;
pub mod routing;
pub mod shadow;

use crate::appeal::{Appeal, Decision};
use crate::event::Event;
use crate::registry::Candidate;
use crate::runtime::{CallError, Runtime, wit};
use crate::store::Store;

/// What `candidate` makes of `appeal`, as compared.
pub fn outcome_of(runtime: &Runtime, store: &Store, candidate: &Candidate, appeal: &wit::Appeal) -> String {
    match candidate {
        Candidate::Router(stage) => {
            summary_of_decision(runtime.route(&stage.plugin, store.directory(), appeal))
        }
        Candidate::Filter(stage) => {
            summary_of_verdict(runtime.check(&stage.plugin, store.directory(), appeal))
        }
    }
}

/// A router call's outcome, as compared.
pub fn summary_of_decision(result: Result<wit::Decision, CallError>) -> String {
    match result {
        Ok(d) => summary(&crate::runtime::convert::decision(d)),
        Err(e) => format!("error: {e}"),
    }
}

/// A decision, as compared.
fn summary(d: &Decision) -> String {
    format!(
        "queue {}, region {}, department {}, topic {}, priority {}, candidates [{}]",
        d.queue,
        d.region.as_deref().unwrap_or("-"),
        d.department.as_deref().unwrap_or("-"),
        d.topic.as_deref().unwrap_or("-"),
        d.priority,
        d.candidates.join(", ")
    )
}

/// A filter's verdict, as compared.
pub fn summary_of_verdict(result: Result<wit::Verdict, CallError>) -> String {
    match result {
        Ok(wit::Verdict::Keep) => "keep".into(),
        Ok(wit::Verdict::Drop(reason)) => format!("drop: {reason}"),
        Ok(wit::Verdict::Tag(tags)) => format!("tag: {}", tags.join(", ")),
        Err(e) => format!("error: {e}"),
    }
}

/// The stored outcome of the appeal for the plugin `name`: the router's decision, or what the
/// filter did (from the history); none when that plugin did not act on it.
pub fn stored_outcome(appeal: &Appeal, name: &str, router: bool) -> Option<String> {
    if router {
        return appeal.decision.as_ref().map(summary);
    }
    let prefix = format!("{name}@");
    let event =
        appeal.history.iter().find(|e| e.plugin.as_deref().is_some_and(|p| p.starts_with(&prefix)))?;
    Some(match &event.event {
        Event::Kept => "keep".into(),
        Event::Dropped { reason } => format!("drop: {reason}"),
        Event::Tagged { tags } => format!("tag: {}", tags.join(", ")),
        other => {
            format!("error: {}", crate::text::render(other, crate::text::Lang::En, &crate::text::NoNames))
        }
    })
}
