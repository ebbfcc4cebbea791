//! How an appeal is kept on disk: a *head* — the appeal without its history, in postcard (a
//! compact binary serde format, the one the cluster's wire already uses) behind a format
//! byte — and its history apart, one entry per event keyed `appeal id \0 index`, that only
//! ever grows by appending. A change writes the head (a few hundred bytes) and the new events,
//! never the whole history again. The head also carries how many events are stored (so two
//! writers that append concurrently conflict on it) and the filter and reason that dropped
//! the appeal (so the per-day figures need no history).
//!
//! Records of earlier versions still read: JSON (they start with `{`) and a first postcard
//! layout with the history inline; the next write moves their history apart.
//!
//! postcard is not self-describing: a field's place is its identity. A change to the shape of
//! [`Appeal`] (a field added, an enum variant reordered) takes a new format byte here, with the
//! reader of the previous one kept.

use super::tx::{TreeId, Trees, Tx};
use crate::appeal::{Appeal, HistoryEvent};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Appeal with its history inline (written only by a development version; still read).
const POSTCARD_V1: u8 = 1;
/// [`Head`] with the history apart.
const HEAD_V2: u8 = 2;

/// A stored appeal's head.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Head {
    /// Events stored apart in the history tree (0 for an older record: its history is inline).
    pub stored: u32,
    /// `filter \0 reason` of the filter that dropped it.
    pub dropped_by: Option<String>,
    /// The appeal; its history only when the record is older.
    pub appeal: Appeal,
}

/// The head's stored bytes for `appeal` (whose whole history is stored apart).
fn encode_head(appeal: &Appeal) -> Vec<u8> {
    let head = Head {
        stored: u32::try_from(appeal.history.len()).unwrap_or(u32::MAX),
        dropped_by: super::figures::dropped_by(appeal),
        appeal: Appeal { history: Vec::new(), ..appeal.clone() },
    };
    let mut bytes = vec![HEAD_V2];
    // Serialising plain data into a growing buffer does not fail.
    bytes.extend(postcard::to_allocvec(&head).expect("an appeal serialises"));
    bytes
}

/// The head stored as `bytes`.
///
/// # Errors
/// When the record is corrupt or of an unknown format.
pub fn decode_head(bytes: &[u8]) -> Result<Head> {
    let inline = |appeal: Appeal| Head { stored: 0, dropped_by: super::figures::dropped_by(&appeal), appeal };
    match bytes.first() {
        Some(&HEAD_V2) => postcard::from_bytes(&bytes[1..]).context("corrupt appeal record"),
        Some(&POSTCARD_V1) => Ok(inline(postcard::from_bytes(&bytes[1..]).context("corrupt appeal record")?)),
        Some(b'{') => Ok(inline(serde_json::from_slice(bytes).context("corrupt appeal record (JSON)")?)),
        Some(other) => bail!("appeal record of unknown format {other}"),
        None => bail!("empty appeal record"),
    }
}

/// Where event `index` of appeal `id` is kept.
fn event_key(id: &str, index: u32) -> Vec<u8> {
    [id.as_bytes(), &[0], &index.to_be_bytes()].concat()
}

/// The whole appeal whose head is `bytes`, its history read from `trees`.
///
/// # Errors
/// When a record is corrupt or the history cannot be read.
pub fn read(trees: &Trees, bytes: &[u8]) -> Result<Appeal> {
    with_history(trees, decode_head(bytes)?)
}

/// The whole appeal of a decoded head, its history read from `trees`.
fn with_history(trees: &Trees, head: Head) -> Result<Appeal> {
    let mut appeal = head.appeal;
    if head.stored > 0 {
        let range = event_key(&appeal.id, 0)..event_key(&appeal.id, head.stored);
        appeal.history = trees
            .get(TreeId::History)
            .range(range)
            .values()
            .map(|v| postcard::from_bytes::<HistoryEvent>(&v?).context("corrupt history event"))
            .collect::<Result<_>>()?;
    }
    Ok(appeal)
}

/// The writes that store `appeal` over a record whose history had `stored` events apart:
/// the head, and the events from `stored` on (all of them when `stored` is 0).
pub fn writes(appeal: &Appeal, stored: u32) -> Vec<(TreeId, Vec<u8>, Option<Vec<u8>>)> {
    let mut writes = vec![(TreeId::Appeals, appeal.id.as_bytes().to_vec(), Some(encode_head(appeal)))];
    for (index, event) in appeal.history.iter().enumerate().skip(stored as usize) {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        // Plain data into a growing buffer: serialising does not fail.
        let value = postcard::to_allocvec(event).expect("an event serialises");
        writes.push((TreeId::History, event_key(&appeal.id, index), Some(value)));
    }
    writes
}

