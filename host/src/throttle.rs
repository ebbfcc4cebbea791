//! At most once per period: what keeps a flood of refused requests or connections from
//! flooding the log too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lets something happen at most once per period.
pub struct Throttle {
    period: Duration,
    started: Instant,
    /// Milliseconds after `started` when it last happened (`u64::MAX`: never).
    last: AtomicU64,
}

impl Throttle {
    /// At most once per `period`.
    pub fn per(period: Duration) -> Self {
        Self { period, started: Instant::now(), last: AtomicU64::new(u64::MAX) }
    }

    /// Whether it may happen now (and, if so, it counts as having happened).
    pub fn allows(&self) -> bool {
        let now = self.started.elapsed().as_millis() as u64;
        let period = self.period.as_millis() as u64;
        self.last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                (last == u64::MAX || now.saturating_sub(last) >= period).then_some(now)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_period() {
        let throttle = Throttle::per(Duration::from_secs(60));
        assert!(throttle.allows());
        assert!(!throttle.allows());
        assert!(!throttle.allows());
    }
}
