//! The audit log: who did what to whom, and when — sign-ins (and failed ones), invitations,
//! role and scope changes, tokens, sessions, directory, plugin and configuration changes
//! (which fields, never the values), exports and erasures. It only grows; admins read and
//! export it (`GET /api/audit`, `clienthub audit`).

use crate::store::Store;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// One event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// When (ms since the epoch).
    pub at: u64,
    /// Who: a person (`Ольга (olga)`), a service, or the login tried for a failed sign-in.
    pub actor: String,
    /// What happened: `signed_in`, `sign_in_failed`, `invited`, `plugin_configured`, ….
    pub action: String,
    /// To what (an employee, a plugin, a token's id); empty when nothing in particular.
    #[serde(default)]
    pub target: String,
    /// Which fields or entries changed (names only, never secret values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The address the request came from, when there was a request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
}

/// Appends an event (a failure to record is logged, never hidden).
///
/// # Errors
/// On storage failure.
pub fn record(
    store: &Store,
    actor: &str,
    action: &str,
    target: &str,
    changed: Vec<String>,
    address: &str,
) -> Result<()> {
    let event = Event {
        at: store.now_ms(),
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        changed,
        address: address.to_string(),
    };
    tracing::info!(actor, action, target, "audit");
    store.append_audit(&event).map(drop)
}

/// A page of the log after the event `after`, oldest first, with ids.
///
/// # Errors
/// On storage failure.
pub fn page(store: &Store, after: Option<&str>, limit: usize) -> Result<Vec<(String, Event)>> {
    store.audit_page(after, limit)
}

/// The names of the top-level fields that differ between two JSON objects (a configuration
/// before and after): what the audit log says changed, without the values.
pub fn changed_fields(before: &serde_json::Value, after: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let mut names: Vec<String> =
        a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).cloned().collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::changed_fields;
    use serde_json::json;

    #[test]
    fn changed_fields_name_fields_not_values() {
        let before = json!({"bot_token": "111:AAA", "chat": "1", "same": true});
        let after = json!({"bot_token": "222:BBB", "same": true, "new": 1});
        assert_eq!(changed_fields(&before, &after), vec!["bot_token", "chat", "new"]);
    }
}
