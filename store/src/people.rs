//! People's records and the audit log: accounts, sessions, invitations and presence live in
//! the `people` tree under a kind prefix (`account/<employee>`, `session/<digest>`, …); the
//! audit log is the `audit` tree, keyed by a ULID made at the event's time, so it reads in
//! order and only grows. Both are control trees (shared by every node of a cluster).

use super::Store;
use super::tx::TreeId;
use anyhow::Result;
use serde::{Serialize, de::DeserializeOwned};

impl Store {
    /// The people record under `key` (`account/olga`).
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn person<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        super::get_json(self.tree(TreeId::People), key.as_bytes())
    }

    /// Stores (or, with `None`, removes) people records durably, all at once.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_people(&self, records: Vec<(String, Option<serde_json::Value>)>) -> Result<()> {
        let writes = records
            .into_iter()
            .map(|(key, value)| {
                let bytes = value.map(|v| serde_json::to_vec(&v)).transpose()?;
                Ok((TreeId::People, key.into_bytes(), bytes))
            })
            .collect::<Result<Vec<_>>>()?;
        self.write_blind(writes)?;
        self.flush_now()
    }

    /// Reads, changes and writes back one people record in a transaction (a concurrent change
    /// makes it run again, so no change is lost), durably; the record as changed. `change`
    /// returns whether it changed anything.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn change_person<T: Serialize + DeserializeOwned>(
        &self,
        key: &str,
        change: impl Fn(&mut T) -> bool,
    ) -> Result<Option<T>> {
        let changed = self.write(|tx| {
            let Some(bytes) = tx.get(TreeId::People, key.as_bytes())? else { return Ok(None) };
            let mut record: T = serde_json::from_slice(&bytes)?;
            if change(&mut record) {
                tx.insert(TreeId::People, key.as_bytes(), serde_json::to_vec(&record)?);
                return Ok(Some((record, true)));
            }
            Ok(Some((record, false)))
        })?;
        if changed.as_ref().is_some_and(|(_, written)| *written) {
            self.flush_now()?;
        }
        Ok(changed.map(|(record, _)| record))
    }

    /// Stores a people record without waiting for the disk (a session's last use).
    ///
    /// # Errors
    /// On storage failure.
    pub fn touch_person<T: Serialize>(&self, key: &str, record: &T) -> Result<()> {
        self.write_blind(vec![(TreeId::People, key.as_bytes().to_vec(), Some(serde_json::to_vec(record)?))])
    }

    /// Every people record whose key starts with `prefix`, with its key.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn people<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<(String, T)>> {
        self.tree(TreeId::People)
            .scan_prefix(prefix.as_bytes())
            .map(|entry| {
                let (key, value) = entry?;
                Ok((String::from_utf8_lossy(&key).into_owned(), serde_json::from_slice(&value)?))
            })
            .collect()
    }

    /// Appends an event to the audit log, durably; its id.
    ///
    /// # Errors
    /// On storage failure.
    pub fn append_audit<T: Serialize>(&self, event: &T) -> Result<String> {
        let id = ulid::Ulid::from_parts(self.now_ms(), ulid::Ulid::new().random()).to_string();
        self.write_blind(vec![(TreeId::Audit, id.as_bytes().to_vec(), Some(serde_json::to_vec(event)?))])?;
        self.flush_now()?;
        Ok(id)
    }

    /// Up to `limit` audit events after the one with id `after` (from the start without it),
    /// oldest first, with their ids.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn audit_page<T: DeserializeOwned>(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>> {
        let tree = self.tree(TreeId::Audit);
        let entries = match after {
            Some(after) => tree
                .range::<&[u8], _>((std::ops::Bound::Excluded(after.as_bytes()), std::ops::Bound::Unbounded)),
            None => tree.iter(),
        };
        entries
            .take(limit)
            .map(|entry| {
                let (key, value) = entry?;
                Ok((String::from_utf8_lossy(&key).into_owned(), serde_json::from_slice(&value)?))
            })
            .collect()
    }
}
