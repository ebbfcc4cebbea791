//! # ClientHub's store
//!
//! Durable state: one database in the data directory ([`engine`]), one tree per kind of record,
//! and a `Backend` that commits writes: with group commit on one machine, or
//! a NATS JetStream cluster that replicates the trees among nodes.
//!
//! [`Store`] is all the host sees; nothing outside this crate knows which backend runs. It
//! depends on the model crate only (cargo keeps it below the host). Its methods are grouped by record kind, one file each: `raw` requests, `appeals` with
//! their indexes, `outbox`es, `control` records (plugins, activations, the directory, tokens)
//! and each plugin's `kv` namespace. Every write is a [`tx::Tx`] over the node's view, committed by
//! the backend: on one machine applied to the database at once and acknowledged after [`Store::commit`],
//! which shares one journal sync among all concurrent callers (group commit); in a cluster
//! acknowledged by JetStream and applied by every node in the stream's order.

mod appeals;
pub mod archive;
mod backend;
pub mod changes;
mod cluster;
mod commit;
mod control;
pub mod crm_updates;
pub mod engine;
mod erasure;
pub mod figures;
pub mod files;
pub mod index;
mod kv;
pub mod media;
mod migrate;
pub mod notices;
mod surveys;
pub use surveys::Survey;
mod outbox;
mod people;
mod raw;
mod record;
pub mod tx;

pub use appeals::AppealQuery;
pub use cluster::{ClusterOptions, IntakeQueue, QueuedIntake};
pub use erasure::Erasure;
pub use kv::PluginKv;
pub use raw::RawRequest;
pub use record::Head;

// The model's vocabulary, under the paths the store's modules name it by.
use clienthub_model::{appeal, clock, directory, event, legacy, normalize};

use crate::clock::SharedClock;
use crate::directory::Directory;
use anyhow::{Context, Result};
use backend::Backend;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::{Arc, RwLock};
use tx::{Batch, TreeId, Trees, Tx};

/// The database, its trees and the backend that commits writes.
#[derive(Clone)]
pub struct Store {
    db: engine::Db,
    trees: Trees,
    directory: Arc<RwLock<Arc<Directory>>>,
    backend: Arc<dyn Backend>,
    clock: SharedClock,
    changes: changes::Changes,
    crm_active: Arc<std::sync::atomic::AtomicBool>,
}

/// Result of storing a message under its idempotency key.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key was new; the write happened.
    New,
    /// The key was seen before (it belongs to this appeal); nothing was written.
    Seen(String),
}

/// A kind of control record another node of a cluster changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlChange {
    /// Plugin versions (a new upload).
    Plugins,
    /// Activations and plugin configuration.
    Activations,
    /// The routing directory.
    Directory,
    /// Anything else (tokens, the directory's log).
    Other,
}

impl ControlChange {
    fn of(tree: TreeId) -> Self {
        match tree {
            TreeId::Plugins => ControlChange::Plugins,
            TreeId::Activations => ControlChange::Activations,
            TreeId::Settings => ControlChange::Directory,
            _ => ControlChange::Other,
        }
    }
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
    /// Opens (or creates) the database under `dir`, on its own, with a block cache of at most
    /// `cache_bytes` (a data dir of an older version, kept by sled, is converted first).
    ///
    /// # Errors
    /// When the database cannot be opened (permissions, another process holds it).
    pub fn open(dir: &Path, clock: SharedClock, cache_bytes: u64) -> Result<Self> {
        let db = open_db(dir, cache_bytes)?;
        let trees = Trees::open(&db)?;
        index::ensure(&trees)?;
        let backend = Arc::new(backend::Local::start(db.clone()));
        let store = Self {
            db,
            trees,
            directory: Arc::default(),
            backend,
            clock,
            changes: Arc::default(),
            crm_active: Arc::default(),
        };
        store.reload_directory()?;
        Ok(store)
    }

    /// Opens the node's view under `dir` and joins the cluster: the view is brought up to
    /// date before this returns, and the directory snapshot follows the other nodes' changes.
    ///
    /// # Errors
    /// When the database cannot be opened or the cluster cannot be joined.
    pub async fn join(
        dir: &Path,
        options: &ClusterOptions,
        clock: SharedClock,
        cache_bytes: u64,
    ) -> Result<Self> {
        let db = open_db(dir, cache_bytes)?;
        let trees = Trees::open(&db)?;
        index::ensure(&trees)?;
        let cluster = cluster::Cluster::join(options, &db, &trees).await?;
        let store = Self {
            db,
            trees,
            directory: Arc::default(),
            backend: cluster,
            clock,
            changes: Arc::default(),
            crm_active: Arc::default(),
        };
        store.reload_directory()?;
        let follower = store.clone();
        store.on_control_change(move |change| {
            if change == ControlChange::Directory
                && let Err(e) = follower.reload_directory()
            {
                tracing::error!("reloading the directory: {e:#}");
            }
        });
        Ok(store)
    }

    /// Milliseconds since the Unix epoch, by the host's clock: what every record is stamped with.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
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

    fn tree(&self, tree: TreeId) -> &engine::Tree {
        self.trees.get(tree)
    }

