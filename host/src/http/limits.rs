//! What keeps the open internet from stalling the server: a cap on concurrent connections
//! (excess connections are closed at once), a deadline for a request's headers (also the idle
//! time a kept-alive connection may wait for its next request), a deadline for its body, a
//! back-off when accepting fails (the open-file limit reached), and log lines about all of this
//! at most once a minute. At start the process raises its open-file limit as far as the system
//! allows.

use crate::throttle::Throttle;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits `serve` applies (`clienthub serve --max-connections … --header-timeout …`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once; more are closed as they arrive.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and how long a kept-alive
    /// connection may sit idle.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// How long accepting rests after it failed (the open-file limit, say) before it tries again.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The connection slots and the counts `/healthz` shows.
pub struct Gate {
    slots: Arc<Semaphore>,
    limits: ConnectionLimits,
    refused: AtomicU64,
    accept_errors: AtomicU64,
    refused_log: Throttle,
    accept_log: Throttle,
}

impl Gate {
    /// A gate for `limits`.
    pub fn new(limits: ConnectionLimits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
            refused: AtomicU64::default(),
            accept_errors: AtomicU64::default(),
            refused_log: Throttle::per(Duration::from_secs(60)),
            accept_log: Throttle::per(Duration::from_secs(60)),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// A slot for a new connection, held while it lives; `None` when every slot is taken (the
    /// connection is then closed, and counted).
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.slots.clone().try_acquire_owned().ok();
        if permit.is_none() {
            let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
            if self.refused_log.allows() {
                tracing::warn!(
                    max = self.limits.max_connections,
                    refused,
                    "connection cap reached: new connections are closed until some end"
                );
            }
        }
        permit
    }

    /// An accept that failed: counted, logged at most once a minute.
    pub fn accept_failed(&self, error: &std::io::Error) {
        let failures = self.accept_errors.fetch_add(1, Ordering::Relaxed) + 1;
        if self.accept_log.allows() {
            tracing::warn!(failures, "accepting a connection failed, resting {ACCEPT_BACKOFF:?}: {error}");
        }
    }

    /// What `/healthz` reports: the limits, the connections open now, and the counts.
    pub fn status(&self, open_files: Option<u64>) -> serde_json::Value {
        let open = self.limits.max_connections - self.slots.available_permits();
        serde_json::json!({
            "max_connections": self.limits.max_connections,
            "connections": open,
            "connections_refused": self.refused.load(Ordering::Relaxed),
            "accept_errors": self.accept_errors.load(Ordering::Relaxed),
            "header_timeout_ms": self.limits.header_timeout.as_millis() as u64,
            "body_timeout_ms": self.limits.body_timeout.as_millis() as u64,
            "open_files_limit": open_files,
        })
    }
}

/// Raises the soft open-file limit to the hard one; the limit now in force, if it can be read.
pub fn raise_open_files() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!("could not read or raise the open-file limit: {e}");
            rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_closes_past_the_cap_and_counts() {
        let gate = Gate::new(ConnectionLimits { max_connections: 2, ..Default::default() });
        let (a, b) = (gate.admit(), gate.admit());
        assert!(a.is_some() && b.is_some());
        assert!(gate.admit().is_none());
        assert_eq!(gate.status(None)["connections_refused"], 1);
        drop(a);
        assert!(gate.admit().is_some(), "a slot frees when a connection ends");
    }
}
