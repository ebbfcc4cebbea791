//! `GET /api/channels`: each active channel's webhook address, verification state, generated
//! secrets and what to paste on the platform's side (admins only: it shows secrets).
//! `PUT /api/channels/{name}/verification`: open a channel without verification, or require
//! it again.

use super::call::{Answer, Call};
use super::reply::{json, query_pairs};
use crate::registry::verification::{self, Verification};
use crate::runtime::World;
use serde::Deserialize;

/// `GET /api/channels[?lang=en]`.
pub async fn list(call: Call) -> Answer {
    let lang =
        query_pairs(call.query()).into_iter().find(|(k, _)| k == "lang").map_or("ru".into(), |(_, v)| v);
    let mut channels = Vec::new();
    for (activation, versions) in call.app.registry.list()? {
        let Some(record) = versions.iter().find(|r| Some(&r.version) == activation.active.as_ref()) else {
            continue;
        };
        if record.kind != World::Channel {
            continue;
        }
        let (schema, config) = (&record.config_schema, &activation.config);
        let url = format!("{}/hooks/{}", call.app.public_url, activation.name);
        let state = Verification::of(schema, config, activation.unverified == Some(true));
        let secrets: serde_json::Map<String, serde_json::Value> =
            verification::generated_values(schema, config).into_iter().map(|(k, v)| (k, v.into())).collect();
        channels.push(serde_json::json!({
            "channel": activation.name,
            "plugin": record.label(),
            "url": url,
            "verification": state,
            "refusal": state.refusal(&activation.name),
            "secrets": secrets,
            "setup": verification::setup_text(schema, config, &url, &lang),
        }));
    }
    Ok(json(200, &channels))
}

/// `PUT /api/channels/{name}/verification {"required": false}`.
pub async fn set_verification(mut call: Call) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Required {
        required: bool,
    }
    let body: Required = call.json().await?;
    let name = call.param(0).to_string();
    if !body.required {
        tracing::warn!(channel = %name, by = %call.caller.author(), "channel opened without verification");
    }
    let answer = call.app.registry.open_unverified(&name, !body.required)?;
    call.audit("channel_verification_changed", &name, vec![format!("required={}", body.required)])?;
    Ok(json(200, &answer))
}
