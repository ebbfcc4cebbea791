//! Upload validation: a component is compiled, its exported world found and its WIT version
//! checked (semver-compatible or refused), its manifest read and checked against the exports,
//! its config schema compiled, and only then stored.

use super::record::{Capability, PluginRecord};
use super::{Registry, invalid};
use crate::refusal::Refusal;
use crate::runtime::{Grants, World, wit};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use wasmtime::component::Component;

/// The WIT package version this host implements.
pub const WIT_VERSION: semver::Version = semver::Version::new(0, 1, 4);
/// Largest plugin upload.
pub const MAX_PLUGIN_BYTES: usize = 16 << 20;

impl Registry {
    /// Validates and stores an uploaded component. Uploading the same bytes twice is fine.
    /// `development` (only on a host started for development) replaces the content of a
    /// version already uploaded, rebuilds the pipeline if it is in use, and says so in the
    /// plugin's log.
    ///
    /// # Errors
    /// [`Refusal::Invalid`] with the reason when the upload is not an acceptable plugin,
    /// [`Refusal::Conflict`] when `name@version` exists with other bytes (and this is not a
    /// development upload), or a development upload reaches a host not started for it.
    pub fn upload(&self, bytes: &[u8], development: bool) -> Result<PluginRecord, Refusal> {
        if development && !self.development {
            return Err(Refusal::Conflict(
                "development uploads are off: this host was not started with `serve --dev` \
                 (a version's content never changes here; bump the version)"
                    .into(),
            ));
        }
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
            if !development {
                let hint = match self.development {
                    true => "bump the version, or upload with --dev to replace it",
                    false => "bump the version",
                };
                return Err(Refusal::Conflict(format!(
                    "{key} is already uploaded with different content; {hint}"
                )));
            }
            return self.replace_in_development(existing, record, bytes);
        }
        self.store.put_plugin(&key, &record, &sha256, bytes)?;
        self.store.flush_now()?;
        tracing::info!(plugin = %key, kind = %world, "plugin uploaded");
        Ok(record)
    }

    /// A development upload over `existing`: the new content under the same version, the
    /// pipeline rebuilt with it, and the plugin's log saying so.
    fn replace_in_development(
        &self,
        existing: PluginRecord,
        record: PluginRecord,
        bytes: &[u8],
    ) -> Result<PluginRecord, Refusal> {
        let key = record.label();
        if existing.kind != record.kind {
            return Err(Refusal::Conflict(format!(
                "{key} is a {}; a development upload cannot make it a {}",
                existing.kind, record.kind
            )));
        }
        let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        self.store.put_plugin(&key, &record, &record.sha256, bytes)?;
        let mut state = self.activation_state(&record.name)?;
        let short = |sha: &str| sha.get(..12).unwrap_or(sha).to_string();
        state.log.push((
            self.store.now_ms(),
            format!(
                "development upload replaced {} (sha256 {} → {})",
                record.version,
                short(&existing.sha256),
                short(&record.sha256)
            ),
        ));
        self.commit_activation(state)?;
        tracing::warn!(plugin = %key, "development upload: the version's content was replaced");
        Ok(record)
    }

    /// The world the component exports, with its WIT version checked.
    pub(super) fn exported_world(&self, component: &Component) -> Result<World, Refusal> {
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

    pub(super) fn check_manifest(
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
                    wit::Capability::KeyValue => Capability::KeyValue,
                    wit::Capability::Directory => Capability::Directory,
                    wit::Capability::OutboundHost(h) => Capability::OutboundHost(h),
                })
                .collect(),
            config_schema,
            sha256: sha256.to_string(),
            size,
            uploaded_at: self.store.now_ms(),
        })
    }
}

pub(super) fn validate_config(record: &PluginRecord, config: &serde_json::Value) -> Result<(), Refusal> {
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
