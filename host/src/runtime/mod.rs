//! The WebAssembly runtime: one wasmtime `Engine` with the pooling allocator and epoch
//! interruption, components compiled once per version and cached precompiled on disk, an
//! `InstancePre` per loaded plugin, and warm instances: each call takes one (or instantiates a
//! new `Store` with a memory cap and captured stderr), sets a fresh deadline, and returns it
//! unless the call trapped or wrote to stderr. The benchmark's figures chose this over a fresh
//! `Store` per call (README, "Benchmark").
//!
//! Start with [`Runtime::new`], [`Runtime::load`] and the calls on a typed [`Plugin`] handle. A trap,
//! timeout, out-of-memory or malformed result is a [`CallError`] for that call only.

mod bindings;
mod cache;
pub(crate) mod convert;
mod imports;
mod limiter;
pub mod outbound;
mod output;
mod send;

pub use bindings::types as wit;
pub use imports::Grants;
pub use send::SendError;

use anyhow::Result;
use bindings::{channel::ChannelPre, extended::ExtendedChannelPre, filter::FilterPre, router::RouterPre};
use imports::CallState;
use output::Output;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, UpdateDeadline,
};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// Limits applied to every plugin call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock budget of one call.
    pub deadline: Duration,
    /// Largest linear memory of one instance.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { deadline: Duration::from_millis(500), memory_bytes: 64 << 20 }
    }
}

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const TICK: Duration = Duration::from_millis(5);
/// How much of a plugin's stderr is kept for the error message.
const STDERR_CAPTURE: usize = 16 << 10;

/// Why a plugin call failed. The call alone fails; the host carries on.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call ran past its deadline and was interrupted.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The plugin tried to grow its memory past the cap.
    #[error("out of memory (cap {0} bytes)")]
    OutOfMemory(usize),
    /// The plugin trapped (a panic, `unreachable`, a bad memory access, …).
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin returned its own error (`err(...)` of the WIT function).
    #[error("{0}")]
    Plugin(String),
    /// The plugin returned more than its kind of result may hold (bytes, cap).
    #[error("returned {0} bytes, over the cap of {1}")]
    Oversized(usize, usize),
}

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

/// Counters for diagnostics and the restart test.
#[derive(Debug, Default)]
pub struct RuntimeStats {
    /// Components compiled by Cranelift since start.
    pub compiled: AtomicU64,
    /// Components loaded from the precompiled cache since start.
    pub from_cache: AtomicU64,
}

/// The engine, the linker with every host import, and the precompiled cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    limits: Limits,
    outbound: Arc<crate::runtime::outbound::Transport>,
    clock: crate::clock::SharedClock,
    cache: cache::Cache,
    /// Components compiled or loaded in this process, by sha256.
    loaded: Mutex<std::collections::HashMap<String, Component>>,
    /// Compile and cache counters.
    pub stats: RuntimeStats,
}

/// A compiled plugin version ready to instantiate, with what it is granted, and its warm
/// instances. Reached through a typed [`Plugin`] handle.
struct LoadedPlugin {
    pre: Pre,
    grants: Grants,
    warm: Mutex<Vec<Warm>>,
}

/// An instantiated plugin with its `Store`, ready for the next call.
struct Warm {
    store: Store<CallState>,
    instance: Instance,
}

enum Instance {
    Channel(bindings::channel::Channel),
    Extended(bindings::extended::ExtendedChannel),
    Filter(bindings::filter::Filter),
    Router(bindings::router::Router),
}

/// Idle instances kept per loaded plugin.
const MAX_WARM: usize = 16;

enum Pre {
    Channel(ChannelPre<CallState>),
    Extended(ExtendedChannelPre<CallState>),
    Filter(FilterPre<CallState>),
    Router(RouterPre<CallState>),
}

/// The world a [`Plugin`] handle's component implements, as a type: a call the world does not
/// export cannot be written.
pub trait Kind: Send + Sync + 'static {
    /// The world.
    const WORLD: World;
}

/// The `channel` world (and `extended-channel`: replies, CRM connectors).
#[derive(Debug)]
pub enum ChannelWorld {}
/// The `filter` world.
#[derive(Debug)]
pub enum FilterWorld {}
/// The `router` world.
#[derive(Debug)]
pub enum RouterWorld {}

impl Kind for ChannelWorld {
    const WORLD: World = World::Channel;
}
impl Kind for FilterWorld {
    const WORLD: World = World::Filter;
}
impl Kind for RouterWorld {
    const WORLD: World = World::Router;
}

