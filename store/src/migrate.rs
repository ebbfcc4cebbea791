//! Converting a data directory of an older version, whose records sled kept in `<data>/db`,
//! into the current database: every tree copied once, in key order, before the store opens;
//! the old directory is then renamed `db.sled-migrated` (kept, not deleted, until the admin
//! removes it). A conversion cut short is started again from scratch at the next start.

use super::engine::{self, Db};
use anyhow::{Context, Result};
use std::path::Path;

/// The old database's directory.
const SLED_DIR: &str = "db";
/// What it is renamed to once copied.
const MIGRATED: &str = "db.sled-migrated";

/// Converts `<dir>/db` when it is there. Whether there was anything to convert.
///
/// # Errors
/// When the old database cannot be read or the new one written.
pub fn from_sled(dir: &Path, cache_bytes: u64) -> Result<bool> {
    let old = dir.join(SLED_DIR);
    if !old.join("conf").exists() {
        return Ok(false);
    }
    let new = dir.join(engine::DIR);
    if new.exists() {
        // A conversion that did not finish: start over.
        std::fs::remove_dir_all(&new).with_context(|| format!("removing {}", new.display()))?;
    }
    tracing::info!("converting the data directory {} to the current database", dir.display());
    let sled = sled::Config::new().path(&old).open().context("opening the old database")?;
    let db = Db::open(&new, cache_bytes)?;
    let mut copied = 0u64;
    for name in sled.tree_names() {
        let name = String::from_utf8_lossy(&name).into_owned();
        if name == "__sled__default" {
            continue;
        }
        let (from, to) = (sled.open_tree(&name)?, db.open_tree(&name)?);
        let mut bulk = db.bulk();
        for entry in from.iter() {
            let (key, value) = entry?;
            bulk.insert(&to, &key, &value)?;
            copied += 1;
        }
        bulk.finish()?;
    }
    db.flush()?;
    drop(db);
    drop(sled);
    std::fs::rename(&old, dir.join(MIGRATED)).context("setting the old database aside")?;
    tracing::info!("converted {copied} records; the old database is kept in {MIGRATED}");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_data_directory_is_converted_once_with_every_record() {
        let dir = tempfile::tempdir().unwrap();
        {
            let sled = sled::Config::new().path(dir.path().join(SLED_DIR)).open().unwrap();
            let appeals = sled.open_tree("appeals").unwrap();
            for i in 0..25_000u32 {
                appeals.insert(format!("{i:08}"), &i.to_be_bytes()).unwrap();
            }
            sled.open_tree("settings").unwrap().insert("directory", "{}").unwrap();
            sled.flush().unwrap();
        }
        assert!(from_sled(dir.path(), 1 << 20).unwrap());
        assert!(!from_sled(dir.path(), 1 << 20).unwrap(), "converted only once");
        assert!(dir.path().join(MIGRATED).exists());
        let db = Db::open(&dir.path().join(engine::DIR), 1 << 20).unwrap();
        let appeals = db.open_tree("appeals").unwrap();
        let keys: Vec<_> = appeals.iter().keys().map(Result::unwrap).collect();
        assert_eq!(keys.len(), 25_000);
        assert_eq!(appeals.get("00012345").unwrap().as_deref(), Some(&12345u32.to_be_bytes()[..]));
        assert_eq!(db.open_tree("settings").unwrap().get("directory").unwrap().as_deref(), Some(&b"{}"[..]));
    }
}
