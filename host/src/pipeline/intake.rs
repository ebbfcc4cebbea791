//! The intake wiring: where an adapter's output goes once the platform's request is verified.
//! On one machine it is processed where it arrived, and the platform is answered after the
//! appeals are durable. In a cluster it is queued on the store's intake queue and the platform
//! answered once the queue has it; workers on every node take intakes from it, run the rest
//! of the pipeline and acknowledge only after the appeals are stored, so each is processed by
//! exactly one node and a node that dies mid-way leaves its intakes to the others.

use super::adapt::{Adapted, Intake, PlatformAnswer};
use crate::registry::{Pipeline, Registry};
use crate::store::{IntakeQueue, RawRequest, Store};
use crate::supervisor::Supervisor;
use anyhow::Result;
use std::sync::Arc;
use std::time::Duration;

/// Intakes one worker takes at a time.
const BATCH: usize = 16;

/// Why a request could not be taken in; the platform gets a 503 and retries.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The appeals could not be written.
    #[error("could not store the appeal, retry later: {0:#}")]
    Store(anyhow::Error),
    /// The cluster's queue did not take the intake.
    #[error("could not queue the request, retry later: {0:#}")]
    Queue(anyhow::Error),
    /// The writes could not be made durable.
    #[error("could not make the appeal durable, retry later: {0:#}")]
    Commit(anyhow::Error),
}

/// Requests running plugins at once; the pooling allocator holds 512 instances.
pub const PLUGIN_SLOTS: usize = 64;

/// Takes webhook requests in: adapter here, the rest here or on whichever node takes it.
pub struct Sink {
    store: Store,
    registry: Arc<Registry>,
    queue: Option<IntakeQueue>,
    /// Bounds how many requests run plugins at once (below the instance pool's size, so a
    /// burst queues here instead of failing to instantiate).
    plugin_slots: tokio::sync::Semaphore,
}

impl Sink {
    /// The sink of `store`'s deployment.
    pub fn new(store: Store, registry: Arc<Registry>) -> Self {
        let queue = store.intake_queue();
        Self { store, registry, queue, plugin_slots: tokio::sync::Semaphore::new(PLUGIN_SLOTS) }
    }

    /// Runs a received request through the adapter of `pipeline` (the snapshot the caller
    /// checked the channel against), hands what it found on, and returns what to answer the
    /// platform once that is durable.
    ///
    /// # Errors
    /// When something could not be kept: nothing may be acknowledged.
    pub async fn take(
        &self,
        pipeline: Arc<Pipeline>,
        raw: RawRequest,
    ) -> Result<PlatformAnswer, IntakeError> {
        let runtime = self.registry.runtime();
        let inline = self.queue.is_none();
        let adapted = {
            let _slot = self.plugin_slots.acquire().await;
            // Plugin calls are synchronous and bounded by their deadline.
            tokio::task::block_in_place(|| match pipeline.adapt(&self.store, runtime, raw)? {
                Adapted::Events(intake, answer) if inline => {
                    let appeals = pipeline.process(&self.store, runtime, *intake)?;
                    Ok(Adapted::Answered(PlatformAnswer { appeals, ..answer }))
                }
                adapted => anyhow::Ok(adapted),
            })
        }
        .map_err(IntakeError::Store)?;
        let answer = match (adapted, &self.queue) {
            (Adapted::Answered(answer), _) => answer,
            (Adapted::Events(intake, answer), Some(queue)) => {
                push(queue, &intake).await.map_err(IntakeError::Queue)?;
                answer
            }
            (Adapted::Events(..), None) => unreachable!("processed inline above"),
        };
        self.store.commit().await.map_err(IntakeError::Commit)?;
        // A newly activated version that keeps failing is rolled back now, before the next request.
        if !pipeline.health.is_quiet() {
            tokio::task::block_in_place(|| self.registry.roll_back_tripped());
        }
        Ok(answer)
    }

    /// Starts `count` intake workers on this node under `workers` when the deployment queues
    /// intakes. Stopped while waiting for or processing an intake, a worker leaves it
    /// unacknowledged: the queue hands it out again.
    pub fn spawn_workers(&self, count: usize, workers: &Supervisor) {
        let Some(queue) = &self.queue else { return };
        for _ in 0..count {
            let (store, registry, queue) = (self.store.clone(), self.registry.clone(), queue.clone());
            workers.spawn(async move {
                loop {
                    if let Err(e) = work(&store, &registry, &queue).await {
                        tracing::error!("processing intakes: {e:#}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            });
        }
    }
}

/// Queues an intake; returns once the queue has it. Its deduplication key is the first
/// message's (channel, platform id), so a platform's retry within the queue's deduplication
/// window is dropped there.
async fn push(queue: &IntakeQueue, intake: &Intake) -> Result<()> {
    let dedup = intake
        .events
        .iter()
        .find_map(|event| event.message())
        .map(|m| format!("{}:{}", intake.raw.channel, m.platform_id))
        .unwrap_or_else(|| format!("raw:{}", intake.raw.id));
    queue.push(postcard::to_allocvec(intake)?, &dedup).await
}

async fn work(store: &Store, registry: &Arc<Registry>, queue: &IntakeQueue) -> Result<()> {
    for queued in queue.next(BATCH).await? {
        let intake: Intake = match postcard::from_bytes(queued.payload()) {
            Ok(intake) => intake,
            Err(e) => {
                // Not ours to read (a newer node's format?): left for another node, never lost.
                tracing::error!("an intake this node cannot read: {e}");
                continue;
            }
        };
        let (store, registry) = (store.clone(), registry.clone());
        let appeals = tokio::task::spawn_blocking(move || {
            let pipeline = registry.pipeline();
            let appeals = pipeline.process(&store, registry.runtime(), intake);
            // A newly activated version that keeps failing here is rolled back cluster-wide.
            if !pipeline.health.is_quiet() {
                registry.roll_back_tripped();
            }
            appeals
        })
        .await??;
        queued.ack().await?;
        tracing::debug!(appeals = ?appeals, "intake processed");
    }
    Ok(())
}
