//! Durable state in sled: one database in the data directory, one tree per kind of record.
//!
//! The rest of the host talks to [`Store`] only through its methods (appeals, raw requests,
//! idempotency and conversation keys, plugins, activations, the directory, plugin key-value),
//! so a deployment that outgrows one machine can swap the engine without touching the
//! pipeline. Writes are acknowledged only after [`Store::commit`], which shares one sled flush
//! among all concurrent callers (group commit).

mod commit;
mod raw;

pub use raw::RawRequest;

use crate::appeal::{Appeal, Status};
use crate::directory::Directory;
use anyhow::{Context, Result};
use serde::{Serialize, de::DeserializeOwned};
use sled::Transactional;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// The database and its trees.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    appeals: sled::Tree,
    raw: sled::Tree,
    raw_outcomes: sled::Tree,
    idempotency: sled::Tree,
    conversations: sled::Tree,
    contacts: sled::Tree,
    contact_appeals: sled::Tree,
    plugins: sled::Tree,
    blobs: sled::Tree,
    activations: sled::Tree,
    settings: sled::Tree,
    kv: sled::Tree,
    outbox: sled::Tree,
    reply_messages: sled::Tree,
    crm_outbox: sled::Tree,
    crm_notes: sled::Tree,
    shadow: sled::Tree,
    tokens: sled::Tree,
    waiting: sled::Tree,
    holding: sled::Tree,
    directory_log: sled::Tree,
    directory: Arc<RwLock<Arc<Directory>>>,
    commit: commit::GroupCommit,
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
    /// Opens (or creates) the database under `dir`.
    ///
    /// # Errors
    /// When sled cannot open the directory (permissions, another process holds it).
    pub fn open(dir: &Path) -> Result<Self> {
        let db = sled::Config::new()
            .path(dir.join("db"))
            .mode(sled::Mode::HighThroughput)
            .open()
            .with_context(|| format!("opening the database in {}", dir.display()))?;
        let tree = |name: &str| db.open_tree(name).with_context(|| format!("opening tree {name}"));
        let settings = tree("settings")?;
        let directory = match settings.get(DIRECTORY_KEY)? {
            Some(bytes) => serde_json::from_slice(&bytes).context("reading the directory")?,
            None => Directory::default(),
        };
        Ok(Self {
            appeals: tree("appeals")?,
            raw: tree("raw_requests")?,
            raw_outcomes: tree("raw_outcomes")?,
            idempotency: tree("idempotency")?,
            conversations: tree("conversations")?,
            contacts: tree("contacts")?,
            contact_appeals: tree("contact_appeals")?,
            plugins: tree("plugins")?,
            blobs: tree("plugin_blobs")?,
            activations: tree("activations")?,
            kv: tree("plugin_kv")?,
            outbox: tree("reply_outbox")?,
            reply_messages: tree("reply_messages")?,
            crm_outbox: tree("crm_outbox")?,
            crm_notes: tree("crm_notes")?,
            shadow: tree("shadow")?,
            tokens: tree("tokens")?,
            waiting: tree("waiting")?,
            holding: tree("holding")?,
            directory_log: tree("directory_log")?,
            settings,
            directory: Arc::new(RwLock::new(Arc::new(directory))),
            commit: commit::GroupCommit::start(db.clone()),
            db,
        })
    }

    /// Makes every write so far durable. Concurrent callers share one flush.
    ///
    /// # Errors
    /// When the flush fails (disk full, I/O error).
    pub async fn commit(&self) -> Result<()> {
        self.commit.flush().await
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
        self.raw.insert(raw.id.as_bytes(), raw.encode())?;
        Ok(())
    }

    /// A raw request by id.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn raw(&self, id: &str) -> Result<Option<RawRequest>> {
        let Some(mut raw) = self.raw.get(id.as_bytes())?.map(|b| RawRequest::decode(&b)).transpose()? else {
            return Ok(None);
        };
        if let Some(outcome) = self.raw_outcomes.get(id.as_bytes())? {
            raw.outcome = String::from_utf8_lossy(&outcome).into_owned();
        }
        Ok(Some(raw))
    }

    /// Records what became of a raw request (`appeal 01H…`, `unauthorized: …`), beside it so
    /// the body is written once.
    ///
    /// # Errors
    /// On storage failure.
    pub fn set_raw_outcome(&self, raw: &mut RawRequest, outcome: String) -> Result<()> {
        self.raw_outcomes.insert(raw.id.as_bytes(), outcome.as_bytes())?;
        raw.outcome = outcome;
        Ok(())
    }

    // --- appeals ------------------------------------------------------------------------

    /// Writes an appeal (insert or replace).
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_appeal(&self, appeal: &Appeal) -> Result<()> {
        self.appeals.insert(appeal.id.as_bytes(), serde_json::to_vec(appeal)?)?;
        Ok(())
    }

    /// An appeal by id.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn appeal(&self, id: &str) -> Result<Option<Appeal>> {
        get_json(&self.appeals, id.as_bytes())
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
        let range = match before {
            Some(cursor) => self.appeals.range(..cursor.as_bytes().to_vec()),
            None => self.appeals.range::<Vec<u8>, _>(..),
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
        for entry in self.appeals.iter() {
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
        self.appeals.len()
    }

    /// The appeal that already has `channel`+`platform_id`, if any.
    ///
    /// # Errors
    /// On storage failure.
    pub fn seen(&self, channel: &str, platform_id: &str) -> Result<Option<String>> {
        Ok(self
            .idempotency
            .get(pair_key(channel, platform_id))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
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
        let trees = (
            &self.appeals,
            &self.idempotency,
            &self.conversations,
            &self.contacts,
            &self.contact_appeals,
            &self.crm_outbox,
            &self.waiting,
        );
        let outcome = trees.transaction(|(appeals, keys, convs, contacts, index, crm, waiting)| {
            if let Some(owner) = keys.get(&key)? {
                return Ok((Claim::Seen(String::from_utf8_lossy(&owner).into_owned()), None));
            }
            let mut known = None;
            for identity in &identities {
                if let Some(id) = contacts.get(identity.as_bytes())? {
                    known = Some(String::from_utf8_lossy(&id).into_owned());
                    break;
                }
            }
            let contact = known.unwrap_or_else(|| fresh_contact.clone());
            for identity in &identities {
                if contacts.get(identity.as_bytes())?.is_none() {
                    contacts.insert(identity.as_bytes(), contact.as_bytes())?;
                }
            }
            let stored = Appeal { contact_id: Some(contact.clone()), ..appeal.clone() };
            let bytes = serde_json::to_vec(&stored)
                .map_err(|e| sled::transaction::ConflictableTransactionError::Abort(e.to_string()))?;
            appeals.insert(appeal.id.as_bytes(), bytes)?;
            keys.insert(key.as_slice(), appeal.id.as_bytes())?;
            convs.insert(conversation.as_slice(), appeal.id.as_bytes())?;
            index.insert(pair_key(&contact, &appeal.id), &[])?;
            if to_crm {
                crm.insert(appeal.id.as_bytes(), &[])?;
            }
            if stored.is_waiting() {
                waiting.insert(appeal.id.as_bytes(), &[])?;
            }
            Ok((Claim::New, Some(contact)))
        });
        let (claim, contact) = transaction_result(outcome)?;
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
        self.contact_appeals
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
        let outcome = (&self.appeals, &self.idempotency).transaction(|(appeals, keys)| {
            if let Some(key) = &key
                && let Some(owner) = keys.get(key)?
            {
                return Ok(Some(Claim::Seen(String::from_utf8_lossy(&owner).into_owned())));
            }
            if change_in(appeals, id, &change)?.is_none() {
                return Ok(None);
            }
            if let Some(key) = &key {
                keys.insert(key.as_slice(), id.as_bytes())?;
            }
            Ok(Some(Claim::New))
        });
        transaction_result(outcome)
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
        let trees = (&self.appeals, &self.outbox, &self.reply_messages, &self.waiting, &self.holding);
        let outcome = trees.transaction(|(appeals, outbox, messages, waiting, holding)| {
            let abort =
                |e: serde_json::Error| sled::transaction::ConflictableTransactionError::Abort(e.to_string());
            let Some(bytes) = appeals.get(appeal_id.as_bytes())? else {
                return Ok(None);
            };
            let before: Appeal = serde_json::from_slice(&bytes).map_err(abort)?;
            let mut appeal = before.clone();
            change(&mut appeal);
            appeals.insert(appeal_id.as_bytes(), serde_json::to_vec(&appeal).map_err(abort)?)?;
            for reply in &appeal.replies {
                match reply.is_queued() {
                    true => outbox.insert(reply.id.as_bytes(), appeal_id.as_bytes())?,
                    false => outbox.remove(reply.id.as_bytes())?,
                };
                if let Some(message) = &reply.platform_message_id {
                    messages.insert(pair_key(&appeal.channel, message), pair_key(appeal_id, &reply.id))?;
                }
            }
            match appeal.is_waiting() {
                true => waiting.insert(appeal_id.as_bytes(), &[])?,
                false => waiting.remove(appeal_id.as_bytes())?,
            };
            if let Some(old) = before.holder() {
                holding.remove(pair_key(old, appeal_id))?;
            }
            if let Some(new) = appeal.holder() {
                holding.insert(pair_key(new, appeal_id), &[])?;
            }
            Ok(Some(appeal))
        });
        transaction_result(outcome)
    }

    /// Appeals waiting for an employee, oldest first.
    ///
    /// # Errors
    /// On storage failure.
    pub fn waiting(&self) -> Result<Vec<String>> {
        self.waiting.iter().keys().map(|k| Ok(String::from_utf8_lossy(&k?).into_owned())).collect()
    }

    /// (employee id, appeal id) of every open appeal an employee holds.
    ///
    /// # Errors
    /// On storage failure.
    pub fn holdings(&self) -> Result<Vec<(String, String)>> {
        self.holding
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
        self.outbox
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                Ok((String::from_utf8_lossy(&key).into_owned(), String::from_utf8_lossy(&value).into_owned()))
            })
            .collect()
    }

    /// The (appeal id, reply id) of the reply the platform knows as `message` on `channel`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn reply_by_message(&self, channel: &str, message: &str) -> Result<Option<(String, String)>> {
        Ok(self.reply_messages.get(pair_key(channel, message))?.and_then(|v| {
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
        self.crm_outbox.iter().keys().map(|k| Ok(String::from_utf8_lossy(&k?).into_owned())).collect()
    }

    /// How many appeals and notes wait for the CRM.
    pub fn crm_queue_len(&self) -> usize {
        self.crm_outbox.len() + self.crm_notes.len()
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
        let outcome =
            (&self.appeals, &self.crm_outbox, &self.crm_notes).transaction(|(appeals, crm, notes)| {
                if let Some(appeal) = change_in(appeals, appeal_id, &change)?
                    && let Some(text) = note(&appeal)
                {
                    notes.insert(note_key.as_bytes(), pair_key(appeal_id, &text))?;
                }
                crm.remove(appeal_id.as_bytes())?;
                Ok(())
            });
        transaction_result(outcome)
    }

    /// Queues a note for the CRM record of an appeal (a later message of the customer).
    ///
    /// # Errors
    /// On storage failure.
    pub fn queue_crm_note(&self, appeal_id: &str, text: &str) -> Result<()> {
        self.crm_notes.insert(ulid::Ulid::new().to_string().as_bytes(), pair_key(appeal_id, text))?;
        Ok(())
    }

    /// Notes waiting for the CRM, oldest first: (key, appeal id, text).
    ///
    /// # Errors
    /// On storage failure.
    pub fn crm_notes(&self) -> Result<Vec<(String, String, String)>> {
        self.crm_notes
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
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
        self.crm_notes.remove(key.as_bytes())?;
        Ok(())
    }

    // --- API tokens -------------------------------------------------------------------

    /// Stores an issued token's record under its digest.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_token<T: Serialize>(&self, digest: &str, record: &T) -> Result<()> {
        self.tokens.insert(digest.as_bytes(), serde_json::to_vec(record)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// The record of the token with this digest.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn token<T: DeserializeOwned>(&self, digest: &str) -> Result<Option<T>> {
        get_json(&self.tokens, digest.as_bytes())
    }

    /// Every issued token's record.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn tokens<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.tokens.iter().values().map(|v| Ok(serde_json::from_slice(&v?)?)).collect()
    }

    /// Revokes the tokens whose digest starts with `id`; how many.
    ///
    /// # Errors
    /// On storage failure.
    pub fn revoke_token(&self, id: &str) -> Result<usize> {
        let keys: Vec<_> = self.tokens.scan_prefix(id.as_bytes()).keys().collect::<Result<_, _>>()?;
        for key in &keys {
            self.tokens.remove(key)?;
        }
        self.db.flush()?;
        Ok(keys.len())
    }

    // --- shadow comparisons ------------------------------------------------------------

    /// Stores a shadow comparison of `label` for an appeal.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_shadow<T: Serialize>(&self, label: &str, appeal_id: &str, comparison: &T) -> Result<()> {
        self.shadow.insert(pair_key(label, appeal_id), serde_json::to_vec(comparison)?)?;
        Ok(())
    }

    /// Every shadow comparison of `label`, oldest first.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn shadow_comparisons<T: DeserializeOwned>(&self, label: &str) -> Result<Vec<T>> {
        let prefix = pair_key(label, "");
        self.shadow.scan_prefix(prefix).values().map(|v| Ok(serde_json::from_slice(&v?)?)).collect()
    }

    /// The appeal a conversation's last message belongs to.
    ///
    /// # Errors
    /// On storage failure.
    pub fn conversation(&self, channel: &str, key: &str) -> Result<Option<String>> {
        Ok(self.conversations.get(pair_key(channel, key))?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    // --- plugins ------------------------------------------------------------------------

    /// Stores a plugin binary under its sha256 and its record under `name@version`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_plugin<R: Serialize>(&self, key: &str, record: &R, sha256: &str, bytes: &[u8]) -> Result<()> {
        self.blobs.insert(sha256.as_bytes(), bytes)?;
        self.plugins.insert(key.as_bytes(), serde_json::to_vec(record)?)?;
        Ok(())
    }

    /// A plugin record by `name@version`.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn plugin<R: DeserializeOwned>(&self, key: &str) -> Result<Option<R>> {
        get_json(&self.plugins, key.as_bytes())
    }

    /// Every plugin record.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn plugins<R: DeserializeOwned>(&self) -> Result<Vec<R>> {
        self.plugins.iter().values().map(|v| Ok(serde_json::from_slice(&v?)?)).collect()
    }

    /// A plugin binary by sha256.
    ///
    /// # Errors
    /// On storage failure.
    pub fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.blobs.get(sha256.as_bytes())?.map(|v| v.to_vec()))
    }

    /// A plugin's activation state by name.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn activation<R: DeserializeOwned>(&self, name: &str) -> Result<Option<R>> {
        get_json(&self.activations, name.as_bytes())
    }

    /// Writes a plugin's activation state.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_activation<R: Serialize>(&self, name: &str, state: &R) -> Result<()> {
        self.activations.insert(name.as_bytes(), serde_json::to_vec(state)?)?;
        Ok(())
    }

    /// Every activation state.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn activations<R: DeserializeOwned>(&self) -> Result<Vec<R>> {
        self.activations.iter().values().map(|v| Ok(serde_json::from_slice(&v?)?)).collect()
    }

    /// Whether anything was ever installed (a fresh data dir has no plugins).
    pub fn is_fresh(&self) -> bool {
        self.plugins.is_empty()
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
        self.directory_log.insert(ulid::Ulid::new().to_string().as_bytes(), serde_json::to_vec(&change)?)?;
        self.settings.insert(DIRECTORY_KEY, serde_json::to_vec(&directory)?)?;
        self.flush_now()?;
        *self.directory.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(directory);
        Ok(())
    }

    /// The directory's changes, newest first, at most `limit`.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn directory_changes(&self, limit: usize) -> Result<Vec<DirectoryChange>> {
        self.directory_log
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
        PluginKv { tree: self.kv.clone(), prefix }
    }
}

