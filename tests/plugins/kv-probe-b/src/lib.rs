//! Test fixture: the same probe as `kv-probe-a` under another name; it only reads.

#[path = "../../kv-probe-a/src/probe.rs"]
mod probe;
