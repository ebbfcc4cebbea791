//! Plugin versions and their activation: upload and validate, activate, roll back, configure,
//! and the atomic swap of the pipeline snapshot that each of these produces.
//!
//! Validation compiles the component, finds the world it exports, checks the WIT version
//! against the host's (semver-compatible or refused), reads its manifest and checks it agrees
//! with the exports, and compiles the config schema. Activation builds a new
//! [`Pipeline`] and swaps it in with one `Arc` store: in-flight
//! appeals keep the snapshot they started with.

mod activation;
mod build;
pub mod health;
mod record;
mod snapshot;
mod upload;
pub mod verification;

pub use record::{Activation, Capability, PluginRecord};
pub use snapshot::{Candidate, Pipeline, Shadow, Stage};
pub use upload::{MAX_PLUGIN_BYTES, WIT_VERSION, wit_compatible};

use crate::refusal::Refusal;
use crate::runtime::Runtime;
use crate::store::Store;
use activation::version_order;
use anyhow::Result;
use health::Health;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

fn invalid<T>(message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::Invalid(message.into()))
}

/// The plugin registry and the live pipeline.
pub struct Registry {
    store: Store,
    runtime: Arc<Runtime>,
    current: RwLock<Arc<Pipeline>>,
    /// Components by sha256, so a swap never recompiles.
    /// Serialises admin changes (uploads may run in parallel; activations may not).
    admin: Mutex<()>,
    /// Newly activated versions under watch for automatic rollback.
    health: Arc<Health>,
    /// Started for development (`serve --dev`): an upload may replace a version's content.
    development: bool,
}

impl Registry {
    /// Loads the active plugins of the store into the first pipeline; `development` lets
    /// uploads replace a version's content ([`Registry::upload`]).
    ///
    /// # Errors
    /// When a stored plugin cannot be loaded.
    pub fn open(store: Store, runtime: Arc<Runtime>, development: bool) -> Result<Arc<Self>> {
        let registry = Arc::new(Self {
            store,
            runtime,
            current: RwLock::new(Arc::new(Pipeline::default())),
            admin: Mutex::new(()),
            health: Arc::new(Health::default()),
            development,
        });
        registry.settle_legacy_channels()?;
        registry.rebuild()?;
        Ok(registry)
    }

    /// Channels activated before verification was required keep working as they did: those
    /// that would now be refused are marked opened without verification, with a warning
    /// (their secrets can be set and the opening withdrawn at any time).
    fn settle_legacy_channels(&self) -> Result<()> {
        for mut state in self.store.activations::<Activation>()? {
            let Some(version) = state.active.clone().filter(|_| state.unverified.is_none()) else { continue };
            let Some(record) = self.store.plugin::<PluginRecord>(&format!("{}@{version}", state.name))?
            else {
                continue;
            };
            if record.kind != crate::runtime::World::Channel {
                continue;
            }
            let opened = verification::Verification::of(&record.config_schema, &state.config, false)
                != verification::Verification::Verified;
            if opened {
                tracing::warn!(
                    channel = %state.name,
                    "accepts unverified deliveries (configured before verification was required): \
                     see `clienthub channels`"
                );
            }
            state.unverified = Some(opened);
            self.store.put_activation(&state.name, &state)?;
        }
        Ok(())
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
            match self.upload(bytes, false) {
                Ok(record) if fresh => {
                    self.activate(&record.name, &record.version, None, true)
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
}
