//! What commits the store's writes: the [`Backend`] trait, made of the capabilities it mixes
//! ([`Commit`], [`Blobs`], [`Leadership`], [`Intake`]), and [`Local`], the one-machine backend
//! (the local database with group commit). The cluster's backend is
//! [`super::cluster::Cluster`]; `tests/all/store.rs` runs one conformance suite on both.
//!
//! Both commit the same [`Batch`]es with the same read checks (the one write path), except
//! control records, which a cluster keeps last-writer-wins (see [`Backend::submit`]). Two
//! operations are not batches, and are named for it: plugin binaries are content-addressed
//! ([`Backend::put_blob`]), and a message's appeal id is claimed once ([`Backend::claim_id`]).

use super::ControlChange;
use super::commit::GroupCommit;
use super::tx::{Batch, TreeId, Trees};
use anyhow::Result;
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// A listener of control changes made on other nodes.
pub type Listener = Box<dyn Fn(ControlChange) + Send + Sync>;

/// Where the store's writes go: every capability a backend has, and its own state.
pub trait Backend: Commit + Blobs + Leadership + Intake {
    /// The backend's own state for `/healthz`.
    fn status(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Committing the store's writes and hearing of other writers.
pub trait Commit: Send + Sync {
    /// Commits `batch` if nothing it read has changed; whether it was applied (`false`: the
    /// caller runs its logic again). A batch of control records (plugins, activations,
    /// settings, tokens, people, the directory's log) is last-writer-wins per key in a
    /// cluster, except the records it read, which it writes only if they are still as read
    /// (compare and set), so a counter changed on two nodes at once loses no change.
    fn submit(&self, trees: &Trees, batch: Batch) -> Result<bool>;

    /// Waits until everything submitted so far is durable.
    fn durable(&self) -> BoxFuture<'_, Result<()>>;

    /// The appeal id of a message's idempotency key: `fresh`, unless another writer (another
    /// node) claimed the key first, then that writer's id.
    fn claim_id(&self, _key: &[u8], fresh: &str) -> Result<String> {
        Ok(fresh.to_string())
    }

    /// Calls `listener` after another node changed a control record.
    fn on_control_change(&self, _listener: Listener) {}

    /// Resolves when this node can no longer keep its view, with the reason.
    fn failed(&self) -> BoxFuture<'_, String> {
        Box::pin(std::future::pending())
    }
}

/// Content-addressed bytes: plugin binaries and attachments' files.
pub trait Blobs: Send + Sync {
    /// Stores a plugin binary under its sha256. Content-addressed: writing it twice, from any
    /// node, writes the same bytes (last writer wins, harmlessly).
    fn put_blob(&self, trees: &Trees, sha256: &str, bytes: &[u8]) -> Result<()>;

    /// A plugin binary this node's view lacks, from where the backend shares them.
    fn fetch_blob(&self, _sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    /// Shares an attachment's file with the other nodes (a cluster's object store); one
    /// machine keeps it in its attachment store only.
    fn share_file(&self, _sha256: &str, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }

    /// An attachment's file another node fetched, when this node lacks it.
    fn fetch_file(&self, _sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    /// Forgets a shared attachment's file (its retention ended, its person was erased).
    fn delete_file(&self, _sha256: &str) -> Result<()> {
        Ok(())
    }
}

/// Which work is this node's: the once-per-deployment work, and its share of the outboxes.
pub trait Leadership: Send + Sync {
    /// Whether this node runs the work done once per deployment.
    fn leads(&self) -> bool {
        true
    }

    /// The keys of an outbox this node should work on, oldest first.
    fn outbox_keys(&self, trees: &Trees, tree: TreeId) -> Result<Vec<Vec<u8>>> {
        trees.get(tree).iter().keys().map(|k| Ok(k?.to_vec())).collect()
    }
}

/// The queue adapters' output waits in for any node to process (a cluster's); one machine
/// processes inline and has none.
pub trait Intake: Send + Sync {
    /// Where adapters' output is queued for any node to process.
    fn intake_queue(&self) -> Option<super::IntakeQueue> {
        None
    }
}

/// One machine: batches applied to the database at once, made durable by a shared flush.
pub struct Local {
    flusher: GroupCommit,
}

impl Local {
    /// Starts the flusher of `db`.
    pub fn start(db: super::engine::Db) -> Self {
        Self { flusher: GroupCommit::start(db) }
    }
}

impl Backend for Local {}

impl Commit for Local {
    fn submit(&self, trees: &Trees, batch: Batch) -> Result<bool> {
        batch.apply(trees, None)
    }

    fn durable(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.flusher.flush())
    }
}

/// Blobs in the database; files only in the attachment store.
impl Blobs for Local {
    fn put_blob(&self, trees: &Trees, sha256: &str, bytes: &[u8]) -> Result<()> {
        let write = (TreeId::Blobs, sha256.as_bytes().to_vec(), Some(bytes.to_vec()));
        self.submit(trees, Batch::writes(vec![write])).map(drop)
    }
}

/// One machine leads itself and works every outbox item.
impl Leadership for Local {}

/// One machine processes inline.
impl Intake for Local {}

/// Keeps the compiler honest that a backend can be shared between tasks.
const _: fn(Arc<dyn Backend>) = |_| {};
