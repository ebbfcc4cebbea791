//! The pipeline snapshot: which plugin version serves each stage right now. The registry builds
//! a new [`Pipeline`] on every activation and swaps it in with one `Arc` store; the intake path
//! ([`crate::pipeline`]) reads one snapshot per request, so in-flight appeals finish on the
//! versions they started with.

use crate::registry::health::Health;
use crate::registry::verification::Verification;
use crate::runtime::{ChannelWorld, FilterWorld, Kind, Plugin, RouterWorld};
use std::collections::HashMap;
use std::sync::Arc;

/// One active plugin version of world `K` in the pipeline.
pub struct Stage<K: Kind> {
    /// `name@version`, recorded in every history event the stage produces.
    pub label: String,
    /// The loaded plugin.
    pub plugin: Plugin<K>,
}

/// A version of a router or filter tried beside the active one (shadow, replay).
pub enum Candidate {
    /// A router version.
    Router(Stage<RouterWorld>),
    /// A filter version.
    Filter(Stage<FilterWorld>),
}

impl Candidate {
    /// `name@version`.
    pub fn label(&self) -> &str {
        match self {
            Candidate::Router(stage) => &stage.label,
            Candidate::Filter(stage) => &stage.label,
        }
    }

    /// Whether it is a router (else a filter).
    pub fn is_router(&self) -> bool {
        matches!(self, Candidate::Router(_))
    }
}

/// A candidate running in shadow beside the active version of the same name.
pub struct Shadow {
    /// The plugin name (its active version is what it is compared with).
    pub name: String,
    /// The loaded candidate version.
    pub candidate: Candidate,
}

/// A snapshot of the active plugins. Immutable: activation builds a new one.
#[derive(Default)]
pub struct Pipeline {
    /// Channel adapters by channel name (`/hooks/{name}`).
    pub channels: HashMap<String, Arc<Stage<ChannelWorld>>>,
    /// The filter chain, in order.
    pub filters: Vec<Arc<Stage<FilterWorld>>>,
    /// The router, if one is active.
    pub router: Option<Arc<Stage<RouterWorld>>>,
    /// The CRM connector (an active channel whose adapter names a CRM), if any: routed
    /// appeals are delivered to it and its webhooks carry the CRM's replies and statuses.
    pub crm: Option<Arc<Stage<ChannelWorld>>>,
    /// Whether each channel's deliveries reach its adapter (by channel name).
    pub verification: HashMap<String, Verification>,
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
