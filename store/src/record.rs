//! How an appeal is kept on disk: a *head* — the appeal without its history, in postcard (a
//! compact binary serde format, the one the cluster's wire already uses) behind a format
//! byte — and its history apart, one entry per event keyed `appeal id \0 index`, that only
//! ever grows by appending. A change writes the head (a few hundred bytes) and the new events,
//! never the whole history again. The head also carries how many events are stored (so two
//! writers that append concurrently conflict on it) and the filter and reason that dropped
//! the appeal (so the per-day figures need no history).
//!
//! Format 4 keeps typed events ([`crate::event::Event`]) and the appeal's short number;
//! format 3 lacked the number (the head's last field, so a format 3 head reads as format 4
//! with number 0); format 2 kept a stage and English
//! words per event, and JSON records (they start with `{`, from the sled era) kept those
//! inline. Both still read, their entries converted by [`crate::legacy`]; the next write of
//! such a record writes its whole history again, typed. (Format 1, written only by a
//! development version, is no longer read.)
//!
//! postcard is not self-describing: a field's place is its identity. A change to the shape of
//! [`Appeal`] (a field added, an enum variant reordered) takes a new format byte here, with the
//! reader of the previous one kept.

use super::tx::{TreeId, Trees, Tx};
use crate::appeal::{Appeal, HistoryEvent};
use crate::legacy::OldEvent;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// [`Head`] with the history apart, as stages and words.
const HEAD_V2: u8 = 2;
/// [`Head`] with the history apart, as typed events, without the appeal's short number.
const HEAD_V3: u8 = 3;
/// [`Head`] with the history apart, as typed events, and the appeal's short number.
const HEAD_V4: u8 = 4;

/// A stored appeal's head.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Head {
    /// Events stored apart in the history tree (0 for a JSON record: its history is inline).
    pub stored: u32,
    /// `filter \0 reason` of the filter that dropped it.
    pub dropped_by: Option<String>,
    /// The appeal; its history only when the record is JSON.
    pub appeal: Appeal,
    /// Its events are of format 2 (stages and words): read through [`crate::legacy`], and
    /// written again whole at the next change. Not stored: the format byte says it.
    #[serde(skip)]
    pub legacy: bool,
}

/// How many of an appeal's events are stored, as its transaction read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Events stored apart: those after are new.
    pub count: u32,
    /// Stored in an older format: every event is written again.
    pub legacy: bool,
}

impl Stored {
    /// The first event to write.
    fn write_from(self) -> u32 {
        if self.legacy { 0 } else { self.count }
    }
}

/// The head's stored bytes for `appeal` (whose whole history is stored apart).
fn encode_head(appeal: &Appeal) -> Vec<u8> {
    let head = Head {
        stored: u32::try_from(appeal.history.len()).unwrap_or(u32::MAX),
        dropped_by: super::figures::dropped_by(appeal),
        appeal: Appeal { history: Vec::new(), ..appeal.clone() },
        legacy: false,
    };
    let mut bytes = vec![HEAD_V4];
    // Serialising plain data into a growing buffer does not fail.
    bytes.extend(postcard::to_allocvec(&head).expect("an appeal serialises"));
    bytes
}

