//! Each plugin's own key-value namespace (the `kv` host import).

use super::Store;
use super::tx::TreeId;
use anyhow::Result;

impl Store {
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
