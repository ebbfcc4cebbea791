//! How a channel proves its deliveries are genuine. A channel's manifest marks the
//! configuration keys that hold its secrets with `"x-clienthub-secret"` in the config schema:
//! `"generated"` where the platform lets us choose the secret (the host generates one when the
//! channel is activated) and `"platform"` where the platform issues it (the channel refuses
//! deliveries as not configured until an admin sets it). A channel that declares no secret,
//! or lacks one, accepts deliveries only after an admin explicitly opens it without
//! verification. `"x-clienthub-setup"` (`{"ru": …, "en": …}`) says what to paste on the
//! platform's side, with `{url}` and `{key}` filled in.

use serde::Serialize;
use serde_json::Value;

/// Who chooses a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// We do, and the host generates it.
    Generated,
    /// The platform issues it; an admin copies it into the configuration.
    Platform,
}

/// The secret-holding keys of a configuration schema, in schema order.
fn declared(schema: &Value) -> Vec<(String, Origin)> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .filter_map(|(key, property)| {
            let origin = match property.get("x-clienthub-secret")?.as_str()? {
                "generated" => Origin::Generated,
                "platform" => Origin::Platform,
                _ => return None,
            };
            Some((key.clone(), origin))
        })
        .collect()
}

fn is_set(config: &Value, key: &str) -> bool {
    config.get(key).and_then(Value::as_str).is_some_and(|v| !v.is_empty())
}

/// Sets every generated secret `config` lacks to a fresh random one; returns their keys.
pub fn fill_generated(schema: &Value, config: &mut Value) -> Vec<String> {
    if !config.is_object() {
        *config = Value::Object(Default::default());
    }
    let mut filled = Vec::new();
    for (key, origin) in declared(schema) {
        if origin == Origin::Generated && !is_set(config, &key) {
            config[key.as_str()] = Value::String(random_secret());
            filled.push(key);
        }
    }
    filled
}

/// Copies into `next` the generated secrets it does not set from `previous` (a new
/// configuration keeps the secret the platform was given unless it names another).
pub fn carry_generated(schema: &Value, previous: &Value, next: &mut Value) {
    for (key, origin) in declared(schema) {
        if origin == Origin::Generated && !is_set(next, &key) && is_set(previous, &key) {
            next[key.as_str()] = previous[key.as_str()].clone();
        }
    }
}

/// 32 letters and digits (190 bits) from the operating system's generator: accepted by every
/// platform's secret rules (Telegram's `secret_token`, VK's secret key, URL paths).
fn random_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut secret = String::with_capacity(32);
    while secret.len() < 32 {
        let mut bytes = [0u8; 64];
        // Without the system's randomness no secret can be made; nothing sensible goes on.
        getrandom::fill(&mut bytes).expect("the operating system's random generator");
        // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
        secret.extend(bytes.iter().filter(|b| **b < 248).map(|b| ALPHABET[usize::from(*b % 62)] as char));
    }
    secret.truncate(32);
    secret
}

/// Whether a channel's deliveries reach its adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Verification {
    /// Every declared secret is set: the adapter checks each delivery.
    Verified,
    /// Deliveries are refused (503) until the admin sets `missing` (none when the channel
    /// declares no verification at all) or opens the channel explicitly.
    NotConfigured {
        /// The configuration keys to set.
        missing: Vec<String>,
    },
    /// An admin opened the channel without verification: anything is accepted.
    Unverified,
}

impl Verification {
    /// The state of a channel with `schema`, `config`, and the admin's explicit opening.
    pub fn of(schema: &Value, config: &Value, opened: bool) -> Self {
        let declared = declared(schema);
        let missing: Vec<String> =
            declared.iter().filter(|(key, _)| !is_set(config, key)).map(|(key, _)| key.clone()).collect();
        match (declared.is_empty() || !missing.is_empty(), opened) {
            (false, _) => Verification::Verified,
            (true, true) => Verification::Unverified,
            (true, false) => Verification::NotConfigured { missing },
        }
    }