/// The head stored as `bytes`.
///
/// # Errors
/// When the record is corrupt or of an unknown format.
pub fn decode_head(bytes: &[u8]) -> Result<Head> {
    match bytes.first() {
        Some(&HEAD_V4) => postcard::from_bytes(&bytes[1..]).context("corrupt appeal record"),
        // The number is the last field of the last field: format 3 is format 4 without it.
        Some(&HEAD_V3) => {
            postcard::from_bytes(&[&bytes[1..], &[0]].concat()).context("corrupt appeal record")
        }
        Some(&HEAD_V2) => {
            let head: Head =
                postcard::from_bytes(&[&bytes[1..], &[0]].concat()).context("corrupt appeal record")?;
            Ok(Head { legacy: true, ..head })
        }
        Some(b'{') => {
            let mut value: serde_json::Value =
                serde_json::from_slice(bytes).context("corrupt appeal record (JSON)")?;
            let history = value.as_object_mut().and_then(|o| o.remove("history"));
            let history = history.unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
            let old: Vec<OldEvent> = serde_json::from_value(history).context("corrupt history (JSON)")?;
            let mut appeal: Appeal = serde_json::from_value(value).context("corrupt appeal record (JSON)")?;
            appeal.history = old.into_iter().map(HistoryEvent::from).collect();
            Ok(Head { stored: 0, dropped_by: super::figures::dropped_by(&appeal), appeal, legacy: true })
        }
        Some(1) => bail!("appeal record of format 1 (a development version's): no longer read"),
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
        let values = trees.get(TreeId::History).range(range).values();
        appeal.history = match head.legacy {
            false => values
                .map(|v| postcard::from_bytes::<HistoryEvent>(&v?).context("corrupt history event"))
                .collect::<Result<_>>()?,
            true => values
                .map(|v| Ok(postcard::from_bytes::<OldEvent>(&v?).context("corrupt history event")?.into()))
                .collect::<Result<_>>()?,
        };
    }
    Ok(appeal)
}

