//! Shadow runs: a candidate version of an active router or filter runs on every appeal the
//! active one acted on; both outcomes are stored (tree `shadow`, by `name@version`) and
//! `GET /api/plugins/{name}/shadow` shows how many differed, with examples. The candidate's
//! outcome is never applied, and its failures only count as differences.

use super::stored_outcome;
use crate::appeal::Appeal;
use crate::registry::Shadow;
use crate::runtime::Runtime;
use crate::runtime::convert;
use crate::store::Store;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The appeal.
    pub appeal: String,
    /// When (ms since the epoch).
    pub at: u64,
    /// What the active version did.
    pub active: String,
    /// What the candidate would have done.
    pub shadow: String,
    /// Whether they differ.
    pub differs: bool,
}

/// Runs every shadow on a stored appeal and records the comparisons.
///
/// # Errors
/// On storage failure only.
pub fn run(store: &Store, runtime: &Runtime, shadows: &[Arc<Shadow>], appeal: &Appeal) -> Result<()> {
    for shadow in shadows {
        let Some(active) = stored_outcome(appeal, &shadow.name, shadow.candidate.is_router()) else {
            continue;
        };
        let input = convert::to_wit(appeal);
        let candidate = super::outcome_of(runtime, store, &shadow.candidate, &input);
        let comparison = Comparison {
            appeal: appeal.id.clone(),
            at: store.now_ms(),
            differs: candidate != active,
            active,
            shadow: candidate,
        };
        store.put_shadow(shadow.candidate.label(), &appeal.id, &comparison)?;
    }
    Ok(())
}

/// The shadow report of `label` (`name@version`): counts and up to 20 differing examples,
/// newest first.
///
/// # Errors
/// On storage failure.
pub fn report(store: &Store, label: &str) -> Result<serde_json::Value> {
    let comparisons: Vec<Comparison> = store.shadow_comparisons(label)?;
    let differed: Vec<&Comparison> = comparisons.iter().filter(|c| c.differs).collect();
    Ok(serde_json::json!({
        "version": label,
        "compared": comparisons.len(),
        "differed": differed.len(),
        "examples": differed.iter().rev().take(20).collect::<Vec<_>>(),
    }))
}
