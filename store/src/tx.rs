//! Writes as data. A [`Tx`] runs the store's logic against the node's view of the trees and
//! records what it read and what it writes; the resulting [`Batch`] is committed atomically,
//! and only if nothing it read has changed meanwhile (optimistic concurrency).
//!
//! On one machine a batch is applied to the database at once. In a cluster the same batch goes through
//! a JetStream stream and every node applies it in the stream's order with the same check, so
//! all nodes reach the same state and agree on which batches won.

use super::engine::{Db, Tree};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Every replicated tree of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs, reason = "each names its tree")]
pub enum TreeId {
    Appeals,
    Raw,
    RawOutcomes,
    Idempotency,
    Conversations,
    Contacts,
    ContactAppeals,
    Plugins,
    Blobs,
    Activations,
    Settings,
    Kv,
    ReplyOutbox,
    ReplyMessages,
    CrmOutbox,
    CrmNotes,
    Shadow,
    Tokens,
    Waiting,
    Holding,
    DirectoryLog,
    AppealIndex,
    Counters,
    SearchPending,
    /// Per-day report figures ([`super::figures`]).
    DayFigures,
    /// Appeals' history events ([`super::record`]).
    History,
    /// Employees' accounts, sessions, invitations and presence ([`super::people`]).
    People,
    /// The audit log ([`super::people`]).
    Audit,
    /// Attachments' files: records, the fetch queue, digests, times ([`super::media`]).
    Media,
    /// Appeal events awaiting their notices ([`super::notices`]).
    Notices,
    /// Customers' verdicts ([`super::surveys`]).
    Surveys,
    /// CRM deliveries and updates handed to the connector without a known outcome
    /// ([`super::crm_updates`]): kept apart from the outboxes, whose inserts are work.
    CrmTried,
}

impl TreeId {
    /// All trees, in the order of [`Trees`].
    pub const ALL: [TreeId; 32] = [
        TreeId::Appeals,
        TreeId::Raw,
        TreeId::RawOutcomes,
        TreeId::Idempotency,
        TreeId::Conversations,
        TreeId::Contacts,
        TreeId::ContactAppeals,
        TreeId::Plugins,
        TreeId::Blobs,
        TreeId::Activations,
        TreeId::Settings,
        TreeId::Kv,
        TreeId::ReplyOutbox,
        TreeId::ReplyMessages,
        TreeId::CrmOutbox,
        TreeId::CrmNotes,
        TreeId::Shadow,
        TreeId::Tokens,
        TreeId::Waiting,
        TreeId::Holding,
        TreeId::DirectoryLog,
        TreeId::AppealIndex,
        TreeId::Counters,
        TreeId::SearchPending,
        TreeId::DayFigures,
        TreeId::History,
        TreeId::People,
        TreeId::Audit,
        TreeId::Media,
        TreeId::Notices,
        TreeId::Surveys,
        TreeId::CrmTried,
    ];

    /// The tree's name (unchanged since the trees were first written).
    pub fn name(self) -> &'static str {
        match self {
            TreeId::Appeals => "appeals",
            TreeId::Raw => "raw_requests",
            TreeId::RawOutcomes => "raw_outcomes",
            TreeId::Idempotency => "idempotency",
            TreeId::Conversations => "conversations",
            TreeId::Contacts => "contacts",
            TreeId::ContactAppeals => "contact_appeals",
            TreeId::Plugins => "plugins",
            TreeId::Blobs => "plugin_blobs",
            TreeId::Activations => "activations",
            TreeId::Settings => "settings",
            TreeId::Kv => "plugin_kv",
            TreeId::ReplyOutbox => "reply_outbox",
            TreeId::ReplyMessages => "reply_messages",
            TreeId::CrmOutbox => "crm_outbox",
            TreeId::CrmNotes => "crm_notes",
            TreeId::Shadow => "shadow",
            TreeId::Tokens => "tokens",
            TreeId::Waiting => "waiting",
            TreeId::Holding => "holding",
            TreeId::DirectoryLog => "directory_log",
            TreeId::AppealIndex => "appeal_index",
            TreeId::Counters => "counters",
            TreeId::SearchPending => "search_pending",
            TreeId::DayFigures => "day_figures",
            TreeId::History => "appeal_history",
            TreeId::People => "people",
            TreeId::Audit => "audit",
            TreeId::Media => "media",
            TreeId::Notices => "notices",
            TreeId::Surveys => "surveys",
            TreeId::CrmTried => "crm_tried",
        }
    }

    /// The tree a name belongs to.
    pub fn from_name(name: &str) -> Option<TreeId> {
        TreeId::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Control-plane trees: plugins, activations and configuration, the directory, tokens, people
    /// and the audit log. In
    /// a cluster they live in a key-value bucket that every node watches.
    pub fn is_control(self) -> bool {
        matches!(
            self,
            TreeId::Plugins
                | TreeId::Activations
                | TreeId::Settings
                | TreeId::Tokens
                | TreeId::DirectoryLog
                | TreeId::People
                | TreeId::Audit
        )
    }

    /// Outboxes: a key inserted here is work for some node (a CRM delivery, a note, a reply).
    /// In a cluster each insert is also a message on a work-queue stream.
    pub fn is_outbox(self) -> bool {
        matches!(self, TreeId::CrmOutbox | TreeId::CrmNotes | TreeId::ReplyOutbox)
    }

    /// Queues: what they hold is pending work, removed when done, so they are read from
    /// memory ([`super::engine::Db::open_queue`]). The holdings (open work by employee) too:
    /// the dispatcher reads them all every tick.
    pub fn is_queue(self) -> bool {
        self.is_outbox()
            || matches!(
                self,
                TreeId::SearchPending
                    | TreeId::Waiting
                    | TreeId::Notices
                    | TreeId::CrmTried
                    | TreeId::Holding
            )
    }
}

