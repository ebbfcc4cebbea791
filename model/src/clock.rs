//! The host's time, injected: every instant the host records or compares (appeal history, SLA
//! clocks, activation logs, the plugins' `clock` import) comes from the [`Clock`] the host was
//! started with. [`SystemClock`] is the real time; [`TestClock`] is the real time plus an offset
//! that an admin may advance (`POST /api/clock/advance` on a host started with
//! `--clock-control`), so tests and demos watch SLA deadlines pass without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where the host's time comes from.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch, now.
    fn now_ms(&self) -> u64;
}

/// A clock shared by everything that records time.
pub type SharedClock = Arc<dyn Clock>;

/// The system's time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The system's time plus an offset that only moves forward.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_ms: AtomicU64,
}

impl TestClock {
    /// Moves the clock forward by `ms` (at most to the end of `u64` time: it never wraps
    /// back); the new offset from the system's time.
    pub fn advance(&self, ms: u64) -> u64 {
        let moved = |offset: u64| Some(offset.saturating_add(ms));
        let before =
            self.offset_ms.fetch_update(Ordering::Relaxed, Ordering::Relaxed, moved).unwrap_or_default();
        before.saturating_add(ms)
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_moves_only_when_advanced() {
        let clock = TestClock::default();
        let before = clock.now_ms();
        assert_eq!(clock.advance(60_000), 60_000);
        assert_eq!(clock.advance(1), 60_001);
        assert!(clock.now_ms() >= before + 60_001);
        assert!(clock.now_ms() < SystemClock.now_ms() + 60_001 + 1_000);
        // However far it is pushed, it does not wrap back into the past.
        let before = clock.now_ms();
        assert_eq!(clock.advance(u64::MAX), u64::MAX);
        assert!(clock.now_ms() >= before);
    }
}
