//! Plugin versions and their activation: upload and validate, activate, roll back, configure,
//! and the atomic swap of the pipeline snapshot that each of these produces.
//!
//! Validation compiles the component, finds the world it exports, checks the WIT version
//! against the host's (semver-compatible or refused), reads its manifest and checks it agrees
//! with the exports, and compiles the config schema. Activation builds a new
//! [`Pipeline`] and swaps it in with one `Arc` store: in-flight
//! appeals keep the snapshot they started with.

pub mod health;
mod snapshot;

pub use snapshot::{Pipeline, Shadow, Stage};

use crate::refusal::Refusal;
use crate::runtime::{Grants, LoadedPlugin, Runtime, World, wit};
use crate::store::ControlChange;
use crate::store::Store;
use anyhow::{Context, Result};
use health::{Health, Threshold};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use wasmtime::component::Component;

/// The WIT package version this host implements.
pub const WIT_VERSION: semver::Version = semver::Version::new(0, 1, 1);
/// Largest plugin upload.
pub const MAX_PLUGIN_BYTES: usize = 16 << 20;

/// A stored plugin version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PluginRecord {
    /// Plugin name.
    pub name: String,
    /// Its semver version.
    pub version: String,
    /// Its world.
    pub kind: World,
    /// The WIT package version it targets.
    pub wit_version: String,
    /// The SDK version it was built with.
    pub sdk_version: String,
    /// One line for the admin.
    pub description: String,
    /// Capabilities it asked for (`key-value`, `directory`, `outbound-host:api.x`).
    pub capabilities: Vec<String>,
    /// JSON Schema of its configuration.
    pub config_schema: serde_json::Value,
    /// sha256 of the component.
    pub sha256: String,
    /// Size in bytes.
    pub size: usize,
    /// Upload time (ms since the epoch).
    pub uploaded_at: u64,
}

impl PluginRecord {
    /// `name@version`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A plugin name's activation state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Activation {
    /// Plugin name.
    pub name: String,
    /// The active version, if any.
    pub active: Option<String>,
    /// Versions active before, oldest first (rollback pops the last).
    pub previous: Vec<String>,
    /// Admin configuration (JSON).
    pub config: serde_json::Value,
    /// Order in the filter chain (lower runs first).
    pub position: i64,
    /// What happened, newest last: `activated 0.2.0`, `rolled back to 0.1.0`, `configured`.
    pub log: Vec<(u64, String)>,
    /// Outbound hosts the admin allowed beyond the manifest's (a self-hosted Bot API server,
    /// a provider's regional endpoint, a proxy).
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    /// A candidate version running in shadow beside the active one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<String>,
}

fn invalid<T>(message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::Invalid(message.into()))
}

/// The plugin registry and the live pipeline.
pub struct Registry {
    store: Store,
    runtime: Arc<Runtime>,
    current: RwLock<Arc<Pipeline>>,
    /// Components by sha256, so a swap never recompiles.
    compiled: Mutex<HashMap<String, Component>>,
    /// Serialises admin changes (uploads may run in parallel; activations may not).
    admin: Mutex<()>,
    /// Newly activated versions under watch for automatic rollback.
    health: Arc<Health>,
}

impl Registry {
    /// Loads the active plugins of the store into the first pipeline.
    ///
    /// # Errors
    /// When a stored plugin cannot be loaded.
    pub fn open(store: Store, runtime: Arc<Runtime>) -> Result<Arc<Self>> {
        let registry = Arc::new(Self {
            store,
            runtime,
            current: RwLock::new(Arc::new(Pipeline::default())),
            compiled: Mutex::new(HashMap::new()),
            admin: Mutex::new(()),
            health: Arc::new(Health::default()),
        });
        registry.rebuild()?;
        Ok(registry)
    }

