//! The outbox work-queue stream, as one node works it: each queued item (a CRM delivery, a
//! note, a reply) is a message this node claims; it is acknowledged once the item has left the
//! outbox in the node's view, kept alive while it is being worked on, and dropped after a grace
//! period if the write that queued it never landed.

use super::{ACK_WAIT, Cluster, OUTBOX_GRACE};
use crate::tx::TreeId;
use anyhow::{Result, anyhow};
use async_nats::jetstream;
use futures_util::StreamExt;
use std::time::Duration;

/// A work item of the outbox stream this node holds.
pub(super) struct Claimed {
    message: jetstream::Message,
    /// Whether the item was in this node's view when last looked at.
    seen: bool,
    /// When JetStream last heard that this node still works on it.
    touched: std::time::Instant,
}

impl Cluster {
    /// The keys of `tree`'s outbox this node holds and still finds queued in its view. Items
    /// that left the outbox since are acknowledged; new ones are claimed from the stream.
    ///
    /// # Errors
    /// When the stream cannot be read.
    pub(super) fn claimed(&self, tree: TreeId, queued: impl Fn(&[u8]) -> bool) -> Result<Vec<Vec<u8>>> {
        self.block(async {
            let mut fetched =
                self.outboxes[&tree].fetch().max_messages(64).messages().await.map_err(|e| anyhow!("{e}"))?;
            let mut fresh = Vec::new();
            while let Some(message) = fetched.next().await {
                fresh.push(message.map_err(|e| anyhow!("{e}"))?);
            }
            let (mut settle, mut touch) = (Vec::new(), Vec::new());
            let keys = {
                let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
                for message in fresh {
                    match claimed.entry((tree, message.payload.to_vec())) {
                        // A second message for an item this node holds (its write was retried).
                        std::collections::hash_map::Entry::Occupied(_) => settle.push(message),
                        std::collections::hash_map::Entry::Vacant(slot) => {
                            slot.insert(Claimed { message, seen: false, touched: std::time::Instant::now() });
                        }
                    }
                }
                let mut keys = Vec::new();
                let mut done = Vec::new();
                for ((t, key), item) in claimed.iter_mut().filter(|((t, _), _)| *t == tree) {
                    if queued(key) {
                        item.seen = true;
                        keys.push(key.clone());
                        if item.touched.elapsed() > ACK_WAIT / 3 {
                            item.touched = std::time::Instant::now();
                            touch.push(item.message.clone());
                        }
                    } else if item.seen || age(&item.message) > OUTBOX_GRACE {
                        done.push((*t, key.clone()));
                    }
                }
                for key in done {
                    if let Some(item) = claimed.remove(&key) {
                        settle.push(item.message);
                    }
                }
                keys.sort();
                keys
            };
            for message in settle {
                message.ack().await.map_err(|e| anyhow!("{e}"))?;
            }
            for message in touch {
                message.ack_with(jetstream::AckKind::Progress).await.map_err(|e| anyhow!("{e}"))?;
            }
            Ok(keys)
        })
    }
}

fn age(message: &jetstream::Message) -> Duration {
    let published = message.info().map(|i| i.published.unix_timestamp_nanos()).unwrap_or_default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    Duration::from_nanos((now - published).max(0) as u64)
}
