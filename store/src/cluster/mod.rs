//! A node of a ClientHub cluster on NATS JetStream (`--store nats://…`).
//!
//! What lives where, for a cluster named `clienthub` (every name derives from it, so several
//! tenants share one NATS):
//! - `CLIENTHUB_STATE` (stream): every write to appeals, raw requests, idempotency and
//!   conversation keys, contacts, plugin key-value and the indexes, as a [`Batch`] with what it
//!   read. Every node applies the stream in order to its own database with the same check, so all
//!   nodes agree; a write returns once JetStream has it and this node applied it.
//! - `clienthub-control` (key-value bucket, watched by every node): plugin records,
//!   activations with their configuration, the routing directory and its log, API tokens. An
//!   activation or rollback reaches every node as one watch event.
//! - `clienthub-plugins` (object store): plugin binaries by sha256.
//! - `clienthub-idempotency` (key-value bucket): which appeal id each (channel, platform
//!   message id) got, claimed with `create`, so every node that processes the same message
//!   (a redelivery, a platform's retry after the deduplication window) writes the same appeal,
//!   and the state stream's check lets exactly one such write in.
//! - `CLIENTHUB_INTAKE` (work-queue stream): what adapters made of accepted webhooks; each is
//!   processed (filters, router, stored appeal) by exactly one node.
//! - `CLIENTHUB_OUTBOX` (work-queue stream): CRM deliveries, CRM notes and replies, one message
//!   per queued item, acknowledged when the item left its outbox.
//! - `clienthub-leases` (key-value bucket with a short age limit): which node runs the
//!   dispatcher (assignment, escalation, SLA), so it runs once in the cluster.
//!
//! The node's database is a disposable view: a new node replays the state stream and the bucket.

mod intake;
mod layout;
mod outbox;
mod snapshot;

pub use intake::{IntakeQueue, QueuedIntake};

use outbox::Claimed;

use super::ControlChange;
use super::backend::{Backend, Blobs, Commit, Intake, Leadership, Listener};
use super::tx::{Batch, TreeId, Trees};
use anyhow::{Context, Result, anyhow, bail};
use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// `nats://host:port` of any NATS server of the cluster.
    pub url: String,
    /// The cluster's name: the prefix of its streams and buckets (`clienthub`).
    pub name: String,
    /// Copies JetStream keeps of each stream and bucket (3 on a three-server NATS cluster).
    pub replicas: usize,
    /// Writes of the state stream between snapshots (taken by the dispatcher's node; the
    /// stream is trimmed behind each).
    pub snapshot_every: u64,
}

/// The key under which the last applied state sequence is kept in the node's database.
const APPLIED: &[u8] = b"state_seq";
/// How long a write waits for this node to apply it before it reports an error.
const APPLY_WAIT: Duration = Duration::from_secs(30);
/// How long a work item may stay claimed by a node that stopped answering.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// Age of a lease: a dead leader's lease is taken over after this long.
const LEASE_AGE: Duration = Duration::from_secs(5);
/// An outbox message whose item this node has not seen yet is kept this long (the write that
/// queued it may still be on its way); then it is dropped as an intent that never landed.
const OUTBOX_GRACE: Duration = Duration::from_secs(30);

/// One write of the state stream.
#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    id: u64,
    batch: Batch,
}

/// A connected node.
pub struct Cluster {
    name: String,
    node: String,
    runtime: tokio::runtime::Handle,
    js: jetstream::Context,
    control: kv::Store,
    leases: kv::Store,
    idempotency: kv::Store,
    blobs: object_store::ObjectStore,
    /// Attachments' files, so any node serves what the leader fetched.
    files: object_store::ObjectStore,
    intake: consumer::PullConsumer,
    outboxes: HashMap<TreeId, consumer::PullConsumer>,
    claimed: Mutex<HashMap<(TreeId, Vec<u8>), Claimed>>,
    next_id: AtomicU64,
    verdicts: Mutex<HashMap<u64, oneshot::Sender<bool>>>,
    control_applied: watch::Sender<u64>,
    /// The last state stream sequence this node applied.
    state_applied: AtomicU64,
    listeners: Mutex<Vec<Listener>>,
    leading: AtomicBool,
    /// Why this node stopped keeping its view, once it has.
    failure: watch::Sender<Option<String>>,
    /// The state stream (trimmed behind snapshots).
    state: stream::Stream,
    /// The writes applied while a snapshot is being copied.
    recording: Mutex<Option<snapshot::Window>>,
    /// The last sequence the latest snapshot holds (taken or loaded).
    snapshot_end: AtomicU64,
    snapshot_every: u64,
}

