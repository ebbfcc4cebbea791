//! The stages an appeal goes through, over one immutable snapshot of the active plugins.
//!
//! [`Pipeline`] is what the registry swaps atomically; [`Pipeline::ingest`] takes a raw
//! webhook request (already stored) through the channel adapter, the normaliser, the filter
//! chain and the router, and writes the appeals. The caller commits (flushes) before it
//! answers the platform. Nothing here knows HTTP types other than the WIT request record.
//! In a cluster, [`Pipeline::adapt`] runs where the webhook arrived and [`Pipeline::process`]
//! wherever [`queue`] hands the intake.

pub(crate) mod convert;
mod ingest;
mod normalize;
pub mod queue;

pub use ingest::{Adapted, Intake, Reply};

use crate::runtime::LoadedPlugin;
use std::collections::HashMap;
use std::sync::Arc;

/// One active plugin version in the pipeline.
pub struct Stage {
    /// `name@version`, recorded in every history event the stage produces.
    pub label: String,
    /// The loaded plugin.
    pub plugin: LoadedPlugin,
}

/// A snapshot of the active plugins. Immutable: activation builds a new one.
#[derive(Default)]
pub struct Pipeline {
    /// Channel adapters by channel name (`/hooks/{name}`).
    pub channels: HashMap<String, Arc<Stage>>,
    /// The filter chain, in order.
    pub filters: Vec<Arc<Stage>>,
    /// The router, if one is active.
    pub router: Option<Arc<Stage>>,
    /// The CRM connector (an active channel whose adapter names a CRM), if any: routed
    /// appeals are delivered to it and its webhooks carry the CRM's replies and statuses.
    pub crm: Option<Arc<Stage>>,
    /// Candidate versions running in shadow.
    pub shadows: Vec<Arc<crate::rollout::shadow::Shadow>>,
    /// Where plugin calls are reported, for automatic rollback.
    pub health: Arc<crate::rollout::health::Health>,
}

impl Pipeline {
    /// Whether `/hooks/{channel}` has an active adapter.
    pub fn has_channel(&self, channel: &str) -> bool {
        self.channels.contains_key(channel)
    }
}
