//! The host's clock: the system time plus an offset that only a host started with
//! `--clock-control` lets an admin advance (`POST /api/clock/advance`), so tests and demos can
//! watch SLA deadlines pass and escalations happen without waiting. Every time the host
//! records or compares (appeal history, SLA clocks, the plugins' `clock` import) comes from here.

use std::sync::atomic::{AtomicU64, Ordering};

static OFFSET_MS: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the Unix epoch, now (plus any advance).
pub fn now_ms() -> u64 {
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    system + OFFSET_MS.load(Ordering::Relaxed)
}

/// Moves the clock forward by `ms`; the new offset from the system time.
pub fn advance(ms: u64) -> u64 {
    OFFSET_MS.fetch_add(ms, Ordering::Relaxed) + ms
}
