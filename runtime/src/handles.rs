//! Typed handles of loaded plugins: the [`World`] a component implements, a marker type per
//! world ([`Kind`]), and [`Plugin<K>`], so a call a world does not export cannot be written.
//! Behind each handle, a loaded plugin: its `InstancePre`, grants and warm instances.

use super::bindings::{
    self, channel::ChannelPre, extended::ExtendedChannelPre, filter::FilterPre, router::RouterPre,
};
use super::imports::{CallState, Grants};
use super::wit;
use bindings::rich::exports::clienthub::plugin::{crm_sync, file_sender, media_fetcher, survey_renderer};
use std::sync::{Arc, Mutex};
use wasmtime::Store;

/// The world a component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum World {
    /// `channel`: exports `channel-adapter`.
    Channel,
    /// `filter`: exports `appeal-filter`.
    Filter,
    /// `router`: exports `appeal-router`.
    Router,
}

impl World {
    /// The interface the world exports, without package or version.
    pub fn export_interface(self) -> &'static str {
        match self {
            World::Channel => "channel-adapter",
            World::Filter => "appeal-filter",
            World::Router => "appeal-router",
        }
    }

    /// The world of an exported interface name.
    pub fn from_interface(name: &str) -> Option<Self> {
        [World::Channel, World::Filter, World::Router].into_iter().find(|w| w.export_interface() == name)
    }

    /// The WIT kind with the same meaning.
    pub fn of_kind(kind: wit::PluginKind) -> Self {
        match kind {
            wit::PluginKind::Channel => World::Channel,
            wit::PluginKind::Filter => World::Filter,
            wit::PluginKind::Router => World::Router,
        }
    }
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            World::Channel => "channel",
            World::Filter => "filter",
            World::Router => "router",
        })
    }
}

/// A compiled plugin version ready to instantiate, with what it is granted, and its warm
/// instances. Reached through a typed [`Plugin`] handle.
pub(super) struct LoadedPlugin {
    pub(super) pre: Pre,
    pub(super) grants: Grants,
    pub(super) warm: Mutex<Vec<Warm>>,
}

/// An instantiated plugin with its `Store`, ready for the next call.
pub(super) struct Warm {
    pub(super) store: Store<CallState>,
    pub(super) instance: Instance,
}

pub(super) enum Instance {
    Channel(bindings::channel::Channel),
    /// With the 0.1.2 and 0.1.3 exports the component has.
    Extended(bindings::extended::ExtendedChannel, Box<Rich>),
    Filter(bindings::filter::Filter),
    Router(bindings::router::Router),
}

/// Where the WIT 0.1.2 and 0.1.3 exports of an `extended-channel` component are, when it has them.
pub(super) struct RichPre {
    pub(super) media: Option<media_fetcher::GuestIndices>,
    pub(super) survey: Option<survey_renderer::GuestIndices>,
    pub(super) files: Option<file_sender::GuestIndices>,
    pub(super) sync: Option<crm_sync::GuestIndices>,
}

impl RichPre {
    pub(super) fn new<T>(pre: &wasmtime::component::InstancePre<T>) -> Self {
        Self {
            media: media_fetcher::GuestIndices::new(pre).ok(),
            survey: survey_renderer::GuestIndices::new(pre).ok(),
            files: file_sender::GuestIndices::new(pre).ok(),
            sync: crm_sync::GuestIndices::new(pre).ok(),
        }
    }

    pub(super) fn load(
        &self,
        store: &mut Store<CallState>,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Rich> {
        Ok(Rich {
            media: self.media.as_ref().map(|m| m.load(&mut *store, instance)).transpose()?,
            survey: self.survey.as_ref().map(|s| s.load(&mut *store, instance)).transpose()?,
            files: self.files.as_ref().map(|f| f.load(&mut *store, instance)).transpose()?,
            sync: self.sync.as_ref().map(|s| s.load(&mut *store, instance)).transpose()?,
        })
    }
}

/// The WIT 0.1.2 and 0.1.3 exports of an instance: fetching files, asking customers, sending
/// files, keeping CRM records in step.
pub(super) struct Rich {
    pub(super) media: Option<media_fetcher::Guest>,
    pub(super) survey: Option<survey_renderer::Guest>,
    pub(super) files: Option<file_sender::Guest>,
    pub(super) sync: Option<crm_sync::Guest>,
}

/// Idle instances kept per loaded plugin.
pub(super) const MAX_WARM: usize = 16;

pub(super) enum Pre {
    Channel(ChannelPre<CallState>),
    Extended(ExtendedChannelPre<CallState>, RichPre),
    Filter(FilterPre<CallState>),
    Router(RouterPre<CallState>),
}

/// The world a [`Plugin`] handle's component implements, as a type: a call the world does not
/// export cannot be written.
pub trait Kind: Send + Sync + 'static {}

/// The `channel` world (and `extended-channel`: replies, CRM connectors).
#[derive(Debug)]
pub enum ChannelWorld {}
/// The `filter` world.
#[derive(Debug)]
pub enum FilterWorld {}
/// The `router` world.
#[derive(Debug)]
pub enum RouterWorld {}

impl Kind for ChannelWorld {}
impl Kind for FilterWorld {}
impl Kind for RouterWorld {}

/// A loaded plugin of world `K` (a cheap handle: clones share the instances).
pub struct Plugin<K: Kind> {
    pub(super) loaded: Arc<LoadedPlugin>,
    pub(super) kind: std::marker::PhantomData<K>,
}

impl<K: Kind> Clone for Plugin<K> {
    fn clone(&self) -> Self {
        Self { loaded: self.loaded.clone(), kind: std::marker::PhantomData }
    }
}

impl<K: Kind> Plugin<K> {
    pub(super) fn new(loaded: LoadedPlugin) -> Self {
        Self { loaded: Arc::new(loaded), kind: std::marker::PhantomData }
    }

    /// What the plugin is allowed (its label and outbound hosts among them).
    pub fn grants(&self) -> &super::imports::Grants {
        &self.loaded.grants
    }
}

/// A loaded plugin of whichever world its component implements.
pub enum AnyPlugin {
    /// A channel adapter.
    Channel(Plugin<ChannelWorld>),
    /// A filter.
    Filter(Plugin<FilterWorld>),
    /// A router.
    Router(Plugin<RouterWorld>),
}

/// What a handle holds when its world's call finds another instance: the handle's type makes
/// it impossible, so reaching it is a host bug, reported as the call's failure.
pub(super) fn wrong_world<T>(want: World) -> wasmtime::Result<T> {
    Err(wasmtime::Error::msg(format!("host bug: a {want} handle holds another world's instance")))
}