/// The open trees, indexed by [`TreeId`].
#[derive(Clone)]
pub struct Trees {
    db: Db,
    trees: Vec<Tree>,
}

impl Trees {
    /// Opens every tree of `db`.
    ///
    /// # Errors
    /// When a tree cannot be opened.
    pub fn open(db: &Db) -> Result<Self> {
        let trees = TreeId::ALL
            .iter()
            .map(|t| if t.is_queue() { db.open_queue(t.name()) } else { db.open_tree(t.name()) })
            .collect::<Result<_>>()?;
        Ok(Self { db: db.clone(), trees })
    }

    /// The database they are in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// One tree.
    pub fn get(&self, tree: TreeId) -> &Tree {
        &self.trees[tree as usize]
    }
}

/// What a transaction read (to be checked at commit) and what it writes.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Batch {
    /// (tree, key, digest of the value read; `None` when it was absent).
    pub reads: Vec<(TreeId, Vec<u8>, Option<[u8; 16]>)>,
    /// (tree, key, new value; `None` removes it), in order.
    pub writes: Vec<(TreeId, Vec<u8>, Option<Vec<u8>>)>,
    /// The write this batch is an attempt of: the same for every retry of one transaction, so
    /// a cluster queues the work it leaves once however many attempts it took (0: none
    /// given). Not sent with the batch.
    #[serde(skip)]
    pub origin: u64,
}

impl Batch {
    /// A batch of blind writes.
    pub fn writes(writes: Vec<(TreeId, Vec<u8>, Option<Vec<u8>>)>) -> Self {
        Self { reads: Vec::new(), writes, origin: 0 }
    }

    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Applies the batch to `trees` atomically if every read still holds, with `extra`
    /// written alongside (a cluster node's applied position). Whether it was applied.
    ///
    /// # Errors
    /// On storage failure.
    pub fn apply(&self, trees: &Trees, extra: Option<(&Tree, &[u8], &[u8])>) -> Result<bool> {
        let mut write = trees.db.write();
        if let Some((tree, key, value)) = extra {
            write.insert(tree, key, value);
        }
        for (tree, key, digest) in &self.reads {
            if write.get(trees.get(*tree), key)?.map(|v| digest_of(&v)) != *digest {
                // A batch that lost is applied all the same as far as `extra` goes.
                write.commit()?;
                return Ok(false);
            }
        }
        for (tree, key, value) in &self.writes {
            let old = write.get(trees.get(*tree), key)?;
            match value {
                Some(value) => write.insert(trees.get(*tree), key, value),
                None => write.remove(trees.get(*tree), key),
            }
            // An appeal's indexes, counters and figures move in the write that changes it.
            if *tree == TreeId::Appeals {
                let derived = super::index::Derived { write: &mut write, trees };
                derived.maintain(key, old.as_deref(), value.as_deref())?;
                // Marked for the search indexer, with what it will find (the host's `search`).
                let mark = digest_of(value.as_deref().unwrap_or_default());
                write.insert(trees.get(TreeId::SearchPending), key, &mark);
            }
        }
        write.commit()?;
        Ok(true)
    }
}

/// A transaction in progress over a node's view: reads see its own writes.
pub struct Tx<'a> {
    /// Whether a CRM connector is active (appeals that become routed are queued for it).
    pub crm_active: bool,
    trees: &'a Trees,
    batch: Batch,
    written: HashMap<(TreeId, Vec<u8>), Option<Vec<u8>>>,
}

