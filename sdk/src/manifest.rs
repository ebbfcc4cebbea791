//! Building a plugin's [`Manifest`] from its crate metadata and `clienthub.json`.

use crate::{Capability, Manifest, PluginKind};
use serde::Deserialize;

/// The contents of a plugin's `clienthub.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginFile {
    /// Publish under this name instead of the crate's.
    #[serde(default)]
    pub name: Option<String>,
    /// Publish under this version instead of the crate's.
    #[serde(default)]
    pub version: Option<String>,
    /// One line for the admin.
    #[serde(default)]
    pub description: String,
    /// Requested capabilities: `"key-value"`, `"directory"`, `{"outbound-host": "…"}`.
    #[serde(default)]
    pub capabilities: Vec<CapabilityEntry>,
    /// JSON Schema of the admin configuration.
    #[serde(default)]
    pub config_schema: Option<serde_json::Value>,
}

/// One entry of `capabilities` in `clienthub.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapabilityEntry {
    /// The plugin's own key-value namespace.
    KeyValue,
    /// Read access to the routing directory.
    Directory,
    /// Outbound HTTP to one host.
    OutboundHost(String),
}

/// Builds the manifest of a plugin. Called by the `export_*!` macros, which first check the
/// file's syntax and keys while the plugin compiles ([`crate::manifest_check`]).
///
/// # Panics
/// When `clienthub.json` does not fit the manifest (a capability the SDK does not know, say):
/// the plugin's tests, and its upload, fail with the reason rather than publish a manifest
/// that hides it.
pub fn build(kind: PluginKind, crate_name: &str, crate_version: &str, file: &str) -> Manifest {
    let file: PluginFile = match serde_json::from_str(file) {
        Ok(file) => file,
        Err(e) => panic!(
            "clienthub.json of {crate_name} does not fit the manifest: {e} (the keys are name, \
             version, description, capabilities — \"key-value\", \"directory\" or \
             {{\"outbound-host\": \"…\"}} — and config_schema)"
        ),
    };
    Manifest {
        name: file.name.unwrap_or_else(|| crate_name.to_string()),
        version: file.version.unwrap_or_else(|| crate_version.to_string()),
        kind,
        wit_version: crate::WIT_VERSION.to_string(),
        sdk_version: crate::SDK_VERSION.to_string(),
        capabilities: file
            .capabilities
            .into_iter()
            .map(|c| match c {
                CapabilityEntry::KeyValue => Capability::KeyValue,
                CapabilityEntry::Directory => Capability::Directory,
                CapabilityEntry::OutboundHost(h) => Capability::OutboundHost(h),
            })
            .collect(),
        config_schema: file.config_schema.map_or_else(|| "{}".to_string(), |schema| schema.to_string()),
        description: file.description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_capabilities_and_schema() {
        let m = build(
            PluginKind::Router,
            "my-router",
            "1.2.3",
            r#"{"description":"d","capabilities":["directory",{"outbound-host":"api.x"}],
                "config_schema":{"type":"object"}}"#,
        );
        assert_eq!(m.name, "my-router");
        assert_eq!(m.version, "1.2.3");
        assert_eq!(m.capabilities, vec![Capability::Directory, Capability::OutboundHost("api.x".into())]);
        assert_eq!(m.config_schema, r#"{"type":"object"}"#);
    }

    #[test]
    #[should_panic(expected = "clienthub.json of f does not fit the manifest")]
    fn a_file_that_does_not_fit_is_reported_not_hidden() {
        build(PluginKind::Filter, "f", "0.1.0", r#"{"capabilities": ["key_value"]}"#);
    }
}