/// One plugin's key-value namespace: every key is stored under `name\0`, so a plugin cannot
/// name another's keys.
#[derive(Clone)]
pub struct PluginKv {
    tree: sled::Tree,
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
        Ok(self.tree.get(self.key(key))?.map(|v| v.to_vec()))
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.tree.insert(self.key(key), value)?;
        Ok(())
    }

    /// Removes `key`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.tree.remove(self.key(key))?;
        Ok(())
    }

    /// Keys starting with `prefix`, at most `limit`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>> {
        self.tree
            .scan_prefix(self.key(prefix))
            .keys()
            .take(limit)
            .map(|k| Ok(String::from_utf8_lossy(&k?[self.prefix.len()..]).into_owned()))
            .collect()
    }
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

fn transaction_result<T>(result: sled::transaction::TransactionResult<T, String>) -> Result<T> {
    result.map_err(|e| match e {
        sled::transaction::TransactionError::Abort(why) => anyhow::anyhow!("corrupt appeal record: {why}"),
        sled::transaction::TransactionError::Storage(e) => anyhow::Error::from(e),
    })
}

/// Reads, changes and writes back one appeal inside a transaction; `None` when it is absent.
fn change_in(
    appeals: &sled::transaction::TransactionalTree,
    id: &str,
    change: &impl Fn(&mut Appeal),
) -> sled::transaction::ConflictableTransactionResult<Option<Appeal>, String> {
    let abort = |e: serde_json::Error| sled::transaction::ConflictableTransactionError::Abort(e.to_string());
    let Some(bytes) = appeals.get(id.as_bytes())? else {
        return Ok(None);
    };
    let mut appeal: Appeal = serde_json::from_slice(&bytes).map_err(abort)?;
    change(&mut appeal);
    appeals.insert(id.as_bytes(), serde_json::to_vec(&appeal).map_err(abort)?)?;
    Ok(Some(appeal))
}

fn pair_key(a: &str, b: &str) -> Vec<u8> {
    [a.as_bytes(), &[0], b.as_bytes()].concat()
}

fn get_json<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>> {
    tree.get(key)?.map(|v| Ok(serde_json::from_slice(&v)?)).transpose()
}
