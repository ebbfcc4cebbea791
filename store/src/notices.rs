//! Notices to send about appeal events (a new appeal, an assignment, a hand-off, an
//! escalation; a resolution asks the customer's rating, a low rating tells the manager): each event of those stages is marked in the transaction that records it
//! (`appeal id \0 event index`), so a crash loses no notice and no event is noticed twice.
//! The mark's value is the sending's progress: which rules were served, attempts, when next.

use super::Store;
use super::tx::{TreeId, Tx};
use crate::appeal::Appeal;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Where the sending of one event's notices stands, and whom the event concerned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoticeProgress {
    /// The appeal's assignee right after the event (whom an assignment or hand-off names).
    #[serde(default)]
    pub assignee: Option<String>,
    /// The appeal's department right after the event.
    #[serde(default)]
    pub department: Option<String>,
    /// The rules (by their index in the directory) whose notice went out.
    #[serde(default)]
    pub sent: Vec<usize>,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not before (ms since the epoch).
    #[serde(default)]
    pub next_at: u64,
}

fn key(appeal: &str, index: u32) -> Vec<u8> {
    [appeal.as_bytes(), &[0], &index.to_be_bytes()].concat()
}

/// Inside an appeal's transaction: marks the new events (from `stored` on) notices may be
/// about, with whom and which department they concern as of now.
pub(super) fn mark(tx: &mut Tx, appeal: &Appeal, stored: u32) {
    for (index, event) in appeal.history.iter().enumerate().skip(stored as usize) {
        // Work arriving, a resolution (the survey), a low rating (the manager hears of it).
        if crate::event::NoticeKind::of(&event.event).is_some() {
            let progress = NoticeProgress {
                assignee: appeal.work.assignee.clone(),
                department: appeal.work.department.clone(),
                ..NoticeProgress::default()
            };
            let value = serde_json::to_vec(&progress).expect("progress serialises");
            tx.insert(TreeId::Notices, key(&appeal.id, index as u32), value);
        }
    }
}

impl Store {
    /// Up to `limit` events awaiting notices: (appeal id, event index, progress).
    ///
    /// # Errors
    /// On storage failure.
    pub fn notices_pending(&self, limit: usize) -> Result<Vec<(String, u32, NoticeProgress)>> {
        let mut out = Vec::new();
        for entry in self.tree(TreeId::Notices).iter().take(limit) {
            let (k, v) = entry?;
            let Some(split) = k.len().checked_sub(5) else { continue };
            let appeal = String::from_utf8_lossy(&k[..split]).into_owned();
            let index = u32::from_be_bytes([k[split + 1], k[split + 2], k[split + 3], k[split + 4]]);
            out.push((appeal, index, serde_json::from_slice(&v).unwrap_or_default()));
        }
        Ok(out)
    }

    /// Records the progress of an event's notices; `None` means done (the mark goes).
    ///
    /// # Errors
    /// On storage failure.
    pub fn notice_progress(&self, appeal: &str, index: u32, progress: Option<&NoticeProgress>) -> Result<()> {
        let value = progress.map(|p| serde_json::to_vec(p).expect("progress serialises"));
        self.write_blind(vec![(TreeId::Notices, key(appeal, index), value)])
    }
}
