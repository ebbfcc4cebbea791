//! The storage engine under the store: a fjall database (log-structured merge trees with
//! compression, in `<data>/store`) behind the few operations the store uses — named trees,
//! point reads, ordered scans, and atomic multi-tree writes.
//!
//! Every write goes through one lock, so a [`Write`] can check what a transaction read and
//! apply its writes as one fjall batch with nothing in between (the store's optimistic
//! concurrency, [`super::tx`]). Durability is separate: writes land in fjall's journal buffer
//! and [`Db::flush`] makes them durable, shared by concurrent callers ([`super::commit`]).
//! Queue trees are also kept in memory ([`mirror`]) and read from there.

mod mirror;

use anyhow::{Context, Result};
use fjall::{KeyspaceCreateOptions, PersistMode};
use mirror::{Mirror, MirrorIter};
use std::collections::HashMap;
use std::fs::File;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

pub use fjall::Slice;

/// The database's directory under the data directory.
pub const DIR: &str = "store";

/// Entries per batch of a [`Bulk`] load.
const BULK_CHUNK: usize = 10_000;

/// A tree's memtable: small, since most trees take few writes and all share the memory.
const MEMTABLE_BYTES: u64 = 8 << 20;
/// The journal on disk at most (about): beyond it the trees holding its oldest part are
/// flushed so it can go.
const JOURNAL_BYTES: u64 = 128 << 20;

/// Where a tree's inserts are sent, (key, value) each.
type Watcher = mpsc::Sender<(Slice, Slice)>;

/// The open database.
#[derive(Clone)]
pub struct Db {
    inner: fjall::Database,
    shared: Arc<Shared>,
}

struct Shared {
    /// Held by every write, so a checked batch sees no write between its check and its apply.
    write: Mutex<()>,
    /// Listeners of inserts, by tree name.
    watchers: Mutex<Vec<(String, Watcher)>>,
    /// The database's directory, where fjall keeps its journal files (`<n>.jnl`).
    dir: PathBuf,
    /// The journal file synced last, kept open for the next sync.
    journal: Mutex<Option<(PathBuf, File)>>,
    /// Journal syncs done, and the microseconds they took in all.
    syncs: (AtomicU64, AtomicU64),
}

impl Db {
    /// Opens (or creates) the database in `dir` with a block cache of `cache_bytes`.
    ///
    /// # Errors
    /// When the directory cannot be opened or is held by another process.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self> {
        let inner = fjall::Database::builder(dir)
            .cache_size(cache_bytes)
            .manual_journal_persist(true)
            .max_journaling_size(JOURNAL_BYTES)
            .open()
            .with_context(|| format!("opening the database in {}", dir.display()))?;
        let shared = Shared {
            write: Mutex::default(),
            watchers: Mutex::default(),
            dir: dir.to_path_buf(),
            journal: Mutex::default(),
            syncs: Default::default(),
        };
        Ok(Self { inner, shared: Arc::new(shared) })
    }

    /// The tree `name`, created when absent.
    ///
    /// # Errors
    /// On storage failure.
    pub fn open_tree(&self, name: &str) -> Result<Tree> {
        let keyspace = self
            .inner
            .keyspace(name, || {
                KeyspaceCreateOptions::default()
                    .max_memtable_size(MEMTABLE_BYTES)
                    .manual_journal_persist(true)
            })
            .with_context(|| format!("opening tree {name}"))?;
        Ok(Tree { keyspace, name: name.into(), db: self.clone(), mirror: None })
    }

    /// The queue tree `name`, created when absent: read from a mirror in memory, loaded now.
    ///
    /// # Errors
    /// On storage failure.
    pub fn open_queue(&self, name: &str) -> Result<Tree> {
        let tree = self.open_tree(name)?;
        let mirror = Mirror::default();
        for entry in tree.iter() {
            let (key, value) = entry?;
            mirror.set(&key, Some(&value));
        }
        Ok(Tree { mirror: Some(mirror), ..tree })
    }

    /// What the database holds in memory now: its block cache and its memtables, in bytes.
    pub fn memory(&self) -> (u64, u64) {
        (self.inner.cache_size(), self.inner.write_buffer_size())
    }

    /// Makes every write so far durable.
    ///
    /// fjall syncs its journal holding the journal's lock, which stops every write for the
    /// length of an fsync. So the journal's buffer is only handed to the system under that lock,
    /// and the active journal file is synced here without it, while writes go on. If fjall
    /// moved to a new journal file in between, it synced the old one as it sealed it.
    ///
    /// # Errors
    /// When the journal cannot be written out or synced.
    pub fn flush(&self) -> Result<()> {
        let started = std::time::Instant::now();
        self.inner.persist(PersistMode::Buffer).context("writing out the journal")?;
        let active = active_journal(&self.shared.dir)?;
        let mut open = self.shared.journal.lock().unwrap_or_else(|e| e.into_inner());
        let file = match open.take() {
            Some((path, file)) if path == active => file,
            _ => File::open(&active).with_context(|| format!("opening the journal {}", active.display()))?,
        };
        file.sync_data().context("syncing the journal")?;
        *open = Some((active, file));
        let (count, micros) = &self.shared.syncs;
        count.fetch_add(1, Ordering::Relaxed);
        micros.fetch_add(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        Ok(())
    }

    /// Journal syncs since the database opened, and the time they took in all.
    pub fn syncs(&self) -> (u64, std::time::Duration) {
        let (count, micros) = &self.shared.syncs;
        (count.load(Ordering::Relaxed), std::time::Duration::from_micros(micros.load(Ordering::Relaxed)))
    }

    /// Starts a checked write: no other write happens until it is dropped or committed.
    pub fn write(&self) -> Write<'_> {
        Write { db: self, _lock: self.lock(), staged: HashMap::new() }
    }

    /// Starts a bulk load: inserts applied in atomic batches of [`BULK_CHUNK`].
    pub fn bulk(&self) -> Bulk<'_> {
        Bulk { db: self, staged: Vec::new() }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.shared.write.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn announce(&self, tree: &str, key: &[u8], value: &[u8]) {
        let mut watchers = self.shared.watchers.lock().unwrap_or_else(|e| e.into_inner());
        watchers.retain(|(name, sender)| name != tree || sender.send((key.into(), value.into())).is_ok());
    }
}