/// A loaded plugin of world `K` (a cheap handle: clones share the instances).
pub struct Plugin<K: Kind> {
    loaded: Arc<LoadedPlugin>,
    kind: std::marker::PhantomData<K>,
}

impl<K: Kind> Clone for Plugin<K> {
    fn clone(&self) -> Self {
        Self { loaded: self.loaded.clone(), kind: std::marker::PhantomData }
    }
}

impl<K: Kind> Plugin<K> {
    fn new(loaded: LoadedPlugin) -> Self {
        Self { loaded: Arc::new(loaded), kind: std::marker::PhantomData }
    }

    /// The target of `url` when the plugin may have the host call it (see
    /// [`crate::runtime::outbound::check`]).
    ///
    /// # Errors
    /// The refusal, naming the host and the plugin's outbound hosts.
    pub fn check_url(&self, url: &str) -> Result<crate::runtime::outbound::Target, String> {
        crate::runtime::outbound::check(url, &self.loaded.grants.label, &self.loaded.grants.outbound_hosts)
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
fn wrong_world<T>(want: World) -> wasmtime::Result<T> {
    Err(wasmtime::Error::msg(format!("host bug: a {want} handle holds another world's instance")))
}

impl Runtime {
    /// Builds the engine and starts the epoch ticker; compiled artifacts are cached under
    /// `cache_dir`; plugins that import `clock` read `clock`.
    ///
    /// # Errors
    /// When the engine cannot be configured (the pooling allocator cannot reserve memory).
    pub fn new(cache_dir: &Path, limits: Limits, clock: crate::clock::SharedClock) -> Result<Arc<Self>> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(512)
            .total_core_instances(4096)
            .total_memories(512)
            .total_tables(4096)
            .max_memories_per_component(4)
            .max_tables_per_component(32)
            .max_core_instances_per_component(64)
            .max_memory_size(limits.memory_bytes);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)
            .map_err(|e| anyhow::Error::from(e).context("configuring the wasmtime engine"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| anyhow::Error::from(e).context("linking WASI"))?;
        bindings::router::Router::add_to_linker::<_, wasmtime::component::HasSelf<CallState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| anyhow::Error::from(e).context("linking the host imports"))?;
        let ticker = engine.weak();
        std::thread::Builder::new().name("clienthub-epoch".into()).spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })?;
        let cache = cache::Cache::new(cache_dir, &engine)?;
        let outbound = Arc::new(crate::runtime::outbound::Transport::new()?);
        Ok(Arc::new(Self {
            engine,
            linker,
            limits,
            outbound,
            clock,
            cache,
            loaded: Mutex::default(),
            stats: RuntimeStats::default(),
        }))
    }

    /// The HTTP(S) client of the calls the host makes for plugins.
    pub fn outbound(&self) -> &Arc<crate::runtime::outbound::Transport> {
        &self.outbound
    }

    /// The engine (shared by everything that compiles or runs plugins).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A component compiled (or loaded) earlier in this process, by its sha256.
    pub fn compiled(&self, sha256: &str) -> Option<Component> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).get(sha256).cloned()
    }

    /// Compiles a component once per process: from memory when compiled before, else loaded
    /// precompiled from the disk cache by its sha256, else compiled (and cached on disk).
    ///
    /// # Errors
    /// When the bytes are not a valid component.
    pub fn compile(&self, sha256: &str, bytes: &[u8]) -> Result<Component> {
        if let Some(component) = self.compiled(sha256) {
            return Ok(component);
        }
        let component = match self.cache.load(&self.engine, sha256) {
            Some(component) => {
                self.stats.from_cache.fetch_add(1, Ordering::Relaxed);
                component
            }
            None => {
                let component = Component::new(&self.engine, bytes)?;
                self.stats.compiled.fetch_add(1, Ordering::Relaxed);
                self.cache.store(sha256, &component);
                component
            }
        };
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).insert(sha256.to_string(), component.clone());
        Ok(component)
    }

    /// Links a compiled component as `world` with its grants: the `InstancePre` every call
    /// starts from.
    ///
    /// # Errors
    /// When the component's imports or exports do not fit the world.
    pub fn load(&self, component: &Component, world: World, grants: Grants) -> Result<AnyPlugin> {
        let pre = self.linker.instantiate_pre(component)?;
        let loaded = |pre| LoadedPlugin { pre, grants, warm: Mutex::new(Vec::new()) };
        Ok(match world {
            // A channel with the 0.1.1 exports can send replies and may be a CRM connector.
            World::Channel => {
                AnyPlugin::Channel(Plugin::new(loaded(match ExtendedChannelPre::new(pre.clone()) {
                    Ok(extended) => Pre::Extended(extended),
                    Err(_) => Pre::Channel(ChannelPre::new(pre)?),
                })))
            }
            World::Filter => AnyPlugin::Filter(Plugin::new(loaded(Pre::Filter(FilterPre::new(pre)?)))),
            World::Router => AnyPlugin::Router(Plugin::new(loaded(Pre::Router(RouterPre::new(pre)?)))),
        })
    }

    fn store(&self, plugin: &LoadedPlugin, directory: Arc<crate::directory::Directory>) -> Store<CallState> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).build();
        let state = CallState {
            grants: plugin.grants.clone(),
            directory,
            memory: limiter::MemoryCap::new(self.limits.memory_bytes),
            wasi,
            table: ResourceTable::new(),
            stderr,
            outbound: self.outbound.clone(),
            clock: self.clock.clone(),
            waited_ticks: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(self.deadline_ticks());
        // At the deadline, time the plugin spent waiting for the host's outbound calls is
        // given back; otherwise the call is interrupted.
        store.epoch_deadline_callback(|mut store| match std::mem::take(&mut store.data_mut().waited_ticks) {
            0 => Err(Trap::Interrupt.into()),
            waited => Ok(UpdateDeadline::Continue(waited)),
        });
        store
    }

    /// Turns a wasmtime error into a [`CallError`], with the plugin's stderr (its panic
    /// message) appended.
    fn classify(&self, error: wasmtime::Error, store: &Store<CallState>) -> CallError {
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return CallError::Timeout(self.limits.deadline);
        }
        if store.data().memory.refused() {
            return CallError::OutOfMemory(self.limits.memory_bytes);
        }
        let stderr = store.data().stderr.contents();
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr.trim();
        let trap =
            error.downcast_ref::<Trap>().map(|t| t.to_string()).unwrap_or_else(|| format!("{error:#}"));
        CallError::Trap(if stderr.is_empty() { trap } else { format!("{trap}; plugin stderr: {stderr}") })
    }

    /// A new instance of `plugin` in a new `Store`.
    fn instantiate(
        &self,
        plugin: &LoadedPlugin,
        directory: Arc<crate::directory::Directory>,
    ) -> Result<Warm, CallError> {
        let mut store = self.store(plugin, directory);
        let instance = match &plugin.pre {
            Pre::Channel(p) => p.instantiate(&mut store).map(Instance::Channel),
            Pre::Extended(p) => p.instantiate(&mut store).map(Instance::Extended),
            Pre::Filter(p) => p.instantiate(&mut store).map(Instance::Filter),
            Pre::Router(p) => p.instantiate(&mut store).map(Instance::Router),
        };
        match instance {
            Ok(instance) => Ok(Warm { store, instance }),
            Err(e) => Err(self.classify(e, &store)),
        }
    }

    /// Runs `call` on a warm instance of `plugin` (or a new one). The instance goes back to the
    /// warm set only when the call neither trapped nor wrote to stderr; after a trap an
    /// instance is never used again.
    fn call<R: Output>(
        &self,
        plugin: &LoadedPlugin,
        directory: Arc<crate::directory::Directory>,
        call: impl FnOnce(&Instance, &mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let warm = plugin.warm.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut warm = match warm {
            Some(mut warm) => {
                warm.store.data_mut().directory = directory;
                warm.store.data_mut().waited_ticks = 0;
                warm.store.data_mut().memory.reset();
                warm.store.set_epoch_deadline(self.deadline_ticks());
                warm
            }
            None => self.instantiate(plugin, directory)?,
        };
        let started = std::time::Instant::now();
        let outcome = call(&warm.instance, &mut warm.store);
        let result = outcome.map_err(|error| self.classify(error, &warm.store)).and_then(|value| match value
            .bytes()
        {
            bytes if bytes > R::CAP => Err(CallError::Oversized(bytes, R::CAP)),
            _ => Ok(value),
        });
        let kind = result.as_ref().err().map(|e| match e {
            CallError::Timeout(_) => "timeout",
            CallError::OutOfMemory(_) => "out_of_memory",
            CallError::Trap(_) => "trap",
            CallError::Plugin(_) => "plugin",
            CallError::Oversized(..) => "oversized",
        });
        crate::metrics::plugin_call(&plugin.grants.label, started.elapsed(), kind);
        match result {
            Ok(value) => {
                if warm.store.data().stderr.contents().is_empty() {
                    let mut idle = plugin.warm.lock().unwrap_or_else(|e| e.into_inner());
                    if idle.len() < MAX_WARM {
                        idle.push(warm);
                    }
                }
                Ok(value)
            }
            Err(error) => Err(error),
        }
    }

    fn deadline_ticks(&self) -> u64 {
        (self.limits.deadline.as_millis() / TICK.as_millis()).max(1) as u64
    }

    /// The plugin's manifest.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]).
    pub fn manifest(&self, plugin: &AnyPlugin) -> Result<wit::Manifest, CallError> {
        let plugin = match plugin {
            AnyPlugin::Channel(p) => &p.loaded,
            AnyPlugin::Filter(p) => &p.loaded,
            AnyPlugin::Router(p) => &p.loaded,
        };
        self.call(plugin, Default::default(), |instance, store| match instance {
            Instance::Channel(i) => i.clienthub_plugin_channel_adapter().call_get_manifest(store),
            Instance::Extended(i) => i.clienthub_plugin_channel_adapter().call_get_manifest(store),
            Instance::Filter(i) => i.clienthub_plugin_appeal_filter().call_get_manifest(store),
            Instance::Router(i) => i.clienthub_plugin_appeal_router().call_get_manifest(store),
        })
    }

    /// A channel adapter's handling of one webhook request.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]) or is not a channel adapter.
    pub fn handle(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        request: &wit::HttpRequest,
    ) -> Result<Result<wit::AdapterOutput, wit::AdapterError>, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Channel(i) => i.clienthub_plugin_channel_adapter().call_handle(store, request),
            Instance::Extended(i) => i.clienthub_plugin_channel_adapter().call_handle(store, request),
            _ => wrong_world(World::Channel),
        })
    }

    /// A channel adapter's rendering of the platform call that sends `reply`.
    ///
    /// # Errors
    /// When the plugin fails, refuses (its message) or sends no replies.
    pub fn render_reply(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        reply: &wit::OutboundReply,
    ) -> Result<wit::OutboundRequest, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(i) => {
                i.clienthub_plugin_reply_renderer().call_render_reply(store, appeal, reply)
            }
            _ => Ok(Err(format!(
                "{} does not send replies (it does not export reply-renderer)",
                plugin.loaded.grants.label
            ))),
        })?
        .map_err(CallError::Plugin)
    }

    /// A channel adapter's reading of the platform's answer to a rendered reply call.
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn read_reply_answer(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        reply: &wit::OutboundReply,
        answer: &wit::HttpResponse,
    ) -> Result<wit::ReplyOutcome, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(i) => {
                i.clienthub_plugin_reply_renderer().call_read_reply_answer(store, appeal, reply, answer)
            }
            _ => Ok(wit::ReplyOutcome::Failed("the plugin does not send replies".into())),
        })
    }

    /// The CRM a channel connects, when it is a CRM connector.
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn crm_name(&self, plugin: &Plugin<ChannelWorld>) -> Result<Option<String>, CallError> {
        self.call(&plugin.loaded, Default::default(), |instance, store| match instance {
            Instance::Extended(i) => i.clienthub_plugin_crm_connector().call_crm_name(store),
            _ => Ok(None),
        })
    }

    /// A CRM connector's delivery of one appeal.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]).
    pub fn deliver(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        assignee: Option<&wit::CrmAssignee>,
    ) -> Result<Result<wit::CrmRecord, wit::CrmError>, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(i) => i.clienthub_plugin_crm_connector().call_deliver(store, appeal, assignee),
            _ => Ok(Err(wit::CrmError::Failed("the plugin is not a CRM connector".into()))),
        })
    }

    /// A CRM connector's note on a record's timeline.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]).
    pub fn add_note(
        &self,
        plugin: &Plugin<ChannelWorld>,
        record: &wit::CrmRecord,
        appeal: &wit::Appeal,
        text: &str,
    ) -> Result<Result<(), wit::CrmError>, CallError> {
        self.call(&plugin.loaded, Default::default(), |instance, store| match instance {
            Instance::Extended(i) => {
                i.clienthub_plugin_crm_connector().call_add_note(store, record, appeal, text)
            }
            _ => Ok(Err(wit::CrmError::Failed("the plugin is not a CRM connector".into()))),
        })
    }

    /// A CRM connector's reading of one webhook from its CRM.
    ///
    /// # Errors
    /// When the plugin fails (see [`CallError`]).
    pub fn handle_crm_event(
        &self,
        plugin: &Plugin<ChannelWorld>,
        directory: Arc<crate::directory::Directory>,
        request: &wit::HttpRequest,
    ) -> Result<Result<wit::CrmOutput, wit::AdapterError>, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Extended(i) => i.clienthub_plugin_crm_connector().call_handle_event(store, request),
            _ => Ok(Err(wit::AdapterError::Malformed("the plugin is not a CRM connector".into()))),
        })
    }

    /// A filter's verdict on one appeal.
    ///
    /// # Errors
    /// When the plugin fails or returns an error (see [`CallError`]).
    pub fn check(
        &self,
        plugin: &Plugin<FilterWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
    ) -> Result<wit::Verdict, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Filter(i) => i.clienthub_plugin_appeal_filter().call_check(store, appeal),
            _ => wrong_world(World::Filter),
        })?
        .map_err(CallError::Plugin)
    }

    /// A router's decision on one appeal.
    ///
    /// # Errors
    /// When the plugin fails or returns an error (see [`CallError`]).
    pub fn route(
        &self,
        plugin: &Plugin<RouterWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
    ) -> Result<wit::Decision, CallError> {
        self.call(&plugin.loaded, directory, |instance, store| match instance {
            Instance::Router(i) => i.clienthub_plugin_appeal_router().call_route(store, appeal),
            _ => wrong_world(World::Router),
        })?
        .map_err(CallError::Plugin)
    }

    /// Benchmark only: the median time to create a `Store`, instantiate `plugin` in it and drop
    /// both.
    ///
    /// # Errors
    /// When instantiation fails.
    pub fn instantiation_time(&self, plugin: &Plugin<RouterWorld>, iterations: usize) -> Result<Duration> {
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = std::time::Instant::now();
            drop(self.instantiate(&plugin.loaded, Default::default()).map_err(|e| anyhow::anyhow!("{e}"))?);
            samples.push(started.elapsed());
        }
        samples.sort();
        Ok(samples[samples.len() / 2])
    }

    /// Benchmark only: routes `appeal` `iterations` times, each on a fresh `Store` and
    /// instance (the alternative to warm instances); the median per call.
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn route_on_fresh_stores(
        &self,
        plugin: &Plugin<RouterWorld>,
        directory: Arc<crate::directory::Directory>,
        appeal: &wit::Appeal,
        iterations: usize,
    ) -> Result<Duration> {
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = std::time::Instant::now();
            let mut warm =
                self.instantiate(&plugin.loaded, directory.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let Instance::Router(router) = &warm.instance else {
                anyhow::bail!("not a router");
            };
            router
                .clienthub_plugin_appeal_router()
                .call_route(&mut warm.store, appeal)?
                .map_err(anyhow::Error::msg)?;
            drop(warm);
            samples.push(started.elapsed());
        }
        samples.sort();
        Ok(samples[samples.len() / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    /// The chaos-router fixture, loaded as a router with a short deadline.
    fn chaos_router() -> (tempfile::TempDir, Arc<Runtime>, Plugin<RouterWorld>) {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits { deadline: Duration::from_millis(200), memory_bytes: 64 << 20 };
        let runtime = Runtime::new(dir.path(), limits, Arc::new(SystemClock)).unwrap();
        let bytes = std::fs::read(clienthub_artifacts::fixtures::CHAOS_ROUTER).unwrap();
        let component = runtime.compile("chaos-router", &bytes).unwrap();
        let grants = Grants {
            label: "chaos-router@0.1.0".into(),
            kv: None,
            directory: false,
            config: "{}".into(),
            outbound_hosts: Arc::new([]),
        };
        let AnyPlugin::Router(router) = runtime.load(&component, World::Router, grants).unwrap() else {
            panic!("chaos-router is a router");
        };
        (dir, runtime, router)
    }

    fn appeal(text: &str) -> wit::Appeal {
        crate::runtime::convert::to_wit(&crate::appeal::Appeal {
            id: "01TEST".into(),
            channel: "telegram".into(),
            text: text.into(),
            ..Default::default()
        })
    }

    #[test]
    fn each_fault_is_classified_by_what_happened_and_fails_that_call_only() {
        let (_dir, runtime, router) = chaos_router();
        let route = |text: &str| runtime.route(&router, Default::default(), &appeal(text));
        assert_eq!(route("calm").unwrap().queue, "general");
        match route("#trap") {
            Err(CallError::Trap(message)) => {
                assert!(message.contains("chaos-router traps on 01TEST"), "{message}")
            }
            other => panic!("expected a trap, got {other:?}"),
        }
        assert!(matches!(route("#loop"), Err(CallError::Timeout(_))), "a loop times out");
        assert!(matches!(route("#alloc"), Err(CallError::OutOfMemory(_))), "1 GiB is over the cap");
        assert!(
            matches!(route("#giant"), Err(CallError::Oversized(..))),
            "a 32 MiB decision is over the cap"
        );
        // Each failure cost only its own instance.
        assert_eq!(route("calm again").unwrap().queue, "general");
    }
}
