//! The routing bench's API: `POST /api/routing/try` (a text and a channel through the active
//! router and every other uploaded router version) and `POST /api/directory/preview` (what an
//! edit of the directory would change over the newest appeals). Neither saves anything.

use super::call::{Answer, Call};
use super::error::ApiError;
use super::reply::json;
use crate::appeal::Appeal;
use crate::directory::Directory;
use crate::rollout::routing;
use serde::Deserialize;

/// `POST /api/routing/try {"text", "channel", "subject"?, "metadata"?}`: each router version's
/// decision, the active one first.
pub async fn try_text(mut call: Call) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Try {
        text: String,
        #[serde(default = "default_channel")]
        channel: String,
        #[serde(default)]
        subject: Option<String>,
        #[serde(default)]
        metadata: std::collections::BTreeMap<String, String>,
    }
    fn default_channel() -> String {
        "webform".into()
    }
    let t: Try = call.json().await?;
    if t.text.trim().is_empty() || t.text.len() > 20_000 {
        return Err(ApiError::invalid("text: from 1 to 20000 bytes"));
    }
    let appeal = Appeal {
        id: "try".into(),
        channel: t.channel,
        platform_id: "try".into(),
        conversation_key: "try".into(),
        received_at: call.app.store.now_ms(),
        subject: t.subject,
        text: t.text,
        metadata: t.metadata.into_iter().collect(),
        ..Appeal::default()
    };
    let (registry, store) = (call.app.registry.clone(), call.app.store.clone());
    let trials = tokio::task::spawn_blocking(move || routing::try_routers(&registry, &store, appeal))
        .await
        .map_err(|e| ApiError::internal(format!("the trial failed: {e}")))??;
    Ok(json(200, &trials))
}

/// `POST /api/directory/preview {"directory", "last"?}`: the edited directory (validated as a
/// save would be) against the stored one, over the newest `last` appeals (default 200, at
/// most 2000).
pub async fn preview(mut call: Call) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Preview {
        directory: Directory,
        #[serde(default)]
        last: Option<usize>,
    }
    let p: Preview = call.json().await?;
    let edited = super::admin::validated(p.directory)?;
    let last = p.last.unwrap_or(200).clamp(1, 2000);
    let (registry, store) = (call.app.registry.clone(), call.app.store.clone());
    let preview = tokio::task::spawn_blocking(move || routing::preview(&registry, &store, edited, last))
        .await
        .map_err(|e| ApiError::internal(format!("the preview failed: {e}")))?
        .map_err(|e| ApiError::new(409, format!("{e}")))?;
    Ok(json(200, &preview))
}