    /// The current pipeline snapshot.
    pub fn pipeline(&self) -> Arc<Pipeline> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The runtime.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Installs and activates the first-party plugins on a fresh data directory. On an
    /// existing one, uploads the embedded versions it does not have yet (after an upgrade of
    /// the binary) without activating them: the admin decides when to switch.
    ///
    /// # Errors
    /// When an embedded plugin fails validation on a fresh directory (a build problem).
    pub fn install_first_party(&self) -> Result<()> {
        let fresh = self.store.is_fresh();
        let stored: Vec<String> =
            self.store.plugins::<PluginRecord>()?.into_iter().map(|r| r.sha256).collect();
        for (crate_name, bytes) in clienthub_artifacts::FIRST_PARTY {
            if stored.contains(&hex::encode(Sha256::digest(bytes))) {
                continue;
            }
            match self.upload(bytes) {
                Ok(record) if fresh => {
                    self.activate(&record.name, &record.version, None)
                        .map_err(|e| anyhow::anyhow!("activating {crate_name}: {e}"))?;
                    tracing::info!(plugin = %record.label(), "installed first-party plugin");
                }
                Ok(record) => tracing::info!(
                    plugin = %record.label(),
                    "a newer first-party plugin is available: `clienthub plugin activate {} {}`",
                    record.name,
                    record.version
                ),
                Err(e) if fresh => anyhow::bail!("first-party plugin {crate_name}: {e}"),
                Err(e) => tracing::warn!("first-party plugin {crate_name} not installed: {e}"),
            }
        }
        Ok(())
    }

