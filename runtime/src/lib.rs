//! The WebAssembly runtime: one wasmtime `Engine` with the pooling allocator and epoch
//! interruption, components compiled once per version and cached precompiled on disk, an
//! `InstancePre` per loaded plugin, and warm instances: each call takes one (or instantiates a
//! new `Store` with a memory cap and captured stderr), sets a fresh deadline, and returns it
//! unless the call trapped or wrote to stderr. The benchmark's figures chose this over a fresh
//! `Store` per call (README, "Benchmark").
//!
//! Start with [`Runtime::new`], [`Runtime::load`] and the calls on a typed [`Plugin`] handle. A trap,
//! timeout, out-of-memory or malformed result is a [`CallError`] for that call only.
//!
//! The layer above the model and the store: plugins see appeals and the directory (model), and
//! keep their key-value state and read raw webhooks through the store.

mod bindings;
mod cache;
mod call;
pub mod convert;
pub mod egress;
mod exports;
pub mod figures;
mod handles;
mod imports;
mod limiter;
pub mod outbound;
mod output;
mod send;

pub use bindings::types as wit;
pub use handles::{AnyPlugin, ChannelWorld, FilterWorld, Kind, Plugin, RouterWorld, World};
pub use imports::Grants;
pub use send::SendError;

use clienthub_model::{appeal, clock, directory, inbound};
use clienthub_store as store;

use anyhow::Result;
use bindings::{channel::ChannelPre, extended::ExtendedChannelPre, filter::FilterPre, router::RouterPre};
use handles::{LoadedPlugin, Pre};
use imports::CallState;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Limits applied to every plugin call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock budget of one call.
    pub deadline: Duration,
    /// Largest linear memory of one instance.
    pub memory_bytes: usize,
    /// Let outbound calls reach loopback and private addresses (`--allow-private-outbound`:
    /// tests against local stand-ins, a CRM on the office network).
    pub allow_private_outbound: bool,
    /// The rate every call of the active CRM connector is held to (`--crm-rate`,
    /// `--crm-burst`): Bitrix24's leaky bucket allows 2 requests a second, 50 at once.
    pub crm_rate: outbound::Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_millis(500),
            memory_bytes: 64 << 20,
            allow_private_outbound: false,
            crm_rate: outbound::Rate {
                per_second: std::num::NonZeroU32::new(2).expect("not zero"),
                burst: std::num::NonZeroU32::new(50).expect("not zero"),
            },
        }
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
    outbound: Arc<crate::outbound::Transport>,
    clock: crate::clock::SharedClock,
    cache: cache::Cache,
    /// Components compiled or loaded in this process, by sha256.
    loaded: Mutex<std::collections::HashMap<String, Component>>,
    /// Compile and cache counters.
    pub stats: RuntimeStats,
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
        let outbound = Arc::new(crate::outbound::Transport::new(limits.allow_private_outbound)?);
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

    /// Checks an admin's outbound allowlist ([`egress::Entry`]), with private addresses
    /// admitted only on a host started with `--allow-private-outbound`.
    ///
    /// # Errors
    /// Why the first bad entry is refused.
    pub fn check_outbound_hosts(&self, hosts: &[String]) -> Result<(), String> {
        let allow_private = self.outbound.allows_private();
        hosts.iter().try_for_each(|h| egress::Entry::parse(h, allow_private).map(drop))
    }

    /// The HTTP(S) client of every call the host makes.
    pub fn outbound(&self) -> &Arc<crate::outbound::Transport> {
        &self.outbound
    }

    /// Holds every call of plugin `name` to the CRM's rate ([`Limits::crm_rate`]).
    pub fn hold_to_crm_rate(&self, name: &str) {
        self.outbound.limit(name, self.limits.crm_rate);
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
                    // …and with 0.1.2's, fetch its customers' files and ask them questions.
                    Ok(extended) => Pre::Extended(extended, handles::RichPre::new(&pre)),
                    Err(_) => Pre::Channel(ChannelPre::new(pre)?),
                })))
            }
            World::Filter => AnyPlugin::Filter(Plugin::new(loaded(Pre::Filter(FilterPre::new(pre)?)))),
            World::Router => AnyPlugin::Router(Plugin::new(loaded(Pre::Router(RouterPre::new(pre)?)))),
        })
    }
}