    /// Why a delivery is refused, for the platform's answer and the admin; `None` when it
    /// is not.
    pub fn refusal(&self, channel: &str) -> Option<String> {
        let Verification::NotConfigured { missing } = self else {
            return None;
        };
        let how = if missing.is_empty() {
            "it declares no way to verify deliveries".to_string()
        } else {
            format!("set {} (PUT /api/plugins/{channel}/config)", missing.join(", "))
        };
        Some(format!(
            "channel not configured: {how}, or open it without verification \
             (`clienthub channels open-unverified {channel}`)"
        ))
    }
}

/// What to paste on the platform's side, in `lang` (`ru` or `en`, Russian when the manifest
/// has no such text), with `{url}` and `{key}` of the configuration filled in (`<key>` when
/// unset).
pub fn setup_text(schema: &Value, config: &Value, url: &str, lang: &str) -> Option<String> {
    let texts = schema.get("x-clienthub-setup")?;
    let template = texts.get(lang).or_else(|| texts.get("ru"))?.as_str()?;
    let mut text = template.replace("{url}", url);
    for (key, _) in declared(schema) {
        let value = config.get(&key).and_then(Value::as_str).filter(|v| !v.is_empty());
        text = text.replace(&format!("{{{key}}}"), value.unwrap_or(&format!("<{key}>")));
    }
    Some(text)
}

/// The generated secrets of a configuration, for the admin to paste.
pub fn generated_values(schema: &Value, config: &Value) -> Vec<(String, String)> {
    declared(schema)
        .into_iter()
        .filter(|(key, origin)| *origin == Origin::Generated && is_set(config, key))
        .map(|(key, _)| (key.clone(), config[key.as_str()].as_str().unwrap_or_default().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "secret_token": {"type": "string", "x-clienthub-secret": "generated"},
            "app_secret": {"type": "string", "x-clienthub-secret": "platform"},
            "bot_token": {"type": "string"}
        }, "x-clienthub-setup": {"ru": "URL {url}, секрет {secret_token}", "en": "URL {url}, secret {secret_token}"}})
    }

    #[test]
    fn generated_secrets_are_filled_once_and_carried_over() {
        let mut config = json!({"bot_token": "1:x"});
        assert_eq!(fill_generated(&schema(), &mut config), ["secret_token"]);
        let secret = config["secret_token"].as_str().unwrap().to_string();
        assert!(secret.len() == 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(fill_generated(&schema(), &mut config).is_empty());
        let mut other = json!({});
        fill_generated(&schema(), &mut other);
        assert_ne!(other["secret_token"], config["secret_token"]);
        let mut next = json!({"bot_token": "2:y"});
        carry_generated(&schema(), &config, &mut next);
        assert_eq!(next["secret_token"].as_str(), Some(secret.as_str()));
    }

    #[test]
    fn a_channel_is_refused_until_every_secret_is_set_or_it_is_opened() {
        let mut config = json!({});
        fill_generated(&schema(), &mut config);
        let waiting = Verification::of(&schema(), &config, false);
        assert_eq!(waiting, Verification::NotConfigured { missing: vec!["app_secret".into()] });
        assert!(waiting.refusal("whatsapp").unwrap().contains("set app_secret"));
        assert_eq!(Verification::of(&schema(), &config, true), Verification::Unverified);
        config["app_secret"] = json!("from-meta");
        assert_eq!(Verification::of(&schema(), &config, false), Verification::Verified);
        let none = json!({"type": "object"});
        assert_eq!(
            Verification::of(&none, &json!({}), false),
            Verification::NotConfigured { missing: vec![] }
        );
        assert_eq!(Verification::of(&none, &json!({}), true), Verification::Unverified);
    }

    #[test]
    fn setup_text_fills_the_url_and_secrets() {
        let config = json!({"secret_token": "abc"});
        let ru = setup_text(&schema(), &config, "https://hub/hooks/telegram", "ru").unwrap();
        assert_eq!(ru, "URL https://hub/hooks/telegram, секрет abc");
        let en = setup_text(&schema(), &json!({}), "u", "en").unwrap();
        assert_eq!(en, "URL u, secret <secret_token>");
        assert_eq!(setup_text(&schema(), &config, "u", "de").unwrap(), "URL u, секрет abc");
    }
}
