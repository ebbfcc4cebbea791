//! The process's heap: how many malloc arenas it may use, handing memory freed after a burst
//! back to the system, and what the heap holds (for `/metrics`).
//!
//! glibc's malloc gives each busy thread an arena of its own, up to eight per core, and
//! returns little of what is freed inside them: after a burst of webhooks (the runtime's
//! blocking threads reach dozens) the host held ~590 MiB at 1 M appeals, of which ~190 MiB
//! was free memory in those arenas (measured 2026-12-03 with `malloc_trim` called from a
//! debugger). Two arenas per core, and a trim every [`TRIM_PERIOD`], keep what the host holds
//! at rest to what it uses. Blocks of [`MMAP_THRESHOLD`] and more go straight to and from the
//! system: glibc would otherwise raise that threshold after the first such block is freed and
//! keep the next ones in its arenas (each password check's 19 MiB of Argon2 memory grew the
//! host by ~13 MiB until the next trim: 431 MiB at the peak of 200 parallel sign-ins, measured
//! 2026-12-07). Elsewhere (another C library, another system) all of it is a no-op.

use std::time::Duration;

/// How often freed heap memory is handed back to the system.
pub const TRIM_PERIOD: Duration = Duration::from_secs(10);

/// The size from which malloc maps blocks of their own, returned to the system when freed.
pub const MMAP_THRESHOLD: usize = 4 << 20;

/// Bounds malloc's arenas to two per core and fixes its mmap threshold at
/// [`MMAP_THRESHOLD`]. Call first thing, before threads allocate.
pub fn bound_arenas() {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    glibc::tune(
        i32::try_from(cores * 2).unwrap_or(i32::MAX),
        i32::try_from(MMAP_THRESHOLD).unwrap_or(i32::MAX),
    );
}

/// Hands freed heap memory back to the system every [`TRIM_PERIOD`], on a thread of its own.
pub fn trim_periodically() {
    let spawned = std::thread::Builder::new().name("clienthub-trim".into()).spawn(|| {
        loop {
            std::thread::sleep(TRIM_PERIOD);
            let started = std::time::Instant::now();
            let released = glibc::trim();
            tracing::trace!(released, took = ?started.elapsed(), "heap trimmed");
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("the heap trimmer could not start: {e}");
    }
}

/// Bytes malloc has handed out and not had back, and the bytes of its free chunks (pages of
/// which a trim may already have handed back to the system); `None` where that cannot be asked.
pub fn heap() -> Option<(u64, u64)> {
    glibc::heap()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "four glibc calls that take and return plain values")]
mod glibc {
    /// `mallopt(M_ARENA_MAX, arenas)` and `mallopt(M_MMAP_THRESHOLD, bytes)` (a fixed
    /// threshold also stops glibc from moving it); it fails only for an unknown option.
    pub fn tune(arenas: i32, mmap_threshold: i32) {
        // SAFETY: mallopt takes two integers and changes only malloc's own tuning; it is
        // thread-safe and may be called at any time.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            libc::mallopt(libc::M_MMAP_THRESHOLD, mmap_threshold);
        }
    }

    /// `malloc_trim(0)`: whether memory was released.
    pub fn trim() -> bool {
        // SAFETY: malloc_trim locks each arena while it releases its free pages; it takes an
        // integer and touches no memory the caller owns.
        unsafe { libc::malloc_trim(0) == 1 }
    }

    /// `mallinfo2()`: (in use, free), over all arenas.
    pub fn heap() -> Option<(u64, u64)> {
        // SAFETY: mallinfo2 locks each arena while it sums its chunks, and returns a struct of
        // plain integers by value.
        let info = unsafe { libc::mallinfo2() };
        let bytes = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Some((bytes(info.uordblks) + bytes(info.hblkhd), bytes(info.fordblks)))
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod glibc {
    pub fn tune(_: i32, _: i32) {}

    pub fn trim() -> bool {
        false
    }

    pub fn heap() -> Option<(u64, u64)> {
        None
    }
}