/// The journal file fjall writes to now: the highest-numbered `<n>.jnl` in `dir`.
fn active_journal(dir: &Path) -> Result<PathBuf> {
    let mut newest: Option<(u64, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let number = path.file_name().and_then(|n| n.to_str()?.strip_suffix(".jnl")?.parse::<u64>().ok());
        if let Some(number) = number.filter(|n| newest.as_ref().is_none_or(|(max, _)| n > max)) {
            newest = Some((number, path));
        }
    }
    newest.map(|(_, path)| path).with_context(|| format!("no journal file in {}", dir.display()))
}

/// One tree (a fjall keyspace).
#[derive(Clone)]
pub struct Tree {
    keyspace: fjall::Keyspace,
    name: Arc<str>,
    db: Db,
    /// A queue's entries in memory.
    mirror: Option<Mirror>,
}

/// The longest key the database takes (its engine asserts it, so a longer one — a login or
/// an id from a request — must never reach it): nothing is stored under a longer key, and
/// writing one is refused.
pub const MAX_KEY: usize = u16::MAX as usize;

fn key_too_long(key: &[u8]) -> fjall::Error {
    fjall::Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("a key of {} bytes is longer than {MAX_KEY}", key.len()),
    ))
}

impl Tree {
    /// The value under `key` (none under a key longer than [`MAX_KEY`]).
    ///
    /// # Errors
    /// On storage failure.
    pub fn get(&self, key: impl AsRef<[u8]>) -> fjall::Result<Option<Slice>> {
        if key.as_ref().len() > MAX_KEY {
            return Ok(None);
        }
        match &self.mirror {
            Some(mirror) => Ok(mirror.get(key.as_ref())),
            None => self.keyspace.get(key),
        }
    }