    /// Validates and stores an uploaded component. Uploading the same bytes twice is fine.
    ///
    /// # Errors
    /// [`Refusal::Invalid`] with the reason when the upload is not an acceptable plugin,
    /// [`Refusal::Conflict`] when `name@version` exists with other bytes.
    pub fn upload(&self, bytes: &[u8]) -> Result<PluginRecord, Refusal> {
        if bytes.len() > MAX_PLUGIN_BYTES {
            return invalid(format!("the plugin is {} bytes; the limit is {MAX_PLUGIN_BYTES}", bytes.len()));
        }
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => {}
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
                return invalid(
                    "this is a core WebAssembly module, not a component: build the plugin with \
                     `cargo build --target wasm32-wasip2`",
                );
            }
            _ => {
                return invalid(
                    "not a WebAssembly component (the file does not start with the \\0asm header)",
                );
            }
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        let component = self
            .runtime
            .compile(&sha256, bytes)
            .map_err(|e| Refusal::Invalid(format!("the component does not compile: {e:#}")))?;
        let world = self.exported_world(&component)?;
        let probe = self
            .runtime
            .load(
                &component,
                world,
                Grants {
                    label: "upload".into(),
                    kv: None,
                    directory: false,
                    config: "{}".into(),
                    outbound_hosts: Arc::new([]),
                },
            )
            .map_err(|e| Refusal::Invalid(format!("the component does not fit the {world} world: {e:#}")))?;
        let manifest = self
            .runtime
            .manifest(&probe)
            .map_err(|e| Refusal::Invalid(format!("reading the plugin's manifest failed: {e}")))?;
        let record = self.check_manifest(manifest, world, &sha256, bytes.len())?;
        let key = record.label();
        if let Some(existing) = self.store.plugin::<PluginRecord>(&key)? {
            if existing.sha256 == record.sha256 {
                return Ok(existing);
            }
            return Err(Refusal::Conflict(format!(
                "{key} is already uploaded with different content; bump the version"
            )));
        }
        self.store.put_plugin(&key, &record, &sha256, bytes)?;
        self.store.flush_now()?;
        self.compiled.lock().unwrap_or_else(|e| e.into_inner()).insert(sha256, component);
        tracing::info!(plugin = %key, kind = %world, "plugin uploaded");
        Ok(record)
    }

    /// The world the component exports, with its WIT version checked.
    fn exported_world(&self, component: &Component) -> Result<World, Refusal> {
        let ty = component.component_type();
        let names: Vec<String> =
            ty.exports(self.runtime.engine()).map(|(name, _)| name.to_string()).collect();
        let ours: Vec<(World, semver::Version)> = names
            .iter()
            .filter_map(|name| {
                let rest = name.strip_prefix("clienthub:plugin/")?;
                let (interface, version) = rest.split_once('@')?;
                Some((World::from_interface(interface)?, semver::Version::parse(version).ok()?))
            })
            .collect();
        let [(world, version)] = ours.as_slice() else {
            return invalid(format!(
                "the component must export exactly one of clienthub:plugin/channel-adapter, \
                 appeal-filter or appeal-router; it exports: [{}]",
                names.join(", ")
            ));
        };
        if !wit_compatible(version) {
            return invalid(format!(
                "the plugin targets clienthub:plugin@{version}, which this host (clienthub:plugin@{WIT_VERSION}) \
                 does not support: rebuild it with an SDK for {}.{}.x",
                WIT_VERSION.major, WIT_VERSION.minor
            ));
        }
        Ok(*world)
    }

    fn check_manifest(
        &self,
        m: wit::Manifest,
        world: World,
        sha256: &str,
        size: usize,
    ) -> Result<PluginRecord, Refusal> {
        let claimed = World::of_kind(m.kind);
        if claimed != world {
            return invalid(format!(
                "the manifest says the plugin is a {claimed}, but the component exports the {world} world \
                 (clienthub:plugin/{})",
                world.export_interface()
            ));
        }
        let name_ok = !m.name.is_empty()
            && m.name.len() <= 64
            && m.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return invalid(format!("plugin name '{}' must be 1-64 characters of a-z, 0-9 and -", m.name));
        }
        semver::Version::parse(&m.version)
            .map_err(|e| Refusal::Invalid(format!("plugin version '{}' is not semver: {e}", m.version)))?;
        let wit_version = semver::Version::parse(&m.wit_version).map_err(|e| {
            Refusal::Invalid(format!("manifest wit-version '{}' is not semver: {e}", m.wit_version))
        })?;
        if !wit_compatible(&wit_version) {
            return invalid(format!(
                "the manifest targets clienthub:plugin@{wit_version}; this host implements {WIT_VERSION}"
            ));
        }
        let config_schema: serde_json::Value = serde_json::from_str(&m.config_schema).map_err(|e| {
            Refusal::Invalid(format!("the config schema is not JSON: {e} ({})", m.description))
        })?;
        jsonschema::validator_for(&config_schema)
            .map_err(|e| Refusal::Invalid(format!("the config schema is not a valid JSON Schema: {e}")))?;
        Ok(PluginRecord {
            name: m.name,
            version: m.version,
            kind: world,
            wit_version: m.wit_version,
            sdk_version: m.sdk_version,
            description: m.description,
            capabilities: m
                .capabilities
                .into_iter()
                .map(|c| match c {
                    wit::Capability::KeyValue => "key-value".to_string(),
                    wit::Capability::Directory => "directory".to_string(),
                    wit::Capability::OutboundHost(h) => format!("outbound-host:{h}"),
                })
                .collect(),
            config_schema,
            sha256: sha256.to_string(),
            size,
            uploaded_at: crate::clock::now_ms(),
        })
    }

    /// Every stored version with its activation state, by name.
    ///
    /// # Errors
    /// On storage failure.
    pub fn list(&self) -> Result<Vec<(Activation, Vec<PluginRecord>)>> {
        let mut by_name: HashMap<String, Vec<PluginRecord>> = HashMap::new();
        for record in self.store.plugins::<PluginRecord>()? {
            by_name.entry(record.name.clone()).or_default().push(record);
        }
        let mut out: Vec<_> = by_name
            .into_iter()
            .map(|(name, mut versions)| {
                versions.sort_by(|a, b| version_order(&a.version, &b.version));
                let activation = self.store.activation::<Activation>(&name)?.unwrap_or(Activation {
                    name: name.clone(),
                    config: serde_json::json!({}),
                    ..Default::default()
                });
                Ok((activation, versions))
            })
            .collect::<Result<_>>()?;
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(out)
    }

    /// Makes `version` the active version of `name` and swaps the pipeline.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown version. Activating a router deactivates the
    /// router that was active (there is one router at a time).
    pub fn activate(&self, name: &str, version: &str, position: Option<i64>) -> Result<Activation, Refusal> {
        self.activate_watched(name, version, position, Some(Threshold::default()))
    }

    /// [`Registry::activate`], watching the new version for automatic rollback with
    /// `threshold` (none: not watched) when it replaces an earlier version.
    ///
    /// # Errors
    /// As [`Registry::activate`].
    pub fn activate_watched(
        &self,
        name: &str,
        version: &str,
        position: Option<i64>,
        threshold: Option<Threshold>,
    ) -> Result<Activation, Refusal> {
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let record = self.record(name, version)?;
        let mut replaced = self.routers_replaced_by(&record)?;
        let mut state = self.activation_state(name)?;
        if state.active.as_deref() == Some(version) {
            return Ok(state);
        }
        if let Some(old) = state.active.take() {
            state.previous.push(old);
        }
        state.previous.retain(|v| v != version);
        state.active = Some(version.to_string());
        if let Some(position) = position {
            state.position = position;
        }
        state.log.push((crate::clock::now_ms(), format!("activated {version}")));
        if state.shadow.as_deref() == Some(version) {
            state.shadow = None;
        }
        let watch = threshold.filter(|_| !state.previous.is_empty());
        replaced.insert(0, state);
        let state = self.commit_activations(replaced)?.remove(0);
        match watch {
            Some(threshold) => self.health.watch(&format!("{name}@{version}"), name, threshold),
            None => self.health.unwatch(name),
        }
        Ok(state)
    }

    /// The versions under watch that tripped are rolled back; (name, what happened) of each.
    pub fn roll_back_tripped(&self) -> Vec<(String, String)> {
        let mut done = Vec::new();
        for (name, label, why) in self.health.take_tripped() {
            let still_active =
                self.activation_state(&name).ok().and_then(|s| s.active.map(|v| format!("{name}@{v}")));
            if still_active.as_deref() != Some(label.as_str()) {
                continue;
            }
            match self.rollback_because(&name, &format!("automatically rolled back: {why}")) {
                Ok(state) => {
                    tracing::error!(plugin = %label, "automatic rollback to {:?}: {why}", state.active);
                    done.push((name, why));
                }
                Err(e) => tracing::error!(plugin = %label, "automatic rollback failed: {e}"),
            }
        }
        done
    }

    /// Runs `version` of a router or filter in shadow beside the active version.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown version; [`Refusal::Invalid`] for a channel, the
    /// active version itself, or a plugin with no active version.
    pub fn start_shadow(&self, name: &str, version: &str) -> Result<Activation, Refusal> {
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let record = self.record(name, version)?;
        if record.kind == World::Channel {
            return invalid("shadow runs are for routers and filters");
        }
        let mut state = self.activation_state(name)?;
        match state.active.as_deref() {
            None => return invalid(format!("{name} has no active version to compare with")),
            Some(active) if active == version => return invalid(format!("{version} is the active version")),
            Some(_) => {}
        }
        state.shadow = Some(version.to_string());
        state.log.push((crate::clock::now_ms(), format!("shadow {version} started")));
        self.commit_activation(state)
    }

    /// Stops the shadow run of `name`.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown plugin.
    pub fn stop_shadow(&self, name: &str) -> Result<Activation, Refusal> {
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.activation_state(name)?;
        if let Some(version) = state.shadow.take() {
            state.log.push((crate::clock::now_ms(), format!("shadow {version} stopped")));
        }
        self.commit_activation(state)
    }

    /// A version loaded with the plugin's configuration, for a replay; and whether it is a
    /// router.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown version; [`Refusal::Invalid`] for a channel.
    pub fn candidate(&self, name: &str, version: &str) -> Result<(Stage, bool), Refusal> {
        let record = self.record(name, version)?;
        if record.kind == World::Channel {
            return invalid("replays are for routers and filters");
        }
        let state = self.activation_state(name)?;
        let plugin = self.load(&record, &state).map_err(Refusal::Internal)?;
        Ok((Stage { label: record.label(), plugin }, record.kind == World::Router))
    }

    /// Re-activates the version that was active before the current one.
    ///
    /// # Errors
    /// [`Refusal::Conflict`] when there is nothing to roll back to. Rolling a router back
    /// deactivates any other active router, as activation does.
    pub fn rollback(&self, name: &str) -> Result<Activation, Refusal> {
        self.rollback_because(name, "rolled back")
    }

    fn rollback_because(&self, name: &str, why: &str) -> Result<Activation, Refusal> {
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        self.health.unwatch(name);
        let mut state = self.activation_state(name)?;
        let Some(previous) = state.previous.pop() else {
            return Err(Refusal::Conflict(format!("{name} has no earlier version to roll back to")));
        };
        let mut replaced = self.routers_replaced_by(&self.record(name, &previous)?)?;
        let from = state.active.replace(previous.clone()).unwrap_or_default();
        state.log.push((crate::clock::now_ms(), format!("{why} from {from} to {previous}")));
        replaced.insert(0, state);
        Ok(self.commit_activations(replaced)?.remove(0))
    }

    /// One router at a time: the other active routers, deactivated because `record` (a router)
    /// is about to become active. Empty when `record` is not a router.
    fn routers_replaced_by(&self, record: &PluginRecord) -> Result<Vec<Activation>, Refusal> {
        let mut replaced = Vec::new();
        if record.kind != World::Router {
            return Ok(replaced);
        }
        for mut other in self.store.activations::<Activation>()? {
            let Some(active) = other.active.clone() else { continue };
            if other.name != record.name
                && self.record(&other.name, &active).is_ok_and(|r| r.kind == World::Router)
            {
                other.previous.push(active);
                other.active = None;
                other.log.push((crate::clock::now_ms(), format!("replaced by {}", record.label())));
                replaced.push(other);
            }
        }
        Ok(replaced)
    }

    /// Deactivates `name`: its channel stops answering, or it leaves the chain.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown plugin.
    pub fn deactivate(&self, name: &str) -> Result<Activation, Refusal> {
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.activation_state(name)?;
        if let Some(old) = state.active.take() {
            state.previous.push(old.clone());
            state.log.push((crate::clock::now_ms(), format!("deactivated {old}")));
        }
        self.commit_activation(state)
    }

    /// Validates `config` against the active (or newest) version's schema, stores it and
    /// swaps the pipeline so the next call sees it.
    ///
    /// # Errors
    /// [`Refusal::Invalid`] listing every schema violation.
    pub fn configure(&self, name: &str, config: serde_json::Value) -> Result<Activation, Refusal> {
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.activation_state(name)?;
        let versions = self.versions(name)?;
        let record = match &state.active {
            Some(v) => self.record(name, v)?,
            None => versions
                .last()
                .cloned()
                .ok_or_else(|| Refusal::NotFound(format!("no plugin named {name}")))?,
        };
        validate_config(&record, &config)?;
        state.config = config;
        state.log.push((crate::clock::now_ms(), "configured".to_string()));
        self.commit_activation(state)
    }

    /// Replaces the outbound hosts the admin allows `name` beyond its manifest's.
    ///
    /// # Errors
    /// [`Refusal::Invalid`] for an entry that is not a host name, `host:port` or
    /// `*.domain`; [`Refusal::NotFound`] for an unknown plugin.
    pub fn allow_hosts(&self, name: &str, hosts: Vec<String>) -> Result<Activation, Refusal> {
        for host in &hosts {
            let bare = host.strip_prefix("*.").unwrap_or(host);
            let (bare, port) = match bare.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (bare, None),
            };
            let ok = !bare.is_empty()
                && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                && port.is_none_or(|p| p.parse::<u16>().is_ok());
            if !ok {
                return invalid(format!("'{host}' is not a host, host:port or *.domain"));
            }
        }
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.activation_state(name)?;
        state.log.push((crate::clock::now_ms(), format!("outbound hosts allowed: [{}]", hosts.join(", "))));
        state.extra_hosts = hosts;
        self.commit_activation(state)
    }

    fn versions(&self, name: &str) -> Result<Vec<PluginRecord>, Refusal> {
        let mut versions: Vec<PluginRecord> =
            self.store.plugins::<PluginRecord>()?.into_iter().filter(|r| r.name == name).collect();
        versions.sort_by(|a, b| version_order(&a.version, &b.version));
        Ok(versions)
    }

    fn record(&self, name: &str, version: &str) -> Result<PluginRecord, Refusal> {
        self.store
            .plugin::<PluginRecord>(&format!("{name}@{version}"))?
            .ok_or_else(|| Refusal::NotFound(format!("no plugin {name}@{version} has been uploaded")))
    }

    fn activation_state(&self, name: &str) -> Result<Activation, Refusal> {
        if let Some(state) = self.store.activation::<Activation>(name)? {
            return Ok(state);
        }
        if self.versions(name)?.is_empty() {
            return Err(Refusal::NotFound(format!("no plugin named {name}")));
        }
        let position =
            self.store.activations::<Activation>()?.iter().map(|a| a.position + 1).max().unwrap_or(0);
        Ok(Activation {
            name: name.to_string(),
            config: serde_json::json!({}),
            position,
            ..Default::default()
        })
    }

    fn commit_activation(&self, state: Activation) -> Result<Activation, Refusal> {
        Ok(self.commit_activations(vec![state])?.remove(0))
    }

    /// Builds the pipeline with `changed` applied, and only if that works, stores the states
    /// and swaps the pipeline in (one `Arc` store).
    fn commit_activations(&self, changed: Vec<Activation>) -> Result<Vec<Activation>, Refusal> {
        for state in &changed {
            if let Some(version) = &state.active {
                validate_config(&self.record(&state.name, version)?, &state.config)?;
            }
        }
        let mut all = self.store.activations::<Activation>()?;
        all.retain(|a| !changed.iter().any(|c| c.name == a.name));
        all.extend(changed.iter().cloned());
        let pipeline = self.build(&all).map_err(Refusal::Internal)?;
        for state in &changed {
            self.store.put_activation(&state.name, state)?;
        }
        self.store.flush_now()?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pipeline);
        for state in &changed {
            tracing::info!(plugin = %state.name, active = ?state.active, "pipeline swapped");
        }
        Ok(changed)
    }

    /// Rebuilds the pipeline whenever another node (of a cluster) changes an activation, and
    /// compiles newly uploaded versions ahead of their activation.
    pub fn follow_other_nodes(self: &Arc<Self>) {
        let changed = Arc::new(tokio::sync::Notify::new());
        let notify = changed.clone();
        self.store.on_control_change(move |change| {
            if matches!(change, ControlChange::Activations | ControlChange::Plugins) {
                notify.notify_one();
            }
        });
        let registry = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                changed.notified().await;
                let Some(registry) = registry.upgrade() else { return };
                let rebuilt = tokio::task::spawn_blocking(move || {
                    let _admin = registry.admin.lock().unwrap_or_else(|e| e.into_inner());
                    registry.warm()?;
                    registry.rebuild()
                })
                .await;
                match rebuilt {
                    Ok(Ok(())) => tracing::info!("pipeline follows the cluster's activations"),
                    Ok(Err(e)) => tracing::error!("following the cluster's activations: {e:#}"),
                    Err(e) => tracing::error!("following the cluster's activations: {e}"),
                }
            }
        });
    }

    /// Compiles every stored version not compiled yet.
    fn warm(&self) -> Result<()> {
        for record in self.store.plugins::<PluginRecord>()? {
            self.component(&record)?;
        }
        Ok(())
    }

    fn rebuild(&self) -> Result<()> {
        let pipeline = self.build(&self.store.activations::<Activation>()?)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pipeline);
        Ok(())
    }

    fn build(&self, activations: &[Activation]) -> Result<Pipeline> {
        let mut pipeline = Pipeline { health: self.health.clone(), ..Pipeline::default() };
        let mut filters = Vec::new();
        for activation in activations {
            let Some(version) = &activation.active else { continue };
            if let Some(candidate) = &activation.shadow {
                let record = self.record(&activation.name, candidate).map_err(|e| anyhow::anyhow!("{e}"))?;
                let stage =
                    Arc::new(Stage { label: record.label(), plugin: self.load(&record, activation)? });
                let router = record.kind == World::Router;
                pipeline.shadows.push(Arc::new(Shadow { name: activation.name.clone(), router, stage }));
            }
            let record = self.record(&activation.name, version).map_err(|e| anyhow::anyhow!("{e}"))?;
            let stage = Arc::new(Stage { label: record.label(), plugin: self.load(&record, activation)? });
            match record.kind {
                World::Channel => {
                    let crm = self.runtime.crm_name(&stage.plugin).map_err(|e| anyhow::anyhow!("{e}"))?;
                    if crm.is_some() {
                        if let Some(other) = &pipeline.crm {
                            anyhow::bail!(
                                "two CRM connectors are active: {} and {}",
                                other.label,
                                stage.label
                            );
                        }
                        pipeline.crm = Some(stage.clone());
                    }
                    pipeline.channels.insert(record.name.clone(), stage);
                }
                World::Filter => filters.push((activation.position, record.name.clone(), stage)),
                World::Router => pipeline.router = Some(stage),
            }
        }
        filters.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        pipeline.filters = filters.into_iter().map(|(_, _, s)| s).collect();
        Ok(pipeline)
    }

    /// A version's compiled component (compiled once per sha256).
    fn component(&self, record: &PluginRecord) -> Result<Component> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = compiled.get(&record.sha256) {
            return Ok(c.clone());
        }
        let bytes = self
            .store
            .blob(&record.sha256)?
            .with_context(|| format!("the binary of {} is missing", record.label()))?;
        let c = self.runtime.compile(&record.sha256, &bytes)?;
        compiled.insert(record.sha256.clone(), c.clone());
        Ok(c)
    }

    fn load(&self, record: &PluginRecord, activation: &Activation) -> Result<LoadedPlugin> {
        let component = self.component(record)?;
        let has = |cap: &str| record.capabilities.iter().any(|c| c == cap);
        let grants = Grants {
            label: record.label().into(),
            kv: has("key-value").then(|| self.store.plugin_kv(&record.name)),
            directory: has("directory"),
            config: activation.config.to_string().into(),
            outbound_hosts: record
                .capabilities
                .iter()
                .filter_map(|c| c.strip_prefix("outbound-host:"))
                .map(str::to_string)
                .chain(activation.extra_hosts.iter().cloned())
                .collect(),
        };
        self.runtime
            .load(&component, record.kind, grants)
            .with_context(|| format!("loading {}", record.label()))
    }
}

