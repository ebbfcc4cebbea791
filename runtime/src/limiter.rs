//! The memory cap of one plugin instance: a `ResourceLimiter` that refuses growth past the cap
//! with a trap and remembers that it did, so an out-of-memory is told from other traps by what
//! happened, never by an error message's wording.

use wasmtime::ResourceLimiter;

/// Caps an instance's linear memory; [`MemoryCap::refused`] says whether it had to.
pub struct MemoryCap {
    cap: usize,
    refused: bool,
}

impl MemoryCap {
    /// A cap of `bytes`.
    pub fn new(bytes: usize) -> Self {
        Self { cap: bytes, refused: false }
    }

    /// Whether a growth was refused since the last [`MemoryCap::reset`].
    pub fn refused(&self) -> bool {
        self.refused
    }

    /// Forgets earlier refusals (a new call starts).
    pub fn reset(&mut self) {
        self.refused = false;
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap || maximum.is_some_and(|max| desired > max) {
            self.refused = true;
            wasmtime::bail!("the plugin asked for {desired} bytes of memory; its cap is {} bytes", self.cap);
        }
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.refused = true;
        Err(error.context("the host could not give the plugin more memory"))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|max| desired <= max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_past_the_cap_is_refused_and_remembered() {
        let mut cap = MemoryCap::new(1 << 20);
        assert!(cap.memory_growing(0, 1 << 19, None).unwrap());
        assert!(!cap.refused());
        assert!(cap.memory_growing(1 << 19, 2 << 20, None).is_err());
        assert!(cap.refused());
        cap.reset();
        assert!(!cap.refused());
        assert!(cap.memory_growing(0, 1 << 19, Some(1 << 18)).is_err());
        assert!(cap.refused());
    }
}