/// Inside a transaction: appeal `id` whole, and how many of its events are stored apart;
/// `None` when there is no such appeal. The head is read through the transaction (a
/// concurrent change to it, appending included, makes the transaction run again); the
/// history from the view, as what was appended is never changed.
///
/// # Errors
/// When a record is corrupt.
pub fn load(tx: &mut Tx, id: &str) -> Result<Option<(Appeal, u32)>> {
    let Some(bytes) = tx.get(TreeId::Appeals, id.as_bytes())? else { return Ok(None) };
    let head = decode_head(&bytes)?;
    let stored = head.stored;
    Ok(Some((with_history(tx.view(), head)?, stored)))
}

/// Inside a transaction: writes `appeal` over a record with `stored` events apart, and marks
/// its new events that notices and the CRM record may be about (every change of an appeal
/// passes here).
///
/// # Errors
/// On storage failure.
pub fn save(tx: &mut Tx, appeal: &Appeal, stored: u32) -> Result<()> {
    super::notices::mark(tx, appeal, stored);
    let crm_active = tx.crm_active;
    super::crm_updates::mark(tx, appeal, stored, crm_active)?;
    rewrite(tx, appeal, stored);
    Ok(())
}

/// Inside a transaction: writes `appeal` over a record with `stored` events apart, marking
/// nothing (an erasure rewrites what happened; it is not news).
pub fn rewrite(tx: &mut Tx, appeal: &Appeal, stored: u32) {
    for (tree, key, value) in writes(appeal, stored) {
        if let Some(value) = value {
            tx.insert(tree, key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_head, read, writes};
    use crate::appeal::{Appeal, Attachment, Status};
    use crate::store::tx::{Batch, TreeId, Trees};

    #[test]
    fn the_history_is_kept_apart_and_older_records_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::engine::Db::open(dir.path(), 1 << 20).unwrap();
        let trees = Trees::open(&db).unwrap();
        let mut appeal = Appeal {
            id: "01JABCDEFGHJKMNPQRSTVWXYZ0".into(),
            channel: "telegram".into(),
            text: "Хочу вернуть заказ, магазин 112".into(),
            status: Status::Dropped,
            metadata: vec![("store".into(), "112".into())],
            attachments: vec![Attachment {
                kind: "photo".into(),
                reference: "AgACAgIAAxkBAAIB".into(),
                mime_type: None,
                size: Some(1024),
                file_name: None,
            }],
            ..Appeal::default()
        };
        appeal.record(1, "received", None, "webhook");
        appeal.record(2, "dropped", Some("contest-filter@0.1.0".into()), "contest noise");
        Batch::writes(writes(&appeal, 0)).apply(&trees, None).unwrap();
        let head = trees.get(TreeId::Appeals).get(&appeal.id).unwrap().unwrap();
        assert_eq!(read(&trees, &head).unwrap(), appeal);
        let decoded = decode_head(&head).unwrap();
        assert_eq!((decoded.stored, decoded.appeal.history.len()), (2, 0));
        assert_eq!(decoded.dropped_by.as_deref(), Some("contest-filter@0.1.0\0contest noise"));
        let json = serde_json::to_vec(&appeal).unwrap();
        assert!(head.len() * 2 < json.len(), "{} vs {}", head.len(), json.len());

        // One more event: the head and that event are written, nothing else.
        appeal.record(3, "reopened", None, "");
        let more = writes(&appeal, 2);
        assert_eq!(more.iter().map(|w| w.0).collect::<Vec<_>>(), [TreeId::Appeals, TreeId::History]);
        Batch::writes(more).apply(&trees, None).unwrap();
        let head = trees.get(TreeId::Appeals).get(&appeal.id).unwrap().unwrap();
        assert_eq!(read(&trees, &head).unwrap(), appeal);

        // A JSON record of an earlier version, its history inline.
        let legacy = decode_head(&json).unwrap();
        assert_eq!((legacy.stored, legacy.appeal.history.len()), (0, 2));
        assert!(read(&trees, &json).unwrap().history.len() == 2);
        assert!(decode_head(&[9, 1, 2]).is_err());
        assert!(decode_head(&head[..head.len() / 2]).is_err());
    }
}
