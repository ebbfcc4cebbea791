//! Test fixture: the same probe as `kv-probe-a` under another name; it only reads.

/// The probe itself, shared with `kv-probe-a`.
#[path = "../../kv-probe-a/src/probe.rs"]
pub mod probe;
