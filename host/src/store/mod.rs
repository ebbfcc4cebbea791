//! Durable state: one sled database in the data directory, one tree per kind of record, and
//! optionally a NATS JetStream cluster that replicates it among nodes.
//!
//! The rest of the host talks to [`Store`] only through its methods (appeals, raw requests,
//! idempotency and conversation keys, plugins, activations, the directory, plugin key-value).
//! Every write is a [`tx::Tx`] over the node's view, committed by the backend: on one machine
//! applied to sled at once and acknowledged after [`Store::commit`], which shares one sled flush
//! among all concurrent callers (group commit); in a cluster ([`cluster`]) acknowledged by
//! JetStream and applied by every node in the stream's order.

pub mod cluster;
mod commit;
mod raw;
pub mod tx;

pub use raw::RawRequest;

use crate::appeal::{Appeal, Status};
use crate::directory::Directory;
use anyhow::{Context, Result};
use serde::{Serialize, de::DeserializeOwned};
use std::path::Path;
use std::sync::{Arc, RwLock};
use tx::{Batch, TreeId, Trees, Tx};

/// The database, its trees and the backend that commits writes.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    trees: Trees,
    directory: Arc<RwLock<Arc<Directory>>>,
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// One machine: sled with group commit.
    Local(commit::GroupCommit),
    /// A node of a JetStream cluster.
    Cluster(Arc<cluster::Cluster>),
}

/// Result of storing a message under its idempotency key.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key was new; the write happened.
    New,
    /// The key was seen before (it belongs to this appeal); nothing was written.
    Seen(String),
}

const DIRECTORY_KEY: &[u8] = b"directory";

/// One saving of the routing directory: when, by whom, what changed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DirectoryChange {
    /// When (ms since the epoch).
    pub at: u64,
    /// Who: the token's holder (`admin` for the admin token).
    pub by: String,
    /// One line per changed entry (see `Directory::changes`).
    pub changes: Vec<String>,
}

impl Store {
    /// Opens (or creates) the database under `dir`, on its own.
    ///
    /// # Errors
    /// When sled cannot open the directory (permissions, another process holds it).
    pub fn open(dir: &Path) -> Result<Self> {
        let db = open_db(dir)?;
        let trees = Trees::open(&db)?;
        let backend = Backend::Local(commit::GroupCommit::start(db.clone()));
        let store = Self { db, trees, directory: Arc::default(), backend };
        store.reload_directory()?;
        Ok(store)
    }

    /// Opens the node's view under `dir` and joins the cluster: the view is brought up to
    /// date before this returns, and the directory snapshot follows the other nodes' changes.
    ///
    /// # Errors
    /// When the database cannot be opened or the cluster cannot be joined.
    pub async fn join(dir: &Path, options: &cluster::ClusterOptions) -> Result<Self> {
        let db = open_db(dir)?;
        let trees = Trees::open(&db)?;
        let cluster = cluster::Cluster::join(options, &db, &trees).await?;
        let store = Self { db, trees, directory: Arc::default(), backend: Backend::Cluster(cluster.clone()) };
        store.reload_directory()?;
        let follower = store.clone();
        cluster.on_control_change(move |tree| {
            if tree == TreeId::Settings
                && let Err(e) = follower.reload_directory()
            {
                tracing::error!("reloading the directory: {e:#}");
            }
        });
        Ok(store)
    }

    /// Reads the directory from its tree into the shared snapshot (after a change arrived
    /// from another node).
    fn reload_directory(&self) -> Result<()> {
        let directory = match self.trees.get(TreeId::Settings).get(DIRECTORY_KEY)? {
            Some(bytes) => serde_json::from_slice(&bytes).context("reading the directory")?,
            None => Directory::default(),
        };
        *self.directory.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(directory);
        Ok(())
    }

    fn tree(&self, tree: TreeId) -> &sled::Tree {
        self.trees.get(tree)
    }

