//! Group commit: callers wait for a journal sync that started after their write; one sync
//! serves every caller that queued while the previous flush ran.

use anyhow::{Result, anyhow};
use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), String>>;

/// A handle to the flusher task.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::UnboundedSender<Waiter>,
}

impl GroupCommit {
    /// Starts the flusher on a dedicated thread, so it works with or without a runtime.
    pub fn start(db: super::engine::Db) -> Self {
        let (queue, mut waiting) = mpsc::unbounded_channel::<Waiter>();
        std::thread::Builder::new()
            .name("clienthub-flush".into())
            .spawn(move || {
                while let Some(first) = waiting.blocking_recv() {
                    let mut batch = vec![first];
                    while let Ok(more) = waiting.try_recv() {
                        batch.push(more);
                    }
                    let result = db.flush().map(drop).map_err(|e| e.to_string());
                    for waiter in batch {
                        let _ = waiter.send(result.clone());
                    }
                }
            })
            // At start, before any request: a host that cannot start a thread cannot run.
            .expect("starting the flush thread");
        Self { queue }
    }

    /// Waits until everything written before the call is on disk.
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.queue.send(tx).map_err(|_| anyhow!("the flush thread has stopped"))?;
        rx.await
            .map_err(|_| anyhow!("the flush thread has stopped"))?
            .map_err(|e| anyhow!("flushing the database: {e}"))
    }
}
