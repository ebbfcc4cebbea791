//! The host services plugins import (`log`, `kv`, `config`, `directory`, `clock`,
//! `outbound-http`) and the per-call state they run against. Capabilities are checked here: a
//! plugin that did not ask for `key-value` or `directory` in its manifest gets an error or an
//! empty answer, and outbound calls go only to its allowed hosts.

use super::bindings::router::clienthub::plugin::{clock, config, directory, kv, log, outbound_http};
use super::bindings::types;
use crate::directory::Directory;
use crate::store::PluginKv;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// What a plugin is allowed, fixed when its version is loaded.
#[derive(Clone)]
pub struct Grants {
    /// `name@version`, for log lines.
    pub label: Arc<str>,
    /// Its key-value namespace, when granted.
    pub kv: Option<PluginKv>,
    /// Whether it may read the directory.
    pub directory: bool,
    /// Its admin configuration (JSON text).
    pub config: Arc<str>,
    /// Hosts the host may call on its behalf: its manifest's `outbound-host` entries and those
    /// the admin added.
    pub outbound_hosts: Arc<[String]>,
}

/// The data of one call's `Store`.
pub struct CallState {
    pub(super) grants: Grants,
    pub(super) directory: Arc<Directory>,
    pub(super) memory: super::limiter::MemoryCap,
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) stderr: MemoryOutputPipe,
    pub(super) outbound: Arc<crate::outbound::Transport>,
    pub(super) clock: crate::clock::SharedClock,
    /// Epoch ticks spent waiting in outbound calls during this call, given back at the
    /// deadline.
    pub(super) waited_ticks: u64,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl types::Host for CallState {}

impl log::Host for CallState {
    fn write(&mut self, level: log::Level, message: String) {
        let plugin = &*self.grants.label;
        match level {
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

const NO_KV: &str = "this plugin's manifest does not ask for the key-value capability";
/// Largest key and value a plugin may store.
const MAX_KEY: usize = 1024;
const MAX_VALUE: usize = 1 << 20;

impl CallState {
    fn kv(&self) -> Result<&PluginKv, String> {
        self.grants.kv.as_ref().ok_or_else(|| NO_KV.to_string())
    }
}

impl kv::Host for CallState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, String> {
        self.kv()?.get(&key).map_err(|e| e.to_string())
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        if key.len() > MAX_KEY || value.len() > MAX_VALUE {
            return Err(format!("keys are limited to {MAX_KEY} bytes and values to {MAX_VALUE}"));
        }
        self.kv()?.set(&key, &value).map_err(|e| e.to_string())
    }

    fn delete(&mut self, key: String) -> Result<(), String> {
        self.kv()?.delete(&key).map_err(|e| e.to_string())
    }

    fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, String> {
        self.kv()?.list(&prefix, limit.min(10_000) as usize).map_err(|e| e.to_string())
    }
}

impl config::Host for CallState {
    fn get(&mut self) -> String {
        self.grants.config.to_string()
    }
}

/// What a plugin that looks into the directory without asking for it is told: the call fails.
const NO_DIRECTORY: &str = "this plugin's manifest does not ask for the directory capability: add \
                            \"directory\" to the capabilities in its clienthub.json";

impl CallState {
    fn directory(&self) -> wasmtime::Result<&Directory> {
        match self.grants.directory {
            true => Ok(&self.directory),
            false => Err(wasmtime::Error::msg(NO_DIRECTORY)),
        }
    }
}

impl directory::Host for CallState {
    fn list_regions(&mut self) -> wasmtime::Result<Vec<directory::Region>> {
        Ok(self
            .directory()?
            .regions
            .iter()
            .map(|r| directory::Region {
                id: r.id.clone(),
                name: r.name.clone(),
                cities: r.cities.clone(),
                stores: r.stores.clone(),
            })
            .collect())
    }

    fn list_topics(&mut self) -> wasmtime::Result<Vec<directory::Topic>> {
        Ok(self
            .directory()?
            .topics
            .iter()
            .map(|t| directory::Topic {
                id: t.id.clone(),
                name: t.name.clone(),
                keywords: t.keywords.clone(),
                department: t.department.clone(),
                reaction_minutes: t.reaction_minutes,
            })
            .collect())
    }

    fn list_topic_rules(&mut self) -> wasmtime::Result<Vec<directory::TopicRule>> {
        Ok(self
            .directory()?
            .topics
            .iter()
            .map(|t| directory::TopicRule {
                topic: t.id.clone(),
                exact_keywords: t.exact_keywords.clone(),
                exclusions: t.exclusions.clone(),
                channels: t.channels.clone(),
                priority: t.priority,
            })
            .collect())
    }

    fn get_department(&mut self, id: String) -> wasmtime::Result<Option<directory::Department>> {
        Ok(self.directory()?.departments.iter().find(|d| d.id == id).map(|d| directory::Department {
            id: d.id.clone(),
            name: d.name.clone(),
            queue: d.queue.clone(),
        }))
    }

    fn list_employees(
        &mut self,
        department: String,
        region: Option<String>,
    ) -> wasmtime::Result<Vec<directory::Employee>> {
        Ok(self
            .directory()?
            .employees
            .iter()
            .filter(|e| e.active && e.department == department)
            .filter(|e| region.as_ref().is_none_or(|r| e.regions.is_empty() || e.regions.contains(r)))
            .map(|e| directory::Employee {
                id: e.id.clone(),
                name: e.name.clone(),
                department: e.department.clone(),
                regions: e.regions.clone(),
                active: e.active,
            })
            .collect())
    }
}

impl clock::Host for CallState {
    fn now_ms(&mut self) -> u64 {
        self.clock.now_ms()
    }
}

/// Longest outbound call a plugin may make.
const OUTBOUND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl outbound_http::Host for CallState {
    fn send(&mut self, request: types::OutboundRequest) -> Result<types::HttpResponse, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "outbound HTTP is not available outside the host's runtime".to_string())?;
        let started = std::time::Instant::now();
        let (outbound, grants) = (self.outbound.clone(), self.grants.clone());
        let answer = tokio::task::block_in_place(|| {
            runtime.block_on(outbound.send(&request, &grants.label, &grants.outbound_hosts, OUTBOUND_TIMEOUT))
        });
        let waited = started.elapsed().as_millis() / super::TICK.as_millis();
        self.waited_ticks += waited as u64 + 1;
        answer.map_err(|e| e.to_string())
    }
}
