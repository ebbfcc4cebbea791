//! Replay: a candidate version over stored appeals, newest first, a page at a time (the CLI
//! draws a progress bar over the pages), compared with what the active pipeline did.

use super::shadow::Comparison;
use super::{outcome_of, stored_outcome};
use crate::registry::Candidate;
use crate::runtime::Runtime;
use crate::runtime::convert;
use crate::store::Store;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// One page of a replay.
#[derive(Debug, Serialize, Deserialize)]
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

/// The appeals a replay goes over: newest first, before a cursor and within a time range.
#[derive(Debug, Default, Clone, Copy)]
pub struct Range<'a> {
    /// The cursor: only appeals older than this id (a page's `next`).
    pub before: Option<&'a str>,
    /// Only appeals received at or after this time (ms since the Unix epoch).
    pub since: Option<u64>,
    /// Only appeals received at or before this time (ms since the Unix epoch).
    pub until: Option<u64>,
}

/// Replays `candidate` (a version of the router or filter `name`) over up to `limit` appeals
/// of `range`.
///
/// # Errors
/// On storage failure.
pub fn page(
    store: &Store,
    runtime: &Runtime,
    candidate: &Candidate,
    name: &str,
    range: Range,
    limit: usize,
) -> Result<Page> {
    // Ids are ULIDs made moments after arrival (after the adapter ran): an id a minute past
    // `until` bounds the newest end of the scan; the exact bound is the arrival time.
    let newest = range.until.map(|ms| ulid::Ulid::from_parts(ms.saturating_add(60_000), 0).to_string());
    let before = match (range.before, newest.as_deref()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut appeals = store.list_appeals(&crate::store::AppealQuery::default(), before, limit)?;
    let mut next = (appeals.len() == limit).then(|| appeals.last().map(|a| a.id.clone())).flatten();
    if let Some(until) = range.until {
        appeals.retain(|a| a.received_at <= until);
    }
    if let Some(since) = range.since
        && appeals.last().is_some_and(|a| a.received_at < since)
    {
        appeals.retain(|a| a.received_at >= since);
        next = None;
    }
    let mut page = Page { compared: 0, differed: 0, skipped: 0, differences: Vec::new(), next };
    for appeal in &appeals {
        let Some(active) = stored_outcome(appeal, name, candidate.is_router()) else {
            page.skipped += 1;
            continue;
        };
        let input = convert::to_wit(appeal);
        let replayed = outcome_of(runtime, store, candidate, &input);
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
