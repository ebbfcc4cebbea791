//! The cluster's intake: a node that accepts a webhook runs its adapter (verification, the
//! platform's answer) and queues what it found on the intake work-queue stream; workers on
//! every node take intakes from it, run the rest of the pipeline and acknowledge only after
//! the appeals are stored, so each is processed by exactly one node and a node that dies
//! mid-way leaves its intakes to the others.

use super::ingest::Intake;
use crate::registry::Registry;
use crate::store::Store;
use crate::store::cluster::Cluster;
use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;

/// Intakes one worker takes at a time.
const BATCH: usize = 16;

/// Queues an intake; returns once JetStream has it. Its idempotency key is the first
/// message's (channel, platform id), so a platform's retry within JetStream's deduplication
/// window is dropped there.
///
/// # Errors
/// When JetStream does not take it (the platform gets a 503 and retries).
pub async fn queue(cluster: &Cluster, intake: &Intake) -> Result<()> {
    let dedup = intake
        .events
        .iter()
        .find_map(|event| match event {
            crate::runtime::wit::Event::NewAppeal(m) | crate::runtime::wit::Event::FollowUp(m) => {
                Some(format!("{}:{}", intake.raw.channel, m.platform_id))
            }
            _ => None,
        })
        .unwrap_or_else(|| format!("raw:{}", intake.raw.id));
    cluster.queue_intake(postcard::to_allocvec(intake)?, &dedup).await
}

/// Starts `workers` intake workers on this node.
pub fn spawn_workers(store: Store, registry: Arc<Registry>, workers: usize) {
    let Some(cluster) = store.cluster().cloned() else { return };
    for _ in 0..workers {
        let (store, registry, cluster) = (store.clone(), registry.clone(), cluster.clone());
        tokio::spawn(async move {
            loop {
                if let Err(e) = work(&store, &registry, &cluster).await {
                    tracing::error!("processing intakes: {e:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
    }
}

async fn work(store: &Store, registry: &Arc<Registry>, cluster: &Cluster) -> Result<()> {
    for message in cluster.next_intakes(BATCH).await? {
        let intake: Intake = match postcard::from_bytes(&message.payload) {
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
        message.ack().await.map_err(|e| anyhow::anyhow!("{e}")).context("acknowledging an intake")?;
        tracing::debug!(appeals = ?appeals, "intake processed");
    }
    Ok(())
}