    /// Whether `key` is present.
    ///
    /// # Errors
    /// On storage failure.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> fjall::Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// Writes `value` under `key`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> fjall::Result<()> {
        if key.as_ref().len() > MAX_KEY {
            return Err(key_too_long(key.as_ref()));
        }
        let _lock = self.db.lock();
        self.keyspace.insert(key.as_ref(), value.as_ref())?;
        self.applied(key.as_ref(), Some(value.as_ref()));
        Ok(())
    }

    /// Removes `key`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> fjall::Result<()> {
        if key.as_ref().len() > MAX_KEY {
            return Ok(());
        }
        let _lock = self.db.lock();
        self.keyspace.remove(key.as_ref())?;
        self.applied(key.as_ref(), None);
        Ok(())
    }

    /// Removes `key` if it still holds `expected`; whether it did.
    ///
    /// # Errors
    /// On storage failure.
    pub fn remove_if(&self, key: impl AsRef<[u8]>, expected: &[u8]) -> fjall::Result<bool> {
        let _lock = self.db.lock();
        if self.get(key.as_ref())?.as_deref() != Some(expected) {
            return Ok(false);
        }
        self.keyspace.remove(key.as_ref())?;
        self.applied(key.as_ref(), None);
        Ok(true)
    }

    /// How many entries: a scan, for trees that hold only pending work.
    pub fn count(&self) -> usize {
        match &self.mirror {
            Some(mirror) => mirror.len(),
            None => self.keyspace.iter().count(),
        }
    }

    /// Removes every entry.
    ///
    /// # Errors
    /// On storage failure.
    pub fn clear(&self) -> fjall::Result<()> {
        let _lock = self.db.lock();
        self.keyspace.clear()?;
        if let Some(mirror) = &self.mirror {
            mirror.clear();
        }
        Ok(())
    }

    /// Whether the tree holds nothing.
    ///
    /// # Errors
    /// On storage failure.
    pub fn is_empty(&self) -> fjall::Result<bool> {
        Ok(self.iter().next().transpose()?.is_none())
    }

    /// Every entry in key order.
    pub fn iter(&self) -> Iter {
        self.range::<&[u8], _>(..)
    }

    /// The entries in `range`, in key order (none when a bound is longer than [`MAX_KEY`]).
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        let too_long =
            |b: Bound<&K>| matches!(b, Bound::Included(k) | Bound::Excluded(k) if k.as_ref().len() > MAX_KEY);
        if too_long(range.start_bound()) || too_long(range.end_bound()) {
            return Iter::Empty;
        }
        match &self.mirror {
            Some(mirror) => {
                let owned = |b: Bound<&K>| b.map(|k| k.as_ref().to_vec());
                Iter::Memory(mirror.range(owned(range.start_bound()), owned(range.end_bound())))
            }
            None => Iter::Disk(self.keyspace.range(range)),
        }
    }

    /// The entries whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let prefix = prefix.as_ref();
        if prefix.len() > MAX_KEY {
            return Iter::Empty;
        }
        match &self.mirror {
            Some(mirror) => {
                let upper = successor(prefix).map_or(Bound::Unbounded, Bound::Excluded);
                Iter::Memory(mirror.range(Bound::Included(prefix.to_vec()), upper))
            }
            None => Iter::Disk(self.keyspace.prefix(prefix)),
        }
    }

    /// The first entry.
    ///
    /// # Errors
    /// On storage failure.
    pub fn first(&self) -> fjall::Result<Option<(Slice, Slice)>> {
        self.iter().next().transpose()
    }

    /// The last entry.
    ///
    /// # Errors
    /// On storage failure.
    pub fn last(&self) -> fjall::Result<Option<(Slice, Slice)>> {
        self.iter().next_back().transpose()
    }

    /// After a write to the disk (under the write lock): the mirror follows, watchers hear.
    fn applied(&self, key: &[u8], value: Option<&[u8]>) {
        if let Some(mirror) = &self.mirror {
            mirror.set(key, value);
        }
        if let Some(value) = value {
            self.db.announce(&self.name, key, value);
        }
    }

    /// Every insert into this tree from now on, as it is applied.
    pub fn watch(&self) -> mpsc::Receiver<(Slice, Slice)> {
        let (sender, receiver) = mpsc::channel();
        self.db
            .shared
            .watchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((self.name.to_string(), sender));
        receiver
    }
}

/// Entries of a tree in key order (or reversed), each a (key, value) pair.
pub enum Iter {
    /// From the disk.
    Disk(fjall::Iter),
    /// From a queue's mirror.
    Memory(MirrorIter),
    /// Nothing (a prefix longer than any key).
    Empty,
}

impl Iter {
    /// Only the keys.
    pub fn keys(self) -> impl DoubleEndedIterator<Item = fjall::Result<Slice>> {
        self.map(|entry| entry.map(|(key, _)| key))
    }

    /// Only the values.
    pub fn values(self) -> impl DoubleEndedIterator<Item = fjall::Result<Slice>> {
        self.map(|entry| entry.map(|(_, value)| value))
    }
}

impl Iterator for Iter {
    type Item = fjall::Result<(Slice, Slice)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Disk(iter) => iter.next().map(fjall::Guard::into_inner),
            Iter::Memory(iter) => iter.next().map(Ok),
            Iter::Empty => None,
        }
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Disk(iter) => iter.next_back().map(fjall::Guard::into_inner),
            Iter::Memory(iter) => iter.next_back().map(Ok),
            Iter::Empty => None,
        }
    }
}

