//! The activation state machine of each plugin name: activate (with automatic rollback
//! watched), shadow, roll back, deactivate, configure, allow hosts. Every change builds the
//! new pipeline first and stores the new states only if it builds, then swaps it in.

use super::record::{Activation, PluginRecord};
use super::upload::validate_config;
use super::verification;
use super::{Candidate, Registry, Stage, invalid};
use crate::refusal::Refusal;
use crate::registry::health::Threshold;
use crate::runtime::{AnyPlugin, World};

impl Registry {
    /// Makes `version` the active version of `name` and swaps the pipeline.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown version. There is one router at a time: activating
    /// a router while a router of another name is active is a [`Refusal::Conflict`] naming it,
    /// unless `replace` says to deactivate it.
    pub fn activate(
        &self,
        name: &str,
        version: &str,
        position: Option<i64>,
        replace: bool,
    ) -> Result<Activation, Refusal> {
        self.activate_watched(name, version, position, replace, Some(Threshold::default()))
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
        replace: bool,
        threshold: Option<Threshold>,
    ) -> Result<Activation, Refusal> {
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let record = self.record(name, version)?;
        let mut replaced = self.routers_replaced_by(&record)?;
        if !replace && let Some(other) = replaced.first() {
            let active = other.previous.last().map(String::as_str).unwrap_or("?");
            return Err(Refusal::Conflict(format!(
                "activating the router {} would replace the active router {}@{active} and its \
                 routing (one router is active at a time): activate with --replace \
                 (\"replace\": true) to do so",
                record.label(),
                other.name
            )));
        }
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
        state.log.push((self.store.now_ms(), format!("activated {version}")));
        if record.kind == World::Channel {
            let generated = verification::fill_generated(&record.config_schema, &mut state.config);
            if !generated.is_empty() {
                state.log.push((self.store.now_ms(), format!("secrets generated: {}", generated.join(", "))));
            }
            state.unverified.get_or_insert(false);
        }
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
        state.log.push((self.store.now_ms(), format!("shadow {version} started")));
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
            state.log.push((self.store.now_ms(), format!("shadow {version} stopped")));
        }
        self.commit_activation(state)
    }

    /// A version loaded with the plugin's configuration, for a replay; and whether it is a
    /// router.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown version; [`Refusal::Invalid`] for a channel.
    pub fn candidate(&self, name: &str, version: &str) -> Result<Candidate, Refusal> {
        let record = self.record(name, version)?;
        let state = self.activation_state(name)?;
        let label = record.label();
        match self.load(&record, &state).map_err(Refusal::Internal)? {
            AnyPlugin::Router(plugin) => Ok(Candidate::Router(Stage { label, plugin })),
            AnyPlugin::Filter(plugin) => Ok(Candidate::Filter(Stage { label, plugin })),
            AnyPlugin::Channel(_) => invalid("replays are for routers and filters"),
        }
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
        state.log.push((self.store.now_ms(), format!("{why} from {from} to {previous}")));
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
                other.log.push((self.store.now_ms(), format!("replaced by {}", record.label())));
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
            state.log.push((self.store.now_ms(), format!("deactivated {old}")));
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
        let mut config = config;
        if record.kind == World::Channel {
            verification::carry_generated(&record.config_schema, &state.config, &mut config);
        }
        validate_config(&record, &config)?;
        state.config = config;
        state.log.push((self.store.now_ms(), "configured".to_string()));
        self.commit_activation(state)
    }

    /// Opens the channel `name` without verification (`opened`), or withdraws that opening.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown plugin; [`Refusal::Invalid`] for one that is not
    /// an active channel.
    pub fn open_unverified(&self, name: &str, opened: bool) -> Result<Activation, Refusal> {
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.activation_state(name)?;
        let Some(version) = &state.active else {
            return invalid(format!("{name} is not active"));
        };
        if self.record(name, version)?.kind != World::Channel {
            return invalid(format!("{name} is not a channel"));
        }
        state.unverified = Some(opened);
        let what = if opened { "opened without verification" } else { "verification required" };
        state.log.push((self.store.now_ms(), what.to_string()));
        self.commit_activation(state)
    }

    /// Replaces the outbound hosts the admin allows `name` beyond its manifest's.
    ///
    /// # Errors
    /// [`Refusal::Invalid`] for an entry [`crate::runtime::egress::Entry`] does not admit;
    /// [`Refusal::NotFound`] for an unknown plugin.
    pub fn allow_hosts(&self, name: &str, hosts: Vec<String>) -> Result<Activation, Refusal> {
        self.runtime.check_outbound_hosts(&hosts).map_err(Refusal::Invalid)?;
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.activation_state(name)?;
        state.log.push((self.store.now_ms(), format!("outbound hosts allowed: [{}]", hosts.join(", "))));
        state.extra_hosts = hosts;
        self.commit_activation(state)
    }

    pub(super) fn versions(&self, name: &str) -> Result<Vec<PluginRecord>, Refusal> {
        let mut versions: Vec<PluginRecord> =
            self.store.plugins::<PluginRecord>()?.into_iter().filter(|r| r.name == name).collect();
        versions.sort_by(|a, b| version_order(&a.version, &b.version));
        Ok(versions)
    }

    pub(super) fn record(&self, name: &str, version: &str) -> Result<PluginRecord, Refusal> {
        self.store
            .plugin::<PluginRecord>(&format!("{name}@{version}"))?
            .ok_or_else(|| Refusal::NotFound(format!("no plugin {name}@{version} has been uploaded")))
    }

    pub(super) fn activation_state(&self, name: &str) -> Result<Activation, Refusal> {
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

    pub(super) fn commit_activation(&self, state: Activation) -> Result<Activation, Refusal> {
        Ok(self.commit_activations(vec![state])?.remove(0))
    }

    /// Builds the pipeline with `changed` applied, and only if that works, stores the states
    /// and swaps the pipeline in (one `Arc` store).
    pub(super) fn commit_activations(&self, changed: Vec<Activation>) -> Result<Vec<Activation>, Refusal> {
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
        self.install(pipeline);
        for state in &changed {
            tracing::info!(plugin = %state.name, active = ?state.active, "pipeline swapped");
        }
        Ok(changed)
    }
}

pub(super) fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}
