//! Control records: plugin versions and their binaries, activations, the routing directory and
//! its change log, API tokens, and shadow comparisons. In a cluster the control trees live in a
//! key-value bucket every node watches; writes to them are last-writer-wins per key.

use super::tx::TreeId;
use super::{DIRECTORY_KEY, DirectoryChange, Store, get_json, pair_key, values_of};
use crate::directory::Directory;
use anyhow::Result;
use serde::{Serialize, de::DeserializeOwned};
use std::sync::Arc;

impl Store {
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
        self.backend.put_blob(&self.trees, sha256, bytes)?;
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
        let bytes = self.backend.fetch_blob(sha256)?;
        // This node's view caches what the backend shares (content-addressed: no conflict).
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
        // An unreadable tree is not taken for an empty one.
        self.tree(TreeId::Plugins).is_empty().unwrap_or(false)
    }

    // --- host settings ------------------------------------------------------------------

    /// A host setting (JSON) by key, such as the notice webhooks' outbound hosts.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        get_json(self.tree(TreeId::Settings), format!("setting/{key}").as_bytes())
    }

    /// Writes a host setting and flushes.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let key = format!("setting/{key}").into_bytes();
        self.write_blind(vec![(TreeId::Settings, key, Some(serde_json::to_vec(value)?))])?;
        self.flush_now()
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
            at: self.now_ms(),
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
}
