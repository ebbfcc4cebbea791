//! The intake work-queue stream: what adapters made of accepted webhooks, queued by the node
//! that accepted them and processed by exactly one node.

use anyhow::{Context, Result, anyhow};
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use std::time::Duration;

/// The intake work-queue stream: what adapters made of accepted webhooks, each processed by
/// exactly one node.
#[derive(Clone)]
pub struct IntakeQueue {
    pub(super) js: jetstream::Context,
    pub(super) subject: String,
    pub(super) consumer: consumer::PullConsumer,
}

/// An intake taken from the queue: processed, then acknowledged; one never acknowledged (its
/// node died) is handed to another node.
pub struct QueuedIntake {
    message: jetstream::Message,
}

impl QueuedIntake {
    /// What the adapter's node queued.
    pub fn payload(&self) -> &[u8] {
        &self.message.payload
    }

    /// Takes it off the queue for good.
    ///
    /// # Errors
    /// When JetStream cannot be told (the intake is then handed out again).
    pub async fn ack(self) -> Result<()> {
        self.message.ack().await.map_err(|e| anyhow!("acknowledging an intake: {e}"))
    }
}

impl IntakeQueue {
    /// Queues what an adapter made of a webhook for processing by some node; returns once
    /// JetStream has it. `dedup` (the platform's message id) lets JetStream drop a retry within
    /// its deduplication window.
    ///
    /// # Errors
    /// When JetStream does not take it.
    pub async fn push(&self, payload: Vec<u8>, dedup: &str) -> Result<()> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", dedup);
        self.js
            .publish_with_headers(self.subject.clone(), headers, payload.into())
            .await?
            .await
            .context("JetStream did not take the webhook")?;
        Ok(())
    }

    /// Waits for up to `max` queued intakes.
    ///
    /// # Errors
    /// When the stream cannot be read.
    pub async fn next(&self, max: usize) -> Result<Vec<QueuedIntake>> {
        let mut batch = self
            .consumer
            .batch()
            .max_messages(max)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let mut out = Vec::new();
        while let Some(message) = batch.next().await {
            out.push(QueuedIntake { message: message.map_err(|e| anyhow!("{e}"))? });
        }
        Ok(out)
    }
}