    /// Runs `logic` as a transaction and commits it; runs it again on a conflict (another
    /// writer changed what it read).
    fn write<T>(&self, logic: impl Fn(&mut Tx) -> Result<T>) -> Result<T> {
        loop {
            let mut tx = Tx::new(&self.trees);
            let out = logic(&mut tx)?;
            let batch = tx.into_batch();
            if batch.is_empty() || self.submit(batch)? {
                return Ok(out);
            }
        }
    }

    /// Commits writes that depend on nothing read.
    fn write_blind(&self, writes: Vec<(TreeId, Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        self.submit(Batch::writes(writes)).map(drop)
    }

    fn submit(&self, batch: Batch) -> Result<bool> {
        match &self.backend {
            Backend::Local(_) => batch.apply(&self.trees, None),
            Backend::Cluster(cluster) => cluster.submit(batch),
        }
    }

    /// The cluster this node belongs to, if any.
    pub fn cluster(&self) -> Option<&Arc<cluster::Cluster>> {
        match &self.backend {
            Backend::Cluster(cluster) => Some(cluster),
            Backend::Local(_) => None,
        }
    }

    /// Makes every write so far durable. Concurrent callers share one flush. In a cluster
    /// every write was acknowledged by JetStream already.
    ///
    /// # Errors
    /// When the flush fails (disk full, I/O error).
    pub async fn commit(&self) -> Result<()> {
        match &self.backend {
            Backend::Local(commit) => commit.flush().await,
            Backend::Cluster(_) => Ok(()),
        }
    }

    /// Flushes synchronously (admin operations, shutdown).
    ///
    /// # Errors
    /// When the flush fails.
    pub fn flush_now(&self) -> Result<()> {
        self.db.flush().context("flushing the database")?;
        Ok(())
    }

    // --- raw requests -------------------------------------------------------------------

    /// Keeps a raw webhook request.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_raw(&self, raw: &RawRequest) -> Result<()> {
        self.write_blind(vec![(TreeId::Raw, raw.id.as_bytes().to_vec(), Some(raw.encode()))])
    }

