//! Replay: a candidate version over stored appeals, newest first, a page at a time (the CLI
//! draws a progress bar over the pages), compared with what the active pipeline did.

use super::shadow::Comparison;
use super::{stored_outcome, summary_of_decision, summary_of_verdict};
use crate::pipeline::{Stage, convert};
use crate::runtime::Runtime;
use crate::store::Store;
use anyhow::Result;
use serde::Serialize;

/// One page of a replay.
#[derive(Debug, Serialize)]
pub struct Page {
    /// Appeals the plugin had acted on, compared.
    pub compared: usize,
    /// Of those, the ones with a different outcome.
    pub differed: usize,
    /// Appeals in the page the plugin had not acted on (dropped earlier, say).
    pub skipped: usize,
    /// The differing comparisons.
    pub differences: Vec<Comparison>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// Replays `candidate` (a version of the router or filter `name`) over up to `limit` appeals
/// received before `before` (all when none).
///
/// # Errors
/// On storage failure.
pub fn page(
    store: &Store,
    runtime: &Runtime,
    candidate: &Stage,
    name: &str,
    router: bool,
    before: Option<&str>,
    limit: usize,
) -> Result<Page> {
    let appeals = store.list_appeals(None, None, before, limit)?;
    let next = (appeals.len() == limit).then(|| appeals.last().map(|a| a.id.clone())).flatten();
    let mut page = Page { compared: 0, differed: 0, skipped: 0, differences: Vec::new(), next };
    for appeal in &appeals {
        let Some(active) = stored_outcome(appeal, name, router) else {
            page.skipped += 1;
            continue;
        };
        let input = convert::to_wit(appeal);
        let replayed = match router {
            true => summary_of_decision(runtime.route(&candidate.plugin, store.directory(), &input)),
            false => summary_of_verdict(runtime.check(&candidate.plugin, store.directory(), &input)),
        };
        page.compared += 1;
        if replayed != active {
            page.differed += 1;
            page.differences.push(Comparison {
                appeal: appeal.id.clone(),
                at: appeal.received_at,
                active,
                shadow: replayed,
                differs: true,
            });
        }
    }
    Ok(page)
}
