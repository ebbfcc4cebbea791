//! What the registry stores: a [`PluginRecord`] per uploaded version, with the
//! [`Capability`]s its manifest asked for, and an [`Activation`] state per plugin name.

use crate::runtime::World;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A capability a plugin's manifest asks for. Stored and shown as text (`key-value`,
/// `directory`, `outbound-host:api.example.com`), as records have always been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Its own key-value namespace.
    KeyValue,
    /// Read access to the routing directory.
    Directory,
    /// Outbound HTTP to this host (replies, the `outbound-http` import).
    OutboundHost(String),
    /// A capability this host does not know (a record from a newer host): granted nothing.
    Unknown(String),
}

impl Capability {
    /// The stored spelling.
    pub fn as_text(&self) -> String {
        match self {
            Capability::KeyValue => "key-value".into(),
            Capability::Directory => "directory".into(),
            Capability::OutboundHost(host) => format!("outbound-host:{host}"),
            Capability::Unknown(text) => text.clone(),
        }
    }

    /// Reads a stored spelling; what it does not know is kept as [`Capability::Unknown`].
    pub fn from_text(text: &str) -> Self {
        match text {
            "key-value" => Capability::KeyValue,
            "directory" => Capability::Directory,
            _ => match text.strip_prefix("outbound-host:") {
                Some(host) => Capability::OutboundHost(host.to_string()),
                None => Capability::Unknown(text.to_string()),
            },
        }
    }
}

impl Serialize for Capability {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_text())
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Capability::from_text(&String::deserialize(deserializer)?))
    }
}

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
    /// Capabilities it asked for.
    pub capabilities: Vec<Capability>,
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
    /// For a channel: whether an admin opened it without verification. `None` on a record
    /// stored before verification was required (decided once when the registry opens).
    #[serde(default)]
    pub unverified: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::Capability;

    #[test]
    fn capabilities_read_as_they_were_stored() {
        let stored = r#"["key-value","directory","outbound-host:api.telegram.org","teleport"]"#;
        let read: Vec<Capability> = serde_json::from_str(stored).unwrap();
        assert_eq!(
            read,
            vec![
                Capability::KeyValue,
                Capability::Directory,
                Capability::OutboundHost("api.telegram.org".into()),
                Capability::Unknown("teleport".into()),
            ]
        );
        assert_eq!(serde_json::to_string(&read).unwrap(), stored);
    }
}
