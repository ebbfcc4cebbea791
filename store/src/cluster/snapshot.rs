//! Snapshots of the state, so a node joins from a snapshot plus the stream's tail instead of
//! replaying all history, and the state stream is trimmed behind them.
//!
//! The node that runs the dispatcher takes one every `snapshot_every` applied writes: it
//! copies its view's record trees (not the derived indexes, rebuilt on load; not the control
//! trees, which the control bucket holds) into an archive ([`crate::archive`] frames)
//! while it goes on applying the stream, and notes which writes of the stream it applied
//! during the copy (each write applies under the lock that begins and ends the window) — the *window* from the sequence it began at to the one it ended at. The
//! archive, window included, is stored in the plugins' object store as `state-snapshot`; then
//! the stream is purged below the window's start.
//!
//! A joining node whose view is empty, or behind the stream's first message, loads the
//! snapshot, rebuilds the derived trees, applies the writes of the window the snapshotting
//! node applied (as they were, unconditionally: each tree key then holds what it held at the
//! window's end whatever moment the copy read it at) and skips the rest of the window; after
//! it, the stream applies as always.

use super::Cluster;
use crate::archive::{self, ArchiveWriter, MAGIC};
use crate::tx::{Batch, TreeId, Trees};
use anyhow::{Context, Result, anyhow, ensure};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::sync::atomic::Ordering;

/// The object the latest snapshot is stored as.
const OBJECT: &str = "state-snapshot";
/// The frame name of the window, after the trees.
const WINDOW: &str = "!window";

/// The stream writes a snapshot's copy overlapped.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Window {
    /// The last sequence applied when the copy began.
    pub start: u64,
    /// The last sequence applied when it ended.
    pub end: u64,
    /// The sequences in `(start, end]` whose batch applied.
    pub applied: Vec<u64>,
}

/// The trees a snapshot holds: state records, not control or derived trees.
fn state_trees() -> impl Iterator<Item = TreeId> {
    archive::record_trees().filter(|t| !t.is_control())
}

impl Cluster {
    /// Takes a snapshot of this node's view, stores it and trims the stream behind it.
    pub(super) async fn snapshot(&self, trees: &Trees) -> Result<Window> {
        let start = {
            let mut recording = self.recording.lock().unwrap_or_else(|e| e.into_inner());
            let start = self.state_applied.load(Ordering::SeqCst);
            *recording = Some(Window { start, end: start, applied: Vec::new() });
            start
        };
        let file = tempfile::tempfile().context("a temporary file for the snapshot")?;
        let copied = {
            let trees = trees.clone();
            tokio::task::spawn_blocking(move || copy(&trees, file)).await?
        };
        let window = {
            let mut recording = self.recording.lock().unwrap_or_else(|e| e.into_inner());
            let mut window = recording.take().unwrap_or_default();
            window.end = self.state_applied.load(Ordering::SeqCst);
            window.applied.retain(|seq| (start + 1..=window.end).contains(seq));
            window
        };
        let mut writer = copied?;
        writer.write(&frame(WINDOW, &postcard::to_allocvec(&window)?))?;
        let mut file = writer.finish()?;
        std::io::Seek::rewind(&mut file)?;
        let mut file = tokio::fs::File::from_std(file);
        self.blobs.put(OBJECT, &mut file).await.map_err(|e| anyhow!("storing the snapshot: {e}"))?;
        self.state
            .purge()
            .sequence(start + 1)
            .await
            .map_err(|e| anyhow!("trimming the state stream: {e}"))?;
        self.snapshot_end.store(window.end, Ordering::Relaxed);
        tracing::info!(start, end = window.end, "state snapshot taken; the stream is trimmed behind it");
        Ok(window)
    }

    /// Loads the stored snapshot into an empty (or stale) view; its window, `None` when there
    /// is no snapshot.
    pub(super) async fn load_snapshot(&self, trees: &Trees) -> Result<Option<Window>> {
        let mut object = match self.blobs.get(OBJECT).await {
            Ok(object) => object,
            Err(e) if e.kind() == async_nats::jetstream::object_store::GetErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(anyhow!("reading the snapshot: {e}")),
        };
        let path = tempfile::NamedTempFile::new()?.into_temp_path();
        let mut file = tokio::fs::File::create(&path).await?;
        tokio::io::copy(&mut object, &mut file).await.context("downloading the snapshot")?;
        drop(file);
        let trees = trees.clone();
        let window = tokio::task::spawn_blocking(move || load(&trees, &path)).await??;
        self.snapshot_end.store(window.end, Ordering::Relaxed);
        Ok(Some(window))
    }
}

/// Copies the state trees into an archive in `file`.
fn copy(trees: &Trees, file: std::fs::File) -> Result<ArchiveWriter<std::fs::File>> {
    let mut writer = ArchiveWriter::new(file)?;
    for tree in state_trees() {
        let mut buffer = Vec::new();
        for entry in trees.get(tree).iter() {
            let (key, value) = entry?;
            archive::frame(&mut buffer, tree.name(), &key, &value);
            if buffer.len() > 1 << 20 {
                writer.write(&buffer)?;
                buffer.clear();
            }
        }
        writer.write(&buffer)?;
    }
    Ok(writer)
}

fn frame(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    archive::frame(&mut out, name, &[], value);
    out
}

/// Replaces the view's state trees with the snapshot at `path` and rebuilds the derived trees.
fn load(trees: &Trees, path: &std::path::Path) -> Result<Window> {
    archive::verify(path)?;
    for tree in state_trees().chain([
        TreeId::AppealIndex,
        TreeId::Counters,
        TreeId::SearchPending,
        TreeId::DayFigures,
    ]) {
        trees.get(tree).clear()?;
    }
    let mut reader = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut magic = vec![0; MAGIC.len()];
    reader.read_exact(&mut magic)?;
    let mut window = None;
    let mut bulk = trees.db().bulk();
    while let Some((name, key, value)) = archive::read_frame(&mut reader)? {
        match name.as_str() {
            WINDOW => window = Some(postcard::from_bytes::<Window>(&value)?),
            _ => {
                let tree = TreeId::from_name(&name).with_context(|| format!("unknown tree '{name}'"))?;
                bulk.insert(trees.get(tree), &key, &value)?;
            }
        }
    }
    bulk.finish()?;
    crate::index::rebuild(trees)?;
    window.ok_or_else(|| anyhow!("the snapshot has no window"))
}

/// Applies a write of a loaded snapshot's window: unconditionally when the snapshotting node
/// applied it, not at all otherwise. Whether it applied.
pub(super) fn apply_in_window(
    batch: &Batch,
    window: &Window,
    seq: u64,
    trees: &Trees,
    extra: (&crate::engine::Tree, &[u8], &[u8]),
) -> Result<bool> {
    ensure!(seq <= window.end, "not in the window");
    let applied = window.applied.binary_search(&seq).is_ok();
    let batch = match applied {
        true => Batch::writes(batch.writes.clone()),
        false => Batch::writes(Vec::new()),
    };
    batch.apply(trees, Some(extra))?;
    Ok(applied)
}