impl Cluster {
    /// Connects, creates the streams and buckets that are missing, brings the node's view up
    /// to date (state stream and control bucket), and starts following them.
    ///
    /// # Errors
    /// When NATS is unreachable, JetStream is not enabled, or a stream cannot be created.
    pub async fn join(options: &ClusterOptions, db: &crate::engine::Db, trees: &Trees) -> Result<Arc<Self>> {
        if !options.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            bail!("a cluster name is letters, digits, '-' and '_' ('{}' is not)", options.name);
        }
        let js = layout::connect(options).await?;
        let layout::Layout { state, intake, outboxes, control, idempotency, leases, blobs, files, lower } =
            layout::Layout::open(&js, options).await?;
        let cluster = Arc::new(Self {
            name: lower,
            node: ulid::Ulid::new().to_string(),
            runtime: tokio::runtime::Handle::current(),
            js,
            control,
            leases,
            idempotency,
            blobs,
            files,
            intake,
            outboxes,
            claimed: Mutex::default(),
            next_id: AtomicU64::new(1),
            verdicts: Mutex::default(),
            control_applied: watch::channel(0).0,
            state_applied: AtomicU64::new(0),
            listeners: Mutex::default(),
            leading: AtomicBool::new(false),
            failure: watch::channel(None).0,
            state: state.clone(),
            recording: Mutex::default(),
            snapshot_end: AtomicU64::new(0),
            snapshot_every: options.snapshot_every.max(1),
        });
        let meta = db.open_tree("cluster")?;
        cluster.follow_state(state, meta, trees.clone()).await?;
        cluster.keep_snapshots(trees.clone());
        cluster.follow_control(trees.clone()).await?;
        cluster.keep_lease();
        tracing::info!(cluster = %cluster.name, node = %cluster.node, url = %options.url, "joined the cluster");
        Ok(cluster)
    }

    /// Runs a future of this node's runtime from synchronous code (the store's methods run on
    /// blocking threads or inside `block_in_place`).
    fn block<T>(&self, future: impl Future<Output = T>) -> T {
        tokio::task::block_in_place(|| self.runtime.block_on(future))
    }

    /// Commits a batch: control trees go to the control bucket, everything else to the state
    /// stream (after the outbox messages of what it queues). Whether it applied (`false`:
    /// something it read had changed; the caller runs its logic again).
    ///
    /// # Errors
    /// When JetStream does not take the write.
    fn commit_batch(&self, batch: Batch) -> Result<bool> {
        self.block(async {
            let control = batch.writes.iter().filter(|w| w.0.is_control()).count();
            if control == batch.writes.len() {
                return self.put_control(batch).await;
            }
            if control > 0 {
                bail!("a write mixes control and state trees");
            }
            for (tree, key, value) in &batch.writes {
                if tree.is_outbox() && value.is_some() {
                    let subject = format!("{}.outbox.{}", self.name, tree.name());
                    // One message per item however many attempts the write took (a retry
                    // after a conflict queues nothing twice: two nodes would both work it).
                    let mut headers = async_nats::HeaderMap::new();
                    if batch.origin != 0 {
                        let id = format!("{}.{}.{:016x}", tree.name(), hex::encode(key), batch.origin);
                        headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
                    }
                    let published = self.js.publish_with_headers(subject, headers, key.clone().into());
                    published.await?.await.context("queueing work")?;
                }
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let (verdict, applied) = oneshot::channel();
            self.verdicts.lock().unwrap_or_else(|e| e.into_inner()).insert(id, verdict);
            let envelope = postcard::to_allocvec(&Envelope { node: self.node.clone(), id, batch })?;
            let published = async {
                self.js.publish(format!("{}.state", self.name), envelope.into()).await?.await?;
                Ok::<_, async_nats::Error>(())
            };
            if let Err(e) = published.await {
                self.verdicts.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                return Err(anyhow!("JetStream did not take the write: {e}"));
            }
            match tokio::time::timeout(APPLY_WAIT, applied).await {
                Ok(Ok(applied)) => Ok(applied),
                _ => {
                    self.verdicts.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    Err(anyhow!("the write is in JetStream but this node did not apply it in time"))
                }
            }
        })
    }

    /// Writes control records to the bucket, last writer wins, except a record the batch read
    /// (a sign-in's failure counter): that one is written only if the bucket still holds what
    /// was read (compare and set on the entry's revision); otherwise nothing of it is, this
    /// node's view catches up, and the caller runs its logic again (`false`).
    async fn put_control(&self, batch: Batch) -> Result<bool> {
        let name = |tree: TreeId, key: &[u8]| format!("{}.{}", tree.name(), hex::encode(key));
        let mut expected = std::collections::HashMap::new();
        for (tree, key, read) in batch.reads.iter().filter(|(tree, ..)| tree.is_control()) {
            let key = name(*tree, key);
            let entry = self.control.entry(&key).await.context("reading the control bucket")?;
            let (held, revision) = match &entry {
                Some(e) if e.operation == kv::Operation::Put => {
                    (Some(crate::tx::digest_of(&e.value)), e.revision)
                }
                Some(e) => (None, e.revision),
                None => (None, 0),
            };
            if held != *read {
                let mut applied = self.control_applied.subscribe();
                applied
                    .wait_for(|seen| *seen >= revision)
                    .await
                    .map_err(|_| anyhow!("the control watch stopped"))?;
                return Ok(false);
            }
            expected.insert(key, revision);
        }
        let mut revision = 0;
        for (tree, key, value) in batch.writes {
            let key = name(tree, &key);
            revision = match (value, expected.get(&key)) {
                (Some(value), Some(&read)) => match self.control.update(&key, value.into(), read).await {
                    Ok(revision) => revision,
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => return Ok(false),
                    Err(e) => return Err(anyhow!("writing to the control bucket: {e}")),
                },
                (Some(value), None) => {
                    self.control.put(&key, value.into()).await.context("writing to the control bucket")?
                }
                (None, _) => {
                    self.control.delete(&key).await.context("deleting from the control bucket")?;
                    self.control.status().await?.info.state.last_sequence
                }
            };
        }
        let mut applied = self.control_applied.subscribe();
        applied.wait_for(|seen| *seen >= revision).await.map_err(|_| anyhow!("the control watch stopped"))?;
        Ok(true)
    }

    /// Applies the state stream from where this node stopped, then keeps applying it.
    async fn follow_state(
        self: &Arc<Self>,
        state: stream::Stream,
        meta: crate::engine::Tree,
        trees: Trees,
    ) -> Result<()> {
        let mut from =
            meta.get(APPLIED)?.map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])));
        let info = state.get_info().await?.state;
        let last = info.last_sequence;
        // An empty view, or one behind the trimmed stream, starts from the latest snapshot.
        let stale = from.is_some_and(|seq| seq + 1 < info.first_sequence);
        let mut window = None;
        if from.is_none() || stale {
            match self.load_snapshot(&trees).await? {
                Some(loaded) => {
                    meta.insert(APPLIED, loaded.start.to_be_bytes())?;
                    self.state_applied.store(loaded.start, Ordering::Relaxed);
                    from = Some(loaded.start);
                    tracing::info!(start = loaded.start, end = loaded.end, "joined from a snapshot");
                    window = Some(loaded);
                }
                None if stale => {
                    bail!("this node's view is behind the trimmed state stream and there is no snapshot")
                }
                None => {}
            }
        }
        let consumer = state
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: match from {
                    Some(seq) => consumer::DeliverPolicy::ByStartSequence { start_sequence: seq + 1 },
                    None => consumer::DeliverPolicy::All,
                },
                ..Default::default()
            })
            .await
            .context("following the state stream")?;
        let mut messages = consumer.messages().await?;
        let (caught_up, mut ready) = watch::channel(from.unwrap_or(0) >= last);
        let node = self.clone();
        tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                let applied = message
                    .map_err(anyhow::Error::from)
                    .and_then(|m| node.apply_state(&m, &meta, &trees, window.as_ref()));
                match applied {
                    Ok(seq) if seq >= last => {
                        let _ = caught_up.send(true);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        // The view can no longer follow the stream (disk full, say): the node
                        // stops, and on restart resumes from its last applied position.
                        tracing::error!("applying the state stream failed, stopping this node: {e:#}");
                        node.failure.send_replace(Some(format!("applying the state stream failed: {e:#}")));
                        return;
                    }
                }
            }
            tracing::error!("the state stream ended");
        });
        ready
            .wait_for(|done| *done)
            .await
            .map_err(|_| anyhow!("the state stream ended while catching up"))?;
        Ok(())
    }

    fn apply_state(
        &self,
        message: &jetstream::Message,
        meta: &crate::engine::Tree,
        trees: &Trees,
        window: Option<&snapshot::Window>,
    ) -> Result<u64> {
        let seq = message.info().map_err(|e| anyhow!("{e}"))?.stream_sequence;
        let position = seq.to_be_bytes();
        let envelope: Envelope = match postcard::from_bytes(&message.payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                // Not a write this version can read: skipped (and said so), never applied halfway.
                tracing::error!(seq, "skipping a state message this node cannot read: {e}");
                meta.insert(APPLIED, position)?;
                self.state_applied.store(seq, Ordering::Relaxed);
                return Ok(seq);
            }
        };
        if let Some(window) = window.filter(|w| seq <= w.end) {
            snapshot::apply_in_window(&envelope.batch, window, seq, trees, (meta, APPLIED, &position))?;
            self.state_applied.store(seq, Ordering::Relaxed);
            return Ok(seq);
        }
        // Applied under the snapshot's lock, so a snapshot's window begins and ends between
        // two writes, never inside one.
        let mut recording = self.recording.lock().unwrap_or_else(|e| e.into_inner());
        let applied = envelope.batch.apply(trees, Some((meta, APPLIED, &position)))?;
        self.state_applied.store(seq, Ordering::SeqCst);
        if let Some(window) = recording.as_mut().filter(|_| applied) {
            window.applied.push(seq);
        }
        drop(recording);
        if envelope.node == self.node
            && let Some(verdict) =
                self.verdicts.lock().unwrap_or_else(|e| e.into_inner()).remove(&envelope.id)
        {
            let _ = verdict.send(applied);
        }
        Ok(seq)
    }

    /// Applies the control bucket's current values, then every change as it comes.
    async fn follow_control(self: &Arc<Self>, trees: Trees) -> Result<()> {
        let last = self.control.status().await?.info.state.last_sequence;
        let mut changes =
            self.control.watch_with_history(">").await.context("watching the control bucket")?;
        let node = self.clone();
        let mut applied = self.control_applied.subscribe();
        tokio::spawn(async move {
            while let Some(entry) = changes.next().await {
                let applied =
                    entry.map_err(anyhow::Error::from).and_then(|entry| node.apply_control(&entry, &trees));
                if let Err(e) = applied {
                    tracing::error!("applying a control change: {e:#}");
                }
            }
            tracing::error!("the control watch ended");
        });
        applied.wait_for(|seen| *seen >= last).await.map_err(|_| anyhow!("the control watch ended"))?;
        Ok(())
    }

    fn apply_control(&self, entry: &kv::Entry, trees: &Trees) -> Result<()> {
        let parsed = entry
            .key
            .split_once('.')
            .and_then(|(tree, key)| Some((TreeId::from_name(tree)?, hex::decode(key).ok()?)));
        if let Some((tree, key)) = parsed.filter(|(tree, _)| tree.is_control()) {
            match entry.operation {
                kv::Operation::Put => trees.get(tree).insert(key, entry.value.as_ref())?,
                kv::Operation::Delete | kv::Operation::Purge => trees.get(tree).remove(key)?,
            };
            for listener in self.listeners.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                listener(ControlChange::of(tree));
            }
        }
        self.control_applied.send_modify(|seen| *seen = (*seen).max(entry.revision));
        Ok(())
    }

    /// The appeal id of a message's idempotency key: `fresh` when this call claimed it, else
    /// the id an earlier claim gave it (on any node).
    ///
    /// # Errors
    /// When the bucket cannot be written or read.
    fn claim_in_bucket(&self, key: &[u8], fresh: &str) -> Result<String> {
        self.block(async {
            let key = hex::encode(key);
            match self.idempotency.create(&key, fresh.to_string().into()).await {
                Ok(_) => Ok(fresh.to_string()),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                    let owner =
                        self.idempotency.get(&key).await?.context("an idempotency key without its id")?;
                    Ok(String::from_utf8_lossy(&owner).into_owned())
                }
                Err(e) => Err(anyhow!("claiming an idempotency key: {e}")),
            }
        })
    }

    /// Stores a plugin binary in the object store (once per sha256).
    ///
    /// # Errors
    /// When the object store does not take it.
    fn share_blob(&self, store: &object_store::ObjectStore, sha256: &str, bytes: &[u8]) -> Result<()> {
        self.block(async {
            if store.info(sha256).await.is_ok() {
                return Ok(());
            }
            store.put(sha256, &mut &bytes[..]).await.map_err(|e| anyhow!("storing {sha256}: {e}"))?;
            Ok(())
        })
    }

    /// A plugin binary from the object store.
    ///
    /// # Errors
    /// When the object store cannot be read.
    fn object(&self, store: &object_store::ObjectStore, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.block(async {
            let mut object = match store.get(sha256).await {
                Ok(object) => object,
                Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
                Err(e) => bail!("reading {sha256}: {e}"),
            };
            let mut bytes = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut object, &mut bytes).await?;
            Ok(Some(bytes))
        })
    }

    /// The cluster's name, this node's id, whether it runs the dispatcher and how far its view
    /// has applied the state stream and the control bucket (`/healthz`; compare nodes).
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "node": self.node,
            "dispatcher": self.holds_lease(),
            "state_applied": self.state_applied.load(Ordering::Relaxed),
            "snapshot_end": self.snapshot_end.load(Ordering::Relaxed),
            "control_applied": *self.control_applied.borrow(),
        })
    }

    /// On the dispatcher's node, a snapshot every `snapshot_every` applied writes.
    fn keep_snapshots(self: &Arc<Self>, trees: Trees) {
        let node = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let applied = node.state_applied.load(Ordering::Relaxed);
                let behind = applied.saturating_sub(node.snapshot_end.load(Ordering::Relaxed));
                if node.holds_lease()
                    && behind >= node.snapshot_every
                    && let Err(e) = node.snapshot(&trees).await
                {
                    tracing::error!("taking a state snapshot: {e:#}");
                }
            }
        });
    }

    /// Whether this node holds the dispatcher's lease.
    fn holds_lease(&self) -> bool {
        self.leading.load(Ordering::Relaxed)
    }

    fn keep_lease(self: &Arc<Self>) {
        let node = self.clone();
        tokio::spawn(async move {
            let mut revision = None;
            loop {
                revision = match revision {
                    Some(rev) => node.leases.update("dispatcher", node.node.clone().into(), rev).await.ok(),
                    None => node.leases.create("dispatcher", node.node.clone().into()).await.ok(),
                };
                if node.leading.swap(revision.is_some(), Ordering::Relaxed) != revision.is_some() {
                    tracing::info!(node = %node.node, leads = revision.is_some(), "dispatcher lease");
                }
                tokio::time::sleep(LEASE_AGE / 5).await;
            }
        });
    }
}

