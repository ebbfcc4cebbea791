//! The stages an appeal goes through, over one immutable snapshot of the active plugins.
//!
//! [`Pipeline`](crate::registry::Pipeline) is the snapshot the registry swaps atomically; [`Pipeline::ingest`](crate::registry::Pipeline::ingest) takes a raw
//! webhook request (already stored) through the channel adapter, the normaliser, the filter
//! chain and the router, and writes the appeals. The caller commits (flushes) before it
//! answers the platform. Nothing here knows HTTP types other than the WIT request record.
//! In a cluster, [`Pipeline::adapt`](crate::registry::Pipeline::adapt) runs where the webhook arrived and [`Pipeline::process`](crate::registry::Pipeline::process)
//! wherever the [`intake`] sink hands it.

mod adapt;
mod decide;
mod ingest;
pub mod intake;
mod redact;
mod reprocess;

pub use adapt::{Adapted, Intake, PlatformAnswer};