impl<'a> Tx<'a> {
    /// The view it reads, for reads that need no conflict check (what is only ever appended).
    pub fn view(&self) -> &'a Trees {
        self.trees
    }

    /// A transaction over `trees`.
    pub fn new(trees: &'a Trees) -> Self {
        Self { crm_active: false, trees, batch: Batch::default(), written: HashMap::new() }
    }

    /// The value under `key`, as this transaction sees it.
    ///
    /// # Errors
    /// On storage failure.
    pub fn get(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(value) = self.written.get(&(tree, key.to_vec())) {
            return Ok(value.clone());
        }
        let value = self.trees.get(tree).get(key)?.map(|v| v.to_vec());
        if !self.batch.reads.iter().any(|(t, k, _)| *t == tree && k == key) {
            self.batch.reads.push((tree, key.to_vec(), value.as_deref().map(digest_of)));
        }
        Ok(value)
    }

    /// Writes `value` under `key`.
    pub fn insert(&mut self, tree: TreeId, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.put(tree, key.into(), Some(value.into()));
    }

    /// Removes `key`.
    pub fn remove(&mut self, tree: TreeId, key: impl Into<Vec<u8>>) {
        self.put(tree, key.into(), None);
    }

    fn put(&mut self, tree: TreeId, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.written.insert((tree, key.clone()), value.clone());
        self.batch.writes.push((tree, key, value));
    }

    /// The finished batch.
    pub fn into_batch(self) -> Batch {
        self.batch
    }
}

pub(crate) fn digest_of(value: &[u8]) -> [u8; 16] {
    let digest = Sha256::digest(value);
    let mut out = [0; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trees() -> (tempfile::TempDir, Trees) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), 1 << 20).unwrap();
        (dir, Trees::open(&db).unwrap())
    }

    #[test]
    fn a_batch_applies_when_what_it_read_still_holds() {
        let (_dir, trees) = trees();
        let mut tx = Tx::new(&trees);
        assert_eq!(tx.get(TreeId::Kv, b"k").unwrap(), None);
        tx.insert(TreeId::Kv, b"k".to_vec(), b"1".to_vec());
        // A transaction reads its own writes.
        assert_eq!(tx.get(TreeId::Kv, b"k").unwrap(), Some(b"1".to_vec()));
        assert!(tx.into_batch().apply(&trees, None).unwrap());
        assert_eq!(trees.get(TreeId::Kv).get(b"k").unwrap().as_deref(), Some(&b"1"[..]));
    }

    #[test]
    fn a_batch_whose_read_changed_meanwhile_is_not_applied() {
        let (_dir, trees) = trees();
        trees.get(TreeId::Kv).insert(b"k", b"1").unwrap();
        let mut first = Tx::new(&trees);
        let mut second = Tx::new(&trees);
        assert_eq!(first.get(TreeId::Kv, b"k").unwrap(), Some(b"1".to_vec()));
        assert_eq!(second.get(TreeId::Kv, b"k").unwrap(), Some(b"1".to_vec()));
        first.insert(TreeId::Kv, b"k".to_vec(), b"2".to_vec());
        second.insert(TreeId::Kv, b"k".to_vec(), b"3".to_vec());
        assert!(first.into_batch().apply(&trees, None).unwrap());
        // The second read `1`, which is gone: it loses and writes nothing.
        assert!(!second.into_batch().apply(&trees, None).unwrap());
        assert_eq!(trees.get(TreeId::Kv).get(b"k").unwrap().as_deref(), Some(&b"2"[..]));
    }

    #[test]
    fn an_absent_key_read_conflicts_with_its_creation() {
        let (_dir, trees) = trees();
        let mut tx = Tx::new(&trees);
        assert_eq!(tx.get(TreeId::Idempotency, b"telegram\x001").unwrap(), None);
        tx.insert(TreeId::Idempotency, b"telegram\x001".to_vec(), b"A".to_vec());
        trees.get(TreeId::Idempotency).insert(b"telegram\x001", b"B").unwrap();
        assert!(!tx.into_batch().apply(&trees, None).unwrap());
        assert_eq!(trees.get(TreeId::Idempotency).get(b"telegram\x001").unwrap().as_deref(), Some(&b"B"[..]));
    }

    #[test]
    fn an_empty_batch_changes_nothing_and_does_not_fail() {
        let (_dir, trees) = trees();
        assert!(Batch::default().apply(&trees, None).unwrap());
    }

    #[test]
    fn blind_writes_and_removals_apply_in_order() {
        let (_dir, trees) = trees();
        let batch = Batch::writes(vec![
            (TreeId::Kv, b"a".to_vec(), Some(b"1".to_vec())),
            (TreeId::Kv, b"a".to_vec(), None),
            (TreeId::Kv, b"b".to_vec(), Some(b"2".to_vec())),
        ]);
        assert!(batch.apply(&trees, None).unwrap());
        assert_eq!(trees.get(TreeId::Kv).get(b"a").unwrap(), None);
        assert_eq!(trees.get(TreeId::Kv).get(b"b").unwrap().as_deref(), Some(&b"2"[..]));
    }
}