impl Backend for Cluster {
    fn status(&self) -> Option<serde_json::Value> {
        Some(self.describe())
    }
}

impl Commit for Cluster {
    fn submit(&self, _trees: &Trees, batch: Batch) -> Result<bool> {
        self.commit_batch(batch)
    }

    /// Every write was acknowledged by JetStream before it returned.
    fn durable(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn claim_id(&self, key: &[u8], fresh: &str) -> Result<String> {
        self.claim_in_bucket(key, fresh)
    }

    fn on_control_change(&self, listener: Listener) {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner()).push(listener);
    }

    fn failed(&self) -> BoxFuture<'_, String> {
        let mut failure = self.failure.subscribe();
        Box::pin(async move {
            match failure.wait_for(Option::is_some).await {
                Ok(reason) => reason.clone().unwrap_or_default(),
                Err(_) => "the cluster node stopped".into(),
            }
        })
    }
}

/// Blobs and files in JetStream's object stores, this node's view as the blobs' cache.
impl Blobs for Cluster {
    fn put_blob(&self, trees: &Trees, sha256: &str, bytes: &[u8]) -> Result<()> {
        self.share_blob(&self.blobs, sha256, bytes)?;
        trees.get(TreeId::Blobs).insert(sha256.as_bytes(), bytes)?;
        Ok(())
    }

    fn fetch_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.object(&self.blobs, sha256)
    }

    fn share_file(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        self.share_blob(&self.files, sha256, bytes)
    }

    fn fetch_file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.object(&self.files, sha256)
    }

    fn delete_file(&self, sha256: &str) -> Result<()> {
        self.block(async {
            match self.files.delete(sha256).await {
                Err(e) if e.kind() != object_store::DeleteErrorKind::NotFound => {
                    bail!("deleting {sha256}: {e}")
                }
                _ => Ok(()),
            }
        })
    }
}

/// The lease holder leads; outbox items are claimed one node each.
impl Leadership for Cluster {
    fn leads(&self) -> bool {
        self.holds_lease()
    }

    fn outbox_keys(&self, trees: &Trees, tree: TreeId) -> Result<Vec<Vec<u8>>> {
        let items = trees.get(tree);
        self.claimed(tree, |key| items.contains_key(key).unwrap_or(false))
    }
}

/// Adapters' output waits in a JetStream work queue for any node's intake worker.
impl Intake for Cluster {
    fn intake_queue(&self) -> Option<IntakeQueue> {
        Some(IntakeQueue {
            js: self.js.clone(),
            subject: format!("{}.intake", self.name),
            consumer: self.intake.clone(),
        })
    }
}
