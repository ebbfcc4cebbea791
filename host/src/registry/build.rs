//! Building the pipeline snapshot from the activation states: each active version (and shadow
//! candidate) loaded with its grants, filters ordered, at most one CRM connector; and, in a
//! cluster, rebuilding it when another node changes an activation.

use super::record::{Activation, Capability, PluginRecord};
use super::verification::Verification;
use super::{Candidate, Pipeline, Registry, Shadow, Stage};
use crate::runtime::{AnyPlugin, Grants};
use crate::store::ControlChange;
use crate::supervisor::Supervisor;
use anyhow::{Context, Result};
use std::sync::Arc;
use wasmtime::component::Component;

impl Registry {
    /// Rebuilds the pipeline whenever another node (of a cluster) changes an activation, and
    /// compiles newly uploaded versions ahead of their activation.
    pub fn follow_other_nodes(self: &Arc<Self>, workers: &Supervisor) {
        let changed = Arc::new(tokio::sync::Notify::new());
        let notify = changed.clone();
        self.store.on_control_change(move |change| {
            if matches!(change, ControlChange::Activations | ControlChange::Plugins) {
                notify.notify_one();
            }
        });
        let registry = Arc::downgrade(self);
        workers.spawn(async move {
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
    pub(super) fn warm(&self) -> Result<()> {
        for record in self.store.plugins::<PluginRecord>()? {
            self.component(&record)?;
        }
        Ok(())
    }

    pub(super) fn rebuild(&self) -> Result<()> {
        let pipeline = self.build(&self.store.activations::<Activation>()?)?;
        self.install(pipeline);
        Ok(())
    }

    /// Makes `pipeline` the live one; the store learns whether a CRM connector is in it, and
    /// its CRM connector's calls are held to the CRM's rate.
    pub(super) fn install(&self, pipeline: Pipeline) {
        self.store.set_crm_active(pipeline.crm.is_some());
        if let Some(crm) = &pipeline.crm {
            self.runtime.hold_to_crm_rate(crm.label.split('@').next().unwrap_or_default());
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pipeline);
    }

    pub(super) fn build(&self, activations: &[Activation]) -> Result<Pipeline> {
        let mut pipeline = Pipeline { health: self.health.clone(), ..Pipeline::default() };
        let mut filters = Vec::new();
        for activation in activations {
            let Some(version) = &activation.active else { continue };
            if let Some(candidate) = &activation.shadow {
                let record = self.record(&activation.name, candidate).map_err(|e| anyhow::anyhow!("{e}"))?;
                let label = record.label();
                let candidate = match self.load(&record, activation)? {
                    AnyPlugin::Router(plugin) => Candidate::Router(Stage { label, plugin }),
                    AnyPlugin::Filter(plugin) => Candidate::Filter(Stage { label, plugin }),
                    AnyPlugin::Channel(_) => anyhow::bail!("{label}: only routers and filters run in shadow"),
                };
                pipeline.shadows.push(Arc::new(Shadow { name: activation.name.clone(), candidate }));
            }
            let record = self.record(&activation.name, version).map_err(|e| anyhow::anyhow!("{e}"))?;
            let label = record.label();
            match self.load(&record, activation)? {
                AnyPlugin::Channel(plugin) => {
                    let stage = Arc::new(Stage { label, plugin });
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
                    let opened = activation.unverified == Some(true);
                    let state = Verification::of(&record.config_schema, &activation.config, opened);
                    pipeline.verification.insert(record.name.clone(), state);
                    pipeline.channels.insert(record.name.clone(), stage);
                }
                AnyPlugin::Filter(plugin) => filters.push((
                    activation.position,
                    record.name.clone(),
                    Arc::new(Stage { label, plugin }),
                )),
                AnyPlugin::Router(plugin) => pipeline.router = Some(Arc::new(Stage { label, plugin })),
            }
        }
        filters.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        pipeline.filters = filters.into_iter().map(|(_, _, s)| s).collect();
        Ok(pipeline)
    }

    /// A version's compiled component (compiled once per sha256).
    pub(super) fn component(&self, record: &PluginRecord) -> Result<Component> {
        if let Some(component) = self.runtime.compiled(&record.sha256) {
            return Ok(component);
        }
        let bytes = self
            .store
            .blob(&record.sha256)?
            .with_context(|| format!("the binary of {} is missing", record.label()))?;
        self.runtime.compile(&record.sha256, &bytes)
    }

    pub(super) fn load(&self, record: &PluginRecord, activation: &Activation) -> Result<AnyPlugin> {
        let component = self.component(record)?;
        let has = |cap: &Capability| record.capabilities.contains(cap);
        let grants = Grants {
            label: record.label().into(),
            kv: has(&Capability::KeyValue).then(|| self.store.plugin_kv(&record.name)),
            directory: has(&Capability::Directory),
            config: activation.config.to_string().into(),
            outbound_hosts: record
                .capabilities
                .iter()
                .filter_map(|c| match c {
                    Capability::OutboundHost(host) => Some(host.clone()),
                    _ => None,
                })
                .chain(activation.extra_hosts.iter().cloned())
                .collect(),
        };
        self.runtime
            .load(&component, record.kind, grants)
            .with_context(|| format!("loading {}", record.label()))
    }
}