    /// Runs `logic` as a transaction and commits it; runs it again on a conflict (another
    /// writer changed what it read). The one write path of both backends.
    fn write<T>(&self, logic: impl Fn(&mut Tx) -> Result<T>) -> Result<T> {
        let mut origin = [0u8; 8];
        // Without the system's randomness no id can be unique; nothing sensible goes on.
        getrandom::fill(&mut origin).expect("the operating system's random generator");
        loop {
            let mut tx = Tx::new(&self.trees);
            tx.crm_active = self.crm_active.load(std::sync::atomic::Ordering::Relaxed);
            let out = logic(&mut tx)?;
            let batch = Batch { origin: u64::from_be_bytes(origin), ..tx.into_batch() };
            if batch.is_empty() || self.backend.submit(&self.trees, batch)? {
                return Ok(out);
            }
        }
    }

    /// Commits writes that depend on nothing read.
    fn write_blind(&self, writes: Vec<(TreeId, Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        self.backend.submit(&self.trees, Batch::writes(writes)).map(drop)
    }

    /// Makes every write so far durable. Concurrent callers share one flush. In a cluster
    /// every write was acknowledged by JetStream already.
    ///
    /// # Errors
    /// When the flush fails (disk full, I/O error).
    pub async fn commit(&self) -> Result<()> {
        self.backend.durable().await
    }

    /// Flushes synchronously (admin operations, shutdown).
    ///
    /// # Errors
    /// When the flush fails.
    pub fn flush_now(&self) -> Result<()> {
        self.db.flush().context("flushing the database")?;
        Ok(())
    }

    /// The database's memory now, in bytes: its block cache (bounded by `--cache-mib`) and its
    /// memtables (writes not yet in sorted files; bounded through the journal's size).
    pub fn memory(&self) -> (u64, u64) {
        self.db.memory()
    }

    /// Journal syncs (each makes every write before it durable) since the database opened, and
    /// the time they took in all: their mean is the disk's part of an acknowledgement's wait.
    pub fn syncs(&self) -> (u64, std::time::Duration) {
        self.db.syncs()
    }

    /// Every tree's name, entries and bytes of keys and values: a full scan, for the history
    /// benchmark's account of what an appeal costs.
    ///
    /// # Errors
    /// On storage failure.
    pub fn tree_sizes(&self) -> Result<Vec<(&'static str, u64, u64)>> {
        let mut sizes = Vec::new();
        for tree in TreeId::ALL {
            let (mut entries, mut bytes) = (0, 0);
            for entry in self.tree(tree).iter() {
                let (key, value) = entry?;
                entries += 1;
                bytes += (key.len() + value.len()) as u64;
            }
            sizes.push((tree.name(), entries, bytes));
        }
        Ok(sizes)
    }

    /// Calls `listener` after another node changed a control record (never on one machine,
    /// where every change is this node's own).
    pub fn on_control_change(&self, listener: impl Fn(ControlChange) + Send + Sync + 'static) {
        self.backend.on_control_change(Box::new(listener));
    }

    /// Whether this node runs the work done once per deployment (the dispatcher): always on
    /// one machine; in a cluster, the holder of the dispatcher's lease.
    pub fn leads(&self) -> bool {
        self.backend.leads()
    }

    /// The backend's own state for `/healthz`: a cluster's name, node and how far this node's
    /// view has applied; `None` on one machine.
    pub fn backend_status(&self) -> Option<serde_json::Value> {
        self.backend.status()
    }

    /// Where adapters' output is queued for any node to process: `None` on one machine, where
    /// it is processed where it arrived.
    pub fn intake_queue(&self) -> Option<IntakeQueue> {
        self.backend.intake_queue()
    }

    /// Stops when the backend can no longer keep this node's view (a cluster node that cannot
    /// apply the state stream): resolves with the reason; never on one machine.
    pub async fn failed(&self) -> String {
        self.backend.failed().await
    }
}

/// The database's block cache when nothing else is asked for (`serve --cache-mib`).
pub const DEFAULT_CACHE_BYTES: u64 = 256 << 20;

fn open_db(dir: &Path, cache_bytes: u64) -> Result<engine::Db> {
    migrate::from_sled(dir, cache_bytes)?;
    engine::Db::open(&dir.join(engine::DIR), cache_bytes)
}

fn pair_key(a: &str, b: &str) -> Vec<u8> {
    [a.as_bytes(), &[0], b.as_bytes()].concat()
}

fn get_json<T: DeserializeOwned>(tree: &engine::Tree, key: &[u8]) -> Result<Option<T>> {
    tree.get(key)?.map(|v| Ok(serde_json::from_slice(&v)?)).transpose()
}

fn values_of<T: DeserializeOwned>(tree: &engine::Tree) -> Result<Vec<T>> {
    tree.iter().values().map(|v| Ok(serde_json::from_slice(&v?)?)).collect()
}

fn keys_of(tree: &engine::Tree) -> Result<Vec<String>> {
    tree.iter().keys().map(|k| Ok(String::from_utf8_lossy(&k?).into_owned())).collect()
}