/// The writes that store `appeal`: the head, and the events from `from` on (all of them when
/// `from` is 0).
pub fn writes(appeal: &Appeal, from: u32) -> Vec<(TreeId, Vec<u8>, Option<Vec<u8>>)> {
    let mut writes = vec![(TreeId::Appeals, appeal.id.as_bytes().to_vec(), Some(encode_head(appeal)))];
    for (index, event) in appeal.history.iter().enumerate().skip(from as usize) {
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
pub fn load(tx: &mut Tx, id: &str) -> Result<Option<(Appeal, Stored)>> {
    let Some(bytes) = tx.get(TreeId::Appeals, id.as_bytes())? else { return Ok(None) };
    let head = decode_head(&bytes)?;
    let stored = Stored { count: head.stored, legacy: head.legacy };
    Ok(Some((with_history(tx.view(), head)?, stored)))
}

/// Inside a transaction: writes `appeal` over a record with `stored` events apart, and marks
/// its new events that notices and the CRM record may be about (every change of an appeal
/// passes here).
///
/// # Errors
/// On storage failure.
pub fn save(tx: &mut Tx, appeal: &Appeal, stored: Stored) -> Result<()> {
    super::notices::mark(tx, appeal, stored.count);
    let crm_active = tx.crm_active;
    super::crm_updates::mark(tx, appeal, stored.count, crm_active)?;
    rewrite(tx, appeal, stored.write_from());
    Ok(())
}

/// Inside a transaction: writes `appeal` with its events from `from` on, marking nothing (an
/// erasure rewrites what happened; it is not news).
pub fn rewrite(tx: &mut Tx, appeal: &Appeal, from: u32) {
    for (tree, key, value) in writes(appeal, from) {
        if let Some(value) = value {
            tx.insert(tree, key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HEAD_V2, Head, decode_head, read, writes};
    use crate::appeal::{Appeal, Attachment, Status};
    use crate::event::Event;
    use crate::legacy::OldEvent;
    use crate::tx::{Batch, TreeId, Trees};

    fn appeal() -> Appeal {
        Appeal {
            id: "01JABCDEFGHJKMNPQRSTVWXYZ0".into(),
            channel: "telegram".into(),
            text: "Хочу вернуть заказ, магазин 112".into(),
            status: Status::Dropped,
            metadata: vec![("store".into(), "112".into())],
            attachments: vec![Attachment {
                kind: crate::appeal::AttachmentKind::Photo,
                reference: "AgACAgIAAxkBAAIB".into(),
                mime_type: None,
                size: Some(1024),
                file_name: None,
            }],
            ..Appeal::default()
        }
    }

    #[test]
    fn the_history_is_kept_apart_and_older_records_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::engine::Db::open(dir.path(), 1 << 20).unwrap();
        let trees = Trees::open(&db).unwrap();
        let mut appeal = appeal();
        appeal.record(1, None, Event::Received { raw_request: "R1".into() });
        appeal.record(
            2,
            Some("contest-filter@0.1.0".into()),
            Event::Dropped { reason: "contest noise".into() },
        );
        Batch::writes(writes(&appeal, 0)).apply(&trees, None).unwrap();
        let head = trees.get(TreeId::Appeals).get(&appeal.id).unwrap().unwrap();
        assert_eq!(read(&trees, &head).unwrap(), appeal);
        let decoded = decode_head(&head).unwrap();
        assert_eq!((decoded.stored, decoded.appeal.history.len(), decoded.legacy), (2, 0, false));
        assert_eq!(decoded.dropped_by.as_deref(), Some("contest-filter@0.1.0\0contest noise"));

        // One more event: the head and that event are written, nothing else.
        appeal.record(3, None, Event::Reopened { by: None });
        let more = writes(&appeal, 2);
        assert_eq!(more.iter().map(|w| w.0).collect::<Vec<_>>(), [TreeId::Appeals, TreeId::History]);
        Batch::writes(more).apply(&trees, None).unwrap();
        let head = trees.get(TreeId::Appeals).get(&appeal.id).unwrap().unwrap();
        assert_eq!(read(&trees, &head).unwrap(), appeal);
        assert!(decode_head(&[9, 1, 2]).is_err());
        assert!(decode_head(&head[..head.len() / 2]).is_err());
    }

    #[test]
    fn records_of_format_2_and_json_read_as_typed_events() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::engine::Db::open(dir.path(), 1 << 20).unwrap();
        let trees = Trees::open(&db).unwrap();
        let appeal = appeal();
        let old = [
            OldEvent { at: 1, stage: "received".into(), plugin: None, detail: "raw request R1".into() },
            OldEvent {
                at: 2,
                stage: "dropped".into(),
                plugin: Some("contest-filter@0.1.0".into()),
                detail: "contest noise".into(),
            },
        ];
        // A head as the previous version wrote it, its events apart as stages and words.
        let head = Head { stored: 2, dropped_by: None, appeal: appeal.clone(), legacy: false };
        let mut bytes = vec![HEAD_V2];
        bytes.extend(postcard::to_allocvec(&head).unwrap());
        // Without the number that came later (0 is one byte).
        assert_eq!(bytes.pop(), Some(0));
        let mut batch = vec![(TreeId::Appeals, appeal.id.as_bytes().to_vec(), Some(bytes))];
        for (n, event) in old.iter().enumerate() {
            let key = [appeal.id.as_bytes(), &[0], &(n as u32).to_be_bytes()].concat();
            batch.push((TreeId::History, key, Some(postcard::to_allocvec(event).unwrap())));
        }
        Batch::writes(batch).apply(&trees, None).unwrap();
        let stored = trees.get(TreeId::Appeals).get(&appeal.id).unwrap().unwrap();
        let read_back = read(&trees, &stored).unwrap();
        assert_eq!(
            read_back.history[0].event,
            Event::Legacy { stage: "received".into(), detail: "raw request R1".into() }
        );
        assert_eq!(read_back.history[1].event, Event::Dropped { reason: "contest noise".into() });
        assert!(decode_head(&stored).unwrap().legacy);

        // Written again: typed throughout.
        Batch::writes(writes(&read_back, 0)).apply(&trees, None).unwrap();
        let stored = trees.get(TreeId::Appeals).get(&appeal.id).unwrap().unwrap();
        assert!(!decode_head(&stored).unwrap().legacy);
        assert_eq!(read(&trees, &stored).unwrap(), read_back);

        // A JSON record of the sled era, its history inline.
        let mut json = serde_json::to_value(&appeal).unwrap();
        json["history"] = serde_json::to_value(&old).unwrap();
        let legacy = decode_head(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!((legacy.stored, legacy.appeal.history.len(), legacy.legacy), (0, 2, true));
        assert_eq!(legacy.dropped_by.as_deref(), Some("contest-filter@0.1.0\0contest noise"));
    }
}