    /// A raw request by id.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn raw(&self, id: &str) -> Result<Option<RawRequest>> {
        let Some(mut raw) =
            self.tree(TreeId::Raw).get(id.as_bytes())?.map(|b| RawRequest::decode(&b)).transpose()?
        else {
            return Ok(None);
        };
        if let Some(outcome) = self.tree(TreeId::RawOutcomes).get(id.as_bytes())? {
            raw.outcome = String::from_utf8_lossy(&outcome).into_owned();
        }
        Ok(Some(raw))
    }

    /// Records what became of a raw request (`appeal 01H…`, `unauthorized: …`), beside it so
    /// the body is written once (in a cluster, the request is written here, with its outcome).
    ///
    /// # Errors
    /// On storage failure.
    pub fn set_raw_outcome(&self, raw: &mut RawRequest, outcome: String) -> Result<()> {
        let mut writes =
            vec![(TreeId::RawOutcomes, raw.id.as_bytes().to_vec(), Some(outcome.as_bytes().to_vec()))];
        // A cluster node keeps the request with its outcome (one write); it travelled in the intake.
        if self.cluster().is_some() {
            writes.push((TreeId::Raw, raw.id.as_bytes().to_vec(), Some(raw.encode())));
        }
        self.write_blind(writes)?;
        raw.outcome = outcome;
        Ok(())
    }

    // --- appeals ------------------------------------------------------------------------

    /// Writes an appeal (insert or replace).
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_appeal(&self, appeal: &Appeal) -> Result<()> {
        self.write_blind(vec![(
            TreeId::Appeals,
            appeal.id.as_bytes().to_vec(),
            Some(serde_json::to_vec(appeal)?),
        )])
    }

    /// An appeal by id.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn appeal(&self, id: &str) -> Result<Option<Appeal>> {
        get_json(self.tree(TreeId::Appeals), id.as_bytes())
    }

    /// Appeals newest first, optionally filtered, starting after `cursor` (an appeal id).
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn list_appeals(
        &self,
        status: Option<Status>,
        channel: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Appeal>> {
        let appeals = self.tree(TreeId::Appeals);
        let range = match before {
            Some(cursor) => appeals.range(..cursor.as_bytes().to_vec()),
            None => appeals.range::<Vec<u8>, _>(..),
        };
        let mut out = Vec::new();
        for entry in range.rev() {
            let (_, bytes) = entry?;
            let appeal: Appeal = serde_json::from_slice(&bytes)?;
            if status.is_some_and(|s| s != appeal.status) || channel.is_some_and(|c| c != appeal.channel) {
                continue;
            }
            out.push(appeal);
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Calls `visit` with every appeal received in `[from, to)` (ms since the epoch).
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn appeals_received(&self, from: u64, to: u64, mut visit: impl FnMut(Appeal)) -> Result<()> {
        for entry in self.tree(TreeId::Appeals).iter() {
            let (_, bytes) = entry?;
            let appeal: Appeal = serde_json::from_slice(&bytes)?;
            if (from..to).contains(&appeal.received_at) {
                visit(appeal);
            }
        }
        Ok(())
    }

    /// Number of appeals stored.
    pub fn appeal_count(&self) -> usize {
        self.tree(TreeId::Appeals).len()
    }

    /// The appeal that already has `channel`+`platform_id`, if any.
    ///
    /// # Errors
    /// On storage failure.
    pub fn seen(&self, channel: &str, platform_id: &str) -> Result<Option<String>> {
        Ok(self
            .tree(TreeId::Idempotency)
            .get(pair_key(channel, platform_id))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The id a new appeal for `channel`+`platform_id` gets: a fresh ULID on one machine; in a
    /// cluster the one claimed for that message in the idempotency bucket, so every node that
    /// processes the same message agrees on it.
    ///
    /// # Errors
    /// When the cluster's bucket cannot be reached.
    pub fn appeal_id_for(&self, channel: &str, platform_id: &str) -> Result<String> {
        let fresh = ulid::Ulid::new().to_string();
        match &self.backend {
            Backend::Local(_) => Ok(fresh),
            Backend::Cluster(cluster) => cluster.claim_id(&pair_key(channel, platform_id), &fresh),
        }
    }

    /// Stores a new appeal, its idempotency key (channel + platform id), its conversation and
    /// its contact, atomically — unless another appeal claimed the key first. The contact is
    /// the one any of the appeal's identities (E.164 phone, e-mail, the channel's user id)
    /// already belongs to, else a new one; `appeal.contact_id` is set to it. With `to_crm`, the
    /// appeal enters the CRM outbox in the same transaction.
    ///
    /// # Errors
    /// On storage failure.
    pub fn insert_appeal(&self, appeal: &mut Appeal, to_crm: bool) -> Result<Claim> {
        let key = pair_key(&appeal.channel, &appeal.platform_id);
        let conversation = pair_key(&appeal.channel, &appeal.conversation_key);
        let identities = contact_identities(appeal);
        let fresh_contact = ulid::Ulid::new().to_string();
        let (claim, contact) = self.write(|tx| {
            if let Some(owner) = tx.get(TreeId::Idempotency, &key)? {
                return Ok((Claim::Seen(String::from_utf8_lossy(&owner).into_owned()), None));
            }
            let mut known = None;
            for identity in &identities {
                if let Some(id) = tx.get(TreeId::Contacts, identity.as_bytes())? {
                    known = Some(String::from_utf8_lossy(&id).into_owned());
                    break;
                }
            }
            let contact = known.unwrap_or_else(|| fresh_contact.clone());
            for identity in &identities {
                if tx.get(TreeId::Contacts, identity.as_bytes())?.is_none() {
                    tx.insert(TreeId::Contacts, identity.as_bytes(), contact.as_bytes());
                }
            }
            let stored = Appeal { contact_id: Some(contact.clone()), ..appeal.clone() };
            tx.insert(TreeId::Appeals, appeal.id.as_bytes(), serde_json::to_vec(&stored)?);
            tx.insert(TreeId::Idempotency, key.as_slice(), appeal.id.as_bytes());
            tx.insert(TreeId::Conversations, conversation.as_slice(), appeal.id.as_bytes());
            tx.insert(TreeId::ContactAppeals, pair_key(&contact, &appeal.id), []);
            if to_crm {
                tx.insert(TreeId::CrmOutbox, appeal.id.as_bytes(), []);
            }
            if stored.is_waiting() {
                tx.insert(TreeId::Waiting, appeal.id.as_bytes(), []);
            }
            Ok((Claim::New, Some(contact)))
        })?;
        if contact.is_some() {
            appeal.contact_id = contact;
        }
        Ok(claim)
    }

    /// Ids of a contact's appeals, newest first, at most `limit`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn contact_appeals(&self, contact_id: &str, limit: usize) -> Result<Vec<String>> {
        let prefix = pair_key(contact_id, "");
        self.tree(TreeId::ContactAppeals)
            .scan_prefix(&prefix)
            .keys()
            .rev()
            .take(limit)
            .map(|k| Ok(String::from_utf8_lossy(&k?[prefix.len()..]).into_owned()))
            .collect()
    }

    /// Changes a stored appeal atomically (read, `change`, write), and with `claim`, also
    /// claims that (channel, platform id) for it — unless another appeal has it. `None` when
    /// there is no such appeal.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn update_appeal(
        &self,
        id: &str,
        claim: Option<(&str, &str)>,
        change: impl Fn(&mut Appeal),
    ) -> Result<Option<Claim>> {
        let key = claim.map(|(channel, platform_id)| pair_key(channel, platform_id));
        self.write(|tx| {
            if let Some(key) = &key
                && let Some(owner) = tx.get(TreeId::Idempotency, key)?
            {
                return Ok(Some(Claim::Seen(String::from_utf8_lossy(&owner).into_owned())));
            }
            if change_in(tx, id, &change)?.is_none() {
                return Ok(None);
            }
            if let Some(key) = &key {
                tx.insert(TreeId::Idempotency, key.as_slice(), id.as_bytes());
            }
            Ok(Some(Claim::New))
        })
    }

    // --- replies ------------------------------------------------------------------------

    /// Changes an appeal in one transaction that keeps every index derived from it in step:
    /// the reply outbox (a queued reply is in it, any other is not), replies by platform
    /// message id ([`Store::reply_by_message`]), the appeals waiting for an employee
    /// ([`Store::waiting`]) and the open appeals each employee holds ([`Store::holdings`]). The
    /// changed appeal, or `None` when there is no such appeal.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn change_appeal(&self, appeal_id: &str, change: impl Fn(&mut Appeal)) -> Result<Option<Appeal>> {
        self.write(|tx| {
            let Some(bytes) = tx.get(TreeId::Appeals, appeal_id.as_bytes())? else {
                return Ok(None);
            };
            let before: Appeal = serde_json::from_slice(&bytes).context("corrupt appeal record")?;
            let mut appeal = before.clone();
            change(&mut appeal);
            tx.insert(TreeId::Appeals, appeal_id.as_bytes(), serde_json::to_vec(&appeal)?);
            for reply in &appeal.replies {
                let queued = before.replies.iter().any(|r| r.id == reply.id && r.is_queued());
                match (reply.is_queued(), queued) {
                    (true, false) => {
                        tx.insert(TreeId::ReplyOutbox, reply.id.as_bytes(), appeal_id.as_bytes())
                    }
                    (false, true) => tx.remove(TreeId::ReplyOutbox, reply.id.as_bytes()),
                    _ => {}
                }
                let known = before
                    .replies
                    .iter()
                    .any(|r| r.id == reply.id && r.platform_message_id == reply.platform_message_id);
                if let Some(message) = &reply.platform_message_id
                    && !known
                {
                    tx.insert(
                        TreeId::ReplyMessages,
                        pair_key(&appeal.channel, message),
                        pair_key(appeal_id, &reply.id),
                    );
                }
            }
            if appeal.is_waiting() != before.is_waiting() {
                match appeal.is_waiting() {
                    true => tx.insert(TreeId::Waiting, appeal_id.as_bytes(), []),
                    false => tx.remove(TreeId::Waiting, appeal_id.as_bytes()),
                }
            }
            if before.holder() != appeal.holder() {
                if let Some(old) = before.holder() {
                    tx.remove(TreeId::Holding, pair_key(old, appeal_id));
                }
                if let Some(new) = appeal.holder() {
                    tx.insert(TreeId::Holding, pair_key(new, appeal_id), []);
                }
            }
            Ok(Some(appeal))
        })
    }

    /// Appeals waiting for an employee, oldest first.
    ///
    /// # Errors
    /// On storage failure.
    pub fn waiting(&self) -> Result<Vec<String>> {
        keys_of(self.tree(TreeId::Waiting))
    }

    /// (employee id, appeal id) of every open appeal an employee holds.
    ///
    /// # Errors
    /// On storage failure.
    pub fn holdings(&self) -> Result<Vec<(String, String)>> {
        self.tree(TreeId::Holding)
            .iter()
            .keys()
            .map(|k| {
                let key = String::from_utf8_lossy(&k?).into_owned();
                let (employee, appeal) = key.split_once('\0').unwrap_or((&key, ""));
                Ok((employee.to_string(), appeal.to_string()))
            })
            .collect()
    }

    /// The outbox: (reply id, appeal id) of every queued reply, oldest first.
    ///
    /// # Errors
    /// On storage failure.
    pub fn queued_replies(&self) -> Result<Vec<(String, String)>> {
        self.outbox(TreeId::ReplyOutbox)?
            .into_iter()
            .map(|(key, value)| {
                Ok((String::from_utf8_lossy(&key).into_owned(), String::from_utf8_lossy(&value).into_owned()))
            })
            .collect()
    }

    /// The items of an outbox this node should work on, oldest first: all of them on one
    /// machine; in a cluster, those it claimed from the outbox stream.
    fn outbox(&self, tree: TreeId) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let items = self.tree(tree);
        match &self.backend {
            Backend::Local(_) => {
                items.iter().map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into)).collect()
            }
            Backend::Cluster(cluster) => {
                let keys = cluster.claimed(tree, |key| items.contains_key(key).unwrap_or(false))?;
                Ok(keys
                    .into_iter()
                    .filter_map(|k| Some((k.clone(), items.get(&k).ok()??.to_vec())))
                    .collect())
            }
        }
    }

    /// The (appeal id, reply id) of the reply the platform knows as `message` on `channel`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn reply_by_message(&self, channel: &str, message: &str) -> Result<Option<(String, String)>> {
        Ok(self.tree(TreeId::ReplyMessages).get(pair_key(channel, message))?.and_then(|v| {
            let text = String::from_utf8_lossy(&v).into_owned();
            text.split_once('\0').map(|(a, r)| (a.to_string(), r.to_string()))
        }))
    }

    // --- CRM outbox ---------------------------------------------------------------------

    /// Appeals waiting for delivery to the CRM, oldest first.
    ///
    /// # Errors
    /// On storage failure.
    pub fn crm_queue(&self) -> Result<Vec<String>> {
        Ok(self
            .outbox(TreeId::CrmOutbox)?
            .into_iter()
            .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
            .collect())
    }

    /// How many appeals and notes wait for the CRM.
    pub fn crm_queue_len(&self) -> usize {
        self.tree(TreeId::CrmOutbox).len() + self.tree(TreeId::CrmNotes).len()
    }

    /// Records the CRM delivery of an appeal (`change` sets its link and history) and takes it
    /// out of the CRM outbox; the note `note` makes of the recorded appeal (its conversation so
    /// far) is queued for the record's timeline — all in one transaction.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn crm_delivered(
        &self,
        appeal_id: &str,
        change: impl Fn(&mut Appeal),
        note: impl Fn(&Appeal) -> Option<String>,
    ) -> Result<()> {
        let note_key = ulid::Ulid::new().to_string();
        self.write(|tx| {
            if let Some(appeal) = change_in(tx, appeal_id, &change)?
                && let Some(text) = note(&appeal)
            {
                tx.insert(TreeId::CrmNotes, note_key.as_bytes(), pair_key(appeal_id, &text));
            }
            tx.remove(TreeId::CrmOutbox, appeal_id.as_bytes());
            Ok(())
        })
    }

    /// Queues a note for the CRM record of an appeal (a later message of the customer).
    ///
    /// # Errors
    /// On storage failure.
    pub fn queue_crm_note(&self, appeal_id: &str, text: &str) -> Result<()> {
        let key = ulid::Ulid::new().to_string();
        self.write_blind(vec![(TreeId::CrmNotes, key.into_bytes(), Some(pair_key(appeal_id, text)))])
    }

    /// Notes waiting for the CRM, oldest first: (key, appeal id, text).
    ///
    /// # Errors
    /// On storage failure.
    pub fn crm_notes(&self) -> Result<Vec<(String, String, String)>> {
        self.outbox(TreeId::CrmNotes)?
            .into_iter()
            .map(|(key, value)| {
                let value = String::from_utf8_lossy(&value).into_owned();
                let (appeal, text) = value.split_once('\0').unwrap_or((&value, ""));
                Ok((String::from_utf8_lossy(&key).into_owned(), appeal.to_string(), text.to_string()))
            })
            .collect()
    }

    /// Drops a sent note.
    ///
    /// # Errors
    /// On storage failure.
    pub fn crm_note_sent(&self, key: &str) -> Result<()> {
        self.write_blind(vec![(TreeId::CrmNotes, key.as_bytes().to_vec(), None)])
    }

    // --- API tokens -------------------------------------------------------------------

    /// Stores an issued token's record under its digest.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_token<T: Serialize>(&self, digest: &str, record: &T) -> Result<()> {
        self.write_blind(vec![(
            TreeId::Tokens,
            digest.as_bytes().to_vec(),
            Some(serde_json::to_vec(record)?),
        )])?;
        self.flush_now()
    }

    /// The record of the token with this digest.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn token<T: DeserializeOwned>(&self, digest: &str) -> Result<Option<T>> {
        get_json(self.tree(TreeId::Tokens), digest.as_bytes())
    }

    /// Every issued token's record.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn tokens<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        values_of(self.tree(TreeId::Tokens))
    }

    /// Revokes the tokens whose digest starts with `id`; how many.
    ///
    /// # Errors
    /// On storage failure.
    pub fn revoke_token(&self, id: &str) -> Result<usize> {
        let keys: Vec<_> =
            self.tree(TreeId::Tokens).scan_prefix(id.as_bytes()).keys().collect::<Result<_, _>>()?;
        self.write_blind(keys.iter().map(|k| (TreeId::Tokens, k.to_vec(), None)).collect())?;
        self.flush_now()?;
        Ok(keys.len())
    }

    // --- shadow comparisons ------------------------------------------------------------

    /// Stores a shadow comparison of `label` for an appeal.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_shadow<T: Serialize>(&self, label: &str, appeal_id: &str, comparison: &T) -> Result<()> {
        self.write_blind(vec![(
            TreeId::Shadow,
            pair_key(label, appeal_id),
            Some(serde_json::to_vec(comparison)?),
        )])
    }

    /// Every shadow comparison of `label`, oldest first.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn shadow_comparisons<T: DeserializeOwned>(&self, label: &str) -> Result<Vec<T>> {
        let prefix = pair_key(label, "");
        self.tree(TreeId::Shadow)
            .scan_prefix(prefix)
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// The appeal a conversation's last message belongs to.
    ///
    /// # Errors
    /// On storage failure.
    pub fn conversation(&self, channel: &str, key: &str) -> Result<Option<String>> {
        Ok(self
            .tree(TreeId::Conversations)
            .get(pair_key(channel, key))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    // --- plugins ------------------------------------------------------------------------

    /// Stores a plugin binary under its sha256 and its record under `name@version`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_plugin<R: Serialize>(&self, key: &str, record: &R, sha256: &str, bytes: &[u8]) -> Result<()> {
        match &self.backend {
            Backend::Local(_) => {
                self.write_blind(vec![(TreeId::Blobs, sha256.as_bytes().to_vec(), Some(bytes.to_vec()))])?
            }
            Backend::Cluster(cluster) => {
                cluster.put_blob(sha256, bytes)?;
                self.tree(TreeId::Blobs).insert(sha256.as_bytes(), bytes)?;
            }
        }
        self.write_blind(vec![(TreeId::Plugins, key.as_bytes().to_vec(), Some(serde_json::to_vec(record)?))])
    }

    /// A plugin record by `name@version`.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn plugin<R: DeserializeOwned>(&self, key: &str) -> Result<Option<R>> {
        get_json(self.tree(TreeId::Plugins), key.as_bytes())
    }

    /// Every plugin record.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn plugins<R: DeserializeOwned>(&self) -> Result<Vec<R>> {
        values_of(self.tree(TreeId::Plugins))
    }

    /// A plugin binary by sha256 (in a cluster, fetched once from the object store).
    ///
    /// # Errors
    /// On storage failure.
    pub fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.tree(TreeId::Blobs).get(sha256.as_bytes())? {
            return Ok(Some(bytes.to_vec()));
        }
        let Some(cluster) = self.cluster() else { return Ok(None) };
        let bytes = cluster.blob(sha256)?;
        if let Some(bytes) = &bytes {
            self.tree(TreeId::Blobs).insert(sha256.as_bytes(), bytes.as_slice())?;
        }
        Ok(bytes)
    }

    /// A plugin's activation state by name.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn activation<R: DeserializeOwned>(&self, name: &str) -> Result<Option<R>> {
        get_json(self.tree(TreeId::Activations), name.as_bytes())
    }

    /// Writes a plugin's activation state.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_activation<R: Serialize>(&self, name: &str, state: &R) -> Result<()> {
        self.write_blind(vec![(
            TreeId::Activations,
            name.as_bytes().to_vec(),
            Some(serde_json::to_vec(state)?),
        )])
    }

    /// Every activation state.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn activations<R: DeserializeOwned>(&self) -> Result<Vec<R>> {
        values_of(self.tree(TreeId::Activations))
    }

    /// Whether anything was ever installed (a fresh data dir has no plugins).
    pub fn is_fresh(&self) -> bool {
        self.tree(TreeId::Plugins).is_empty()
    }

    // --- directory ----------------------------------------------------------------------

    /// The current routing directory (a cheap shared snapshot).
    pub fn directory(&self) -> Arc<Directory> {
        self.directory.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the routing directory (already validated) and flushes.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_directory(&self, directory: Directory) -> Result<()> {
        self.put_directory_by(directory, "host")
    }

    /// Replaces the routing directory and records who did it and what changed (the directory's
    /// history, `GET /api/directory/history`).
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_directory_by(&self, directory: Directory, by: &str) -> Result<()> {
        let change = DirectoryChange {
            at: crate::clock::now_ms(),
            by: by.to_string(),
            changes: self.directory().changes(&directory),
        };
        self.write_blind(vec![
            (
                TreeId::DirectoryLog,
                ulid::Ulid::new().to_string().into_bytes(),
                Some(serde_json::to_vec(&change)?),
            ),
            (TreeId::Settings, DIRECTORY_KEY.to_vec(), Some(serde_json::to_vec(&directory)?)),
        ])?;
        self.flush_now()?;
        *self.directory.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(directory);
        Ok(())
    }

    /// The directory's changes, newest first, at most `limit`.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn directory_changes(&self, limit: usize) -> Result<Vec<DirectoryChange>> {
        self.tree(TreeId::DirectoryLog)
            .iter()
            .values()
            .rev()
            .take(limit)
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    // --- plugin key-value ---------------------------------------------------------------

    /// A plugin's key-value namespace.
    pub fn plugin_kv(&self, plugin: &str) -> PluginKv {
        let mut prefix = plugin.as_bytes().to_vec();
        prefix.push(0);
        PluginKv { store: self.clone(), prefix }
    }
}

