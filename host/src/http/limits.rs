//! What keeps the open internet from stalling the server: a cap on concurrent connections
//! and a smaller one per source address (excess connections are closed at once, so one client
//! cannot take every slot), a deadline for a request's headers (also the idle
//! time a kept-alive connection may wait for its next request), a deadline for its body, a
//! back-off when accepting fails (the open-file limit reached), and log lines about all of this
//! at most once a minute. At start the process raises its open-file limit as far as the system
//! allows.

use crate::throttle::Throttle;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits `serve` applies (`clienthub serve --max-connections … --header-timeout …`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once; more are closed as they arrive.
    pub max_connections: usize,
    /// Connections served at once from one address (an IPv6 /64); a trusted proxy's are not
    /// counted against it.
    pub max_per_address: usize,
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
            max_per_address: 256,
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
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
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
            by_address: Arc::default(),
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

    /// A slot for a new connection from `peer`, held while it lives; `None` when every slot is
    /// taken, or `peer`'s share (unless `shared`: a trusted proxy speaking for many) — the
    /// connection is then closed, and counted.
    pub fn admit(&self, peer: IpAddr, shared: bool) -> Option<Slot> {
        let permit = self.slots.clone().try_acquire_owned().ok();
        let address = (!shared).then(|| by_network(peer));
        let own = match (&permit, address) {
            (Some(_), Some(address)) => {
                let mut counts = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
                let count = counts.entry(address).or_default();
                (*count < self.limits.max_per_address).then(|| *count += 1).is_some()
            }
            _ => true,
        };
        if permit.is_none() || !own {
            let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
            if self.refused_log.allows() {
                tracing::warn!(
                    max = self.limits.max_connections,
                    per_address = self.limits.max_per_address,
                    %peer,
                    refused,
                    "connection cap reached: new connections are closed until some end"
                );
            }
            return None;
        }
        Some(Slot { _permit: permit?, address, by_address: self.by_address.clone() })
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
            "max_connections_per_address": self.limits.max_per_address,
            "addresses": self.by_address.lock().unwrap_or_else(|e| e.into_inner()).len(),
            "connections": open,
            "connections_refused": self.refused.load(Ordering::Relaxed),
            "accept_errors": self.accept_errors.load(Ordering::Relaxed),
            "header_timeout_ms": self.limits.header_timeout.as_millis() as u64,
            "body_timeout_ms": self.limits.body_timeout.as_millis() as u64,
            "open_files_limit": open_files,
        })
    }
}

/// A connection's slot: the global one and its address's, given back when it ends.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    address: Option<IpAddr>,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(address) = self.address else { return };
        let mut counts = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&address);
            }
        }
    }
}

/// The address a client counts under (its connections here, its failures in the lock-out):
/// IPv4 as is (an IPv4-mapped IPv6 address too), IPv6 by its /64 (one subscriber's network).
pub(super) fn by_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
        v4 => v4,
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
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let (a, b) = (gate.admit(peer, false), gate.admit(peer, false));
        assert!(a.is_some() && b.is_some());
        assert!(gate.admit(peer, false).is_none());
        assert_eq!(gate.status(None)["connections_refused"], 1);
        drop(a);
        assert!(gate.admit(peer, false).is_some(), "a slot frees when a connection ends");
    }

    #[test]
    fn one_address_takes_its_share_and_others_still_get_in() {
        let gate =
            Gate::new(ConnectionLimits { max_connections: 10, max_per_address: 3, ..Default::default() });
        let greedy: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| gate.admit(greedy, false).unwrap()).collect();
        assert!(gate.admit(neighbour, false).is_none(), "one /64 is one address");
        assert!(gate.admit("192.0.2.7".parse().unwrap(), false).is_some());
        assert!(gate.admit(greedy, true).is_some(), "a trusted proxy is not held to one address's share");
        drop(held);
        let back = gate.admit(greedy, false);
        assert!(back.is_some(), "its slots free when its connections end");
        assert_eq!(gate.status(None)["addresses"], 1);
    }
}