fn validate_config(record: &PluginRecord, config: &serde_json::Value) -> Result<(), Refusal> {
    let validator = jsonschema::validator_for(&record.config_schema)
        .map_err(|e| Refusal::Invalid(format!("{} has an invalid schema: {e}", record.label())))?;
    let problems: Vec<String> = validator
        .iter_errors(config)
        .map(|e| {
            let at = e.instance_path.to_string();
            format!("{}: {e}", if at.is_empty() { "(root)".to_string() } else { at })
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        invalid(format!(
            "the configuration does not fit {}'s schema: {}",
            record.label(),
            problems.join("; ")
        ))
    }
}

/// Whether a plugin built against `version` of the WIT package runs on this host.
pub fn wit_compatible(version: &semver::Version) -> bool {
    let req = semver::VersionReq {
        comparators: vec![semver::Comparator {
            op: semver::Op::Caret,
            major: WIT_VERSION.major,
            minor: Some(WIT_VERSION.minor),
            patch: Some(0),
            pre: semver::Prerelease::EMPTY,
        }],
    };
    req.matches(version)
}

fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wit_compatibility_follows_semver() {
        assert!(wit_compatible(&semver::Version::new(0, 1, 0)));
        assert!(wit_compatible(&semver::Version::new(0, 1, 7)));
        assert!(!wit_compatible(&semver::Version::new(0, 2, 0)));
        assert!(!wit_compatible(&semver::Version::new(1, 0, 0)));
    }
}