/// One plugin's key-value namespace: every key is stored under `name\0`, so a plugin cannot
/// name another's keys.
#[derive(Clone)]
pub struct PluginKv {
    store: Store,
    prefix: Vec<u8>,
}

impl PluginKv {
    fn key(&self, key: &str) -> Vec<u8> {
        [self.prefix.as_slice(), key.as_bytes()].concat()
    }

    /// The value under `key`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.store.tree(TreeId::Kv).get(self.key(key))?.map(|v| v.to_vec()))
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.store.write_blind(vec![(TreeId::Kv, self.key(key), Some(value.to_vec()))])
    }

    /// Removes `key`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.store.write_blind(vec![(TreeId::Kv, self.key(key), None)])
    }

    /// Keys starting with `prefix`, at most `limit`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>> {
        self.store
            .tree(TreeId::Kv)
            .scan_prefix(self.key(prefix))
            .keys()
            .take(limit)
            .map(|k| Ok(String::from_utf8_lossy(&k?[self.prefix.len()..]).into_owned()))
            .collect()
    }
}

fn open_db(dir: &Path) -> Result<sled::Db> {
    sled::Config::new()
        .path(dir.join("db"))
        .mode(sled::Mode::HighThroughput)
        .open()
        .with_context(|| format!("opening the database in {}", dir.display()))
}

