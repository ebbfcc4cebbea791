//! What an appeal's CRM record must hear after (and, for what the customer and the operators
//! wrote, before) its delivery: each such event of the appeal's history is marked in the
//! transaction that records it (`appeal id \0 event index` in the `crm_notes` tree, with the
//! owner as of that moment), so no update is lost across a crash, and the marks of one appeal
//! are handed to the CRM in the order they happened. The same transaction puts an appeal that
//! becomes routed later (reprocessed out of triage, reopened) into the CRM outbox when a CRM
//! is active and it is neither delivered nor queued.

use super::Store;
use super::tx::{TreeId, Tx};
use crate::appeal::{Appeal, Status};
use crate::event::Event;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Whether the CRM record hears of an event: content its timeline shows (a message, a note, a
/// reply sent or failed, a file), and the work on the appeal (owner, stage, a timeline line).
fn for_crm(event: &Event) -> bool {
    matches!(
        event,
        Event::Message { .. }
            | Event::Note { .. }
            | Event::ReplySent { .. }
            | Event::ReplyFailed { .. }
            | Event::FileStored { .. }
            | Event::Assigned { .. }
            | Event::Taken { .. }
            | Event::HandedOff { .. }
            | Event::Escalated { .. }
            | Event::Paused { .. }
            | Event::Resumed { .. }
            | Event::Resolved { .. }
            | Event::Reopened { .. }
            | Event::Overdue { .. }
    )
}

/// One marked event's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateMark {
    /// The appeal's assignee right after the event.
    #[serde(default)]
    pub owner: Option<String>,
    /// Handed to the connector before without a known outcome (kept in `crm_tried`).
    #[serde(skip)]
    pub tried: bool,
}

/// A queued CRM update: an event of an appeal, or (written by an earlier version) a note.
#[derive(Debug, Clone, PartialEq)]
pub enum Queued {
    /// An event of an appeal.
    Event {
        /// The appeal's id.
        appeal: String,
        /// The event's index in its history.
        index: u32,
        /// Its mark.
        mark: UpdateMark,
    },
    /// A text for an appeal's record, queued by an earlier version.
    Note {
        /// Its key in the queue (a ULID).
        key: String,
        /// The appeal's id.
        appeal: String,
        /// The text.
        text: String,
    },
}

fn key(appeal: &str, index: u32) -> Vec<u8> {
    [appeal.as_bytes(), &[0], &index.to_be_bytes()].concat()
}

/// Whether an appeal in this state belongs in the CRM: routed and open.
fn belongs_in_crm(appeal: &Appeal) -> bool {
    matches!(appeal.status, Status::Routed | Status::InWork | Status::Paused)
}

/// Inside an appeal's transaction: marks its new events (from `stored` on) the CRM record
/// must hear of, and queues the appeal for delivery when it became routed while `crm_active`.
///
/// # Errors
/// On storage failure.
pub(super) fn mark(tx: &mut Tx, appeal: &Appeal, stored: u32, crm_active: bool) -> Result<()> {
    let delivered = appeal.crm.is_some();
    let mut queued = None;
    if !delivered && crm_active && belongs_in_crm(appeal) {
        let known = tx.get(TreeId::CrmOutbox, appeal.id.as_bytes())?.is_some();
        if !known {
            tx.insert(TreeId::CrmOutbox, appeal.id.as_bytes(), []);
        }
        queued = Some(true);
    }
    for (index, event) in appeal.history.iter().enumerate().skip(stored as usize) {
        if !for_crm(&event.event) {
            continue;
        }
        // Before delivery, only for an appeal on its way to the CRM (a delivery in flight may
        // have read the appeal before this event).
        if !delivered {
            let on_its_way = match queued {
                Some(known) => known,
                None => *queued.insert(tx.get(TreeId::CrmOutbox, appeal.id.as_bytes())?.is_some()),
            };
            if !on_its_way {
                continue;
            }
        }
        let mark = UpdateMark { owner: appeal.work.assignee.clone(), tried: false };
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        tx.insert(TreeId::CrmNotes, key(&appeal.id, index), serde_json::to_vec(&mark)?);
    }
    Ok(())
}

impl Store {
    /// Queued CRM updates this node works on, in order (one appeal's after another's).
    ///
    /// # Errors
    /// On storage failure.
    pub fn crm_updates(&self) -> Result<Vec<Queued>> {
        Ok(self
            .outbox(TreeId::CrmNotes)?
            .into_iter()
            .filter_map(|(k, v)| match k.iter().position(|&b| b == 0) {
                Some(split) if k.len() == split + 5 => Some(Queued::Event {
                    appeal: String::from_utf8_lossy(&k[..split]).into_owned(),
                    index: u32::from_be_bytes([k[split + 1], k[split + 2], k[split + 3], k[split + 4]]),
                    mark: UpdateMark {
                        tried: self.tree(TreeId::CrmTried).contains_key(&k).unwrap_or(false),
                        ..serde_json::from_slice(&v).unwrap_or_default()
                    },
                }),
                Some(_) => None,
                None => {
                    let value = String::from_utf8_lossy(&v).into_owned();
                    let (appeal, text) = value.split_once('\0').unwrap_or((&value, ""));
                    Some(Queued::Note {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        appeal: appeal.to_string(),
                        text: text.to_string(),
                    })
                }
            })
            .collect())
    }

    /// Records that an update is being handed to the connector (made durable before the call,
    /// so a crash during it tells the next attempt to look before writing again).
    ///
    /// # Errors
    /// On storage failure.
    pub async fn crm_update_tried(&self, appeal: &str, index: u32) -> Result<()> {
        self.write_blind(vec![(TreeId::CrmTried, key(appeal, index), Some(Vec::new()))])?;
        self.commit().await
    }

    /// Drops a done (or given up) update.
    ///
    /// # Errors
    /// On storage failure.
    pub fn crm_update_done(&self, item: &Queued) -> Result<()> {
        let key = match item {
            Queued::Event { appeal, index, .. } => key(appeal, *index),
            Queued::Note { key, .. } => key.as_bytes().to_vec(),
        };
        self.write_blind(vec![(TreeId::CrmNotes, key.clone(), None), (TreeId::CrmTried, key, None)])
    }

    /// Says whether a CRM connector is active: appeals routed from now on are queued for it.
    pub fn set_crm_active(&self, active: bool) {
        self.crm_active.store(active, std::sync::atomic::Ordering::Relaxed);
    }
}
