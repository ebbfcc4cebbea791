//! The pipeline snapshot: which plugin version serves each stage right now. The registry builds
//! a new [`Pipeline`] on every activation and swaps it in with one `Arc` store; the intake path
//! ([`crate::pipeline`]) reads one snapshot per request, so in-flight appeals finish on the
//! versions they started with.

use crate::registry::health::Health;
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

/// A candidate running in shadow beside the active version of the same name.
pub struct Shadow {
    /// The plugin name (its active version is what it is compared with).
    pub name: String,
    /// Whether it is a router (else a filter).
    pub router: bool,
    /// The loaded candidate version.
    pub stage: Arc<Stage>,
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
    pub shadows: Vec<Arc<Shadow>>,
    /// Where plugin calls are reported, for automatic rollback.
    pub health: Arc<Health>,
}

impl Pipeline {
    /// Whether `/hooks/{channel}` has an active adapter.
    pub fn has_channel(&self, channel: &str) -> bool {
        self.channels.contains_key(channel)
    }
}