/// The keys a contact is recognised by across channels.
fn contact_identities(appeal: &Appeal) -> Vec<String> {
    let contact = &appeal.contact;
    let mut identities = Vec::new();
    if let Some(phone) = contact.phone.as_deref().filter(|p| p.starts_with('+')) {
        identities.push(format!("phone:{phone}"));
    }
    if let Some(email) = contact.email.as_deref().filter(|e| e.contains('@')) {
        identities.push(format!("email:{email}"));
    }
    if let Some(user) = &contact.platform_user_id {
        identities.push(format!("{}:{user}", appeal.channel));
    }
    identities
}

/// Reads, changes and writes back one appeal inside a transaction; `None` when it is absent.
fn change_in(tx: &mut Tx, id: &str, change: &impl Fn(&mut Appeal)) -> Result<Option<Appeal>> {
    let Some(bytes) = tx.get(TreeId::Appeals, id.as_bytes())? else {
        return Ok(None);
    };
    let mut appeal: Appeal = serde_json::from_slice(&bytes).context("corrupt appeal record")?;
    change(&mut appeal);
    tx.insert(TreeId::Appeals, id.as_bytes(), serde_json::to_vec(&appeal)?);
    Ok(Some(appeal))
}

fn pair_key(a: &str, b: &str) -> Vec<u8> {
    [a.as_bytes(), &[0], b.as_bytes()].concat()
}

fn get_json<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>> {
    tree.get(key)?.map(|v| Ok(serde_json::from_slice(&v)?)).transpose()
}

fn values_of<T: DeserializeOwned>(tree: &sled::Tree) -> Result<Vec<T>> {
    tree.iter().values().map(|v| Ok(serde_json::from_slice(&v?)?)).collect()
}

fn keys_of(tree: &sled::Tree) -> Result<Vec<String>> {
    tree.iter().keys().map(|k| Ok(String::from_utf8_lossy(&k?).into_owned())).collect()
}