/// The least key greater than every key starting with `prefix` (`None`: there is none).
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < u8::MAX {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

/// A staged change: the tree, and the new value (`None` removes).
type Staged = (Tree, Option<Vec<u8>>);

/// A write in progress: reads see what it staged; [`Write::commit`] applies everything it
/// staged atomically. Holds the database's write lock.
pub struct Write<'a> {
    db: &'a Db,
    _lock: MutexGuard<'a, ()>,
    staged: HashMap<(Arc<str>, Vec<u8>), Staged>,
}

impl Write<'_> {
    /// The value under `key` in `tree`, as this write sees it.
    ///
    /// # Errors
    /// On storage failure.
    pub fn get(&self, tree: &Tree, key: &[u8]) -> fjall::Result<Option<Vec<u8>>> {
        match self.staged.get(&(tree.name.clone(), key.to_vec())) {
            Some((_, value)) => Ok(value.clone()),
            None => Ok(tree.get(key)?.map(|v| v.to_vec())),
        }
    }

    /// Stages `value` under `key` in `tree`.
    pub fn insert(&mut self, tree: &Tree, key: &[u8], value: &[u8]) {
        self.staged.insert((tree.name.clone(), key.to_vec()), (tree.clone(), Some(value.to_vec())));
    }

    /// Stages the removal of `key` from `tree`.
    pub fn remove(&mut self, tree: &Tree, key: &[u8]) {
        self.staged.insert((tree.name.clone(), key.to_vec()), (tree.clone(), None));
    }

    /// Applies what was staged as one atomic batch, then tells the trees' watchers.
    ///
    /// # Errors
    /// On storage failure (nothing is applied then).
    pub fn commit(self) -> fjall::Result<()> {
        if let Some(((_, key), _)) = self.staged.iter().find(|((_, key), _)| key.len() > MAX_KEY) {
            return Err(key_too_long(key));
        }
        let mut batch = self.db.inner.batch();
        for ((_, key), (tree, value)) in &self.staged {
            match value {
                Some(value) => batch.insert(&tree.keyspace, key.as_slice(), value.as_slice()),
                None => batch.remove(&tree.keyspace, key.as_slice()),
            }
        }
        batch.commit()?;
        for ((_, key), (tree, value)) in &self.staged {
            tree.applied(key, value.as_deref());
        }
        Ok(())
    }
}

/// A bulk load (a conversion, a restore, a rebuild): inserts applied in batches, each atomic,
/// the whole not; [`Bulk::finish`] applies the rest.
pub struct Bulk<'a> {
    db: &'a Db,
    staged: Vec<(Tree, Vec<u8>, Vec<u8>)>,
}

impl Bulk<'_> {
    /// Adds `value` under `key` in `tree`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn insert(&mut self, tree: &Tree, key: &[u8], value: &[u8]) -> fjall::Result<()> {
        if key.len() > MAX_KEY {
            return Err(key_too_long(key));
        }
        self.staged.push((tree.clone(), key.to_vec(), value.to_vec()));
        if self.staged.len() >= BULK_CHUNK {
            self.apply()?;
        }
        Ok(())
    }

    /// Applies what is left.
    ///
    /// # Errors
    /// On storage failure.
    pub fn finish(mut self) -> fjall::Result<()> {
        self.apply()
    }

    fn apply(&mut self) -> fjall::Result<()> {
        let _lock = self.db.lock();
        let mut batch = self.db.inner.batch();
        for (tree, key, value) in &self.staged {
            batch.insert(&tree.keyspace, key.as_slice(), value.as_slice());
        }
        batch.commit()?;
        for (tree, key, value) in self.staged.drain(..) {
            tree.applied(&key, Some(&value));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Db, MAX_KEY};

    #[test]
    fn a_key_longer_than_the_engine_takes_finds_nothing_and_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), 1 << 20).unwrap();
        let tree = db.open_tree("people").unwrap();
        let long = vec![b'a'; MAX_KEY + 1];
        assert!(tree.get(&long).unwrap().is_none());
        assert!(tree.insert(&long, b"x").is_err());
        assert!(tree.scan_prefix(&long).next().is_none());
        assert!(tree.range(long.as_slice()..).next().is_none());
        let mut write = db.write();
        write.insert(&tree, &long, b"x");
        assert!(write.commit().is_err());
        tree.insert(b"short", b"x").unwrap();
        assert_eq!(tree.get(b"short").unwrap().as_deref(), Some(&b"x"[..]));
    }
}
