//! The background workers' lifecycle: every worker (the reply sender, CRM delivery, the
//! dispatcher, notices, attachments, raw-request retention, search indexing, the cluster's
//! intake and activations) runs under one [`Supervisor`], in one `JoinSet` with one
//! cancellation token. Stopping cancels them all and waits for each to finish its round, so
//! the store is flushed only once nothing writes any more. Which workers run only on the node
//! that leads a cluster is said here, by [`Role`], and nowhere else. Each finished round is
//! counted by worker (`clienthub_worker_rounds_total{worker}`), so whoever waits on a worker
//! (an operator's dashboard, a test) can tell that a round has passed.

use crate::store::Store;
use anyhow::Result;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Worker {
    worker: &'static str,
}

/// Rounds finished, by worker.
static ROUNDS: LazyLock<Family<Worker, Counter>> = LazyLock::new(Family::default);

/// Adds the workers' round counts to the host's `/metrics` registry.
pub fn register(registry: &mut Registry) {
    registry.register("worker_rounds", "Rounds finished by each background worker", ROUNDS.clone());
}

/// Where a worker runs in a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// On every node (each node's own queue, index or snapshot).
    EveryNode,
    /// Only on the node holding the cluster's lease (a single node always does).
    Leader,
}

/// How long a worker rests between rounds.
#[derive(Debug, Clone, Copy)]
pub enum Rest {
    /// A fixed pause.
    Fixed(Duration),
    /// This many times as long as the round took, and at least the pause: a round over a large
    /// backlog takes at most a tenth of a core.
    Proportional(Duration, u32),
}

/// What a round did: worth another round at once, or nothing more to do for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Rest before the next round.
    Rest,
    /// More is waiting: go again without resting.
    Again,
}

/// Runs the host's background workers and stops them together.
pub struct Supervisor {
    store: Store,
    tasks: Mutex<JoinSet<()>>,
    stop: CancellationToken,
}

impl Supervisor {
    /// A supervisor whose leader-only workers ask `store` whether this node leads.
    pub fn new(store: Store) -> Self {
        Self { store, tasks: Mutex::new(JoinSet::new()), stop: CancellationToken::new() }
    }

    /// The token cancelled when the host stops, for a worker that waits on something else
    /// between rounds (a wake-up, a queue) to wait on as well.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Runs `round` again and again until the host stops, resting as `rest` says between rounds
    /// (or until `wake` is notified, when given). A failed round is logged as `name`'s and the
    /// worker carries on after its rest.
    pub fn every<F, Fut>(
        &self,
        name: &'static str,
        role: Role,
        rest: Rest,
        wake: Option<Arc<Notify>>,
        mut round: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Round>> + Send,
    {
        let (store, stop) = (self.store.clone(), self.stop.clone());
        // Not dropped mid-round: the loop looks at the token between rounds.
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).spawn(async move {
            while !stop.is_cancelled() {
                let started = Instant::now();
                let outcome = match role == Role::EveryNode || store.leads() {
                    true => round().await,
                    false => Ok(Round::Rest),
                };
                ROUNDS.get_or_create(&Worker { worker: name }).inc();
                let pause = match rest {
                    Rest::Fixed(pause) => pause,
                    Rest::Proportional(pause, times) => pause.max(started.elapsed() * times),
                };
                let pause = match outcome {
                    Ok(Round::Again) => continue,
                    Ok(Round::Rest) => pause,
                    Err(e) => {
                        tracing::error!(worker = name, "{e:#}");
                        pause.max(Duration::from_secs(1))
                    }
                };
                let woken = async {
                    match &wake {
                        Some(wake) => wake.notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                    () = woken => {}
                }
            }
        });
    }

    /// Runs a worker of its own shape until the host stops (it is dropped at its next await
    /// once the host stops).
    pub fn spawn(&self, worker: impl Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = worker => {}
            }
        });
    }

    /// Stops every worker and waits for each: a round under way finishes first.
    pub async fn stop(&self) {
        self.stop.cancel();
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done
                && e.is_panic()
            {
                tracing::error!("a worker panicked: {e}");
            }
        }
    }
}
