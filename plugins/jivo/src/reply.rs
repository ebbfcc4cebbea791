//! Replies to the site chat: a `BOT_MESSAGE` event posted to Jivo's bot endpoint,
//! `{api}/webhooks/{provider_id}/{token}`, for the appeal's `client_id` and `chat_id`. The event
//! id is the reply id, so a retried call names the same message. Jivo answers 200; 429 and 5xx
//! are retried (the SDK's default reading).

use super::Config;
use clienthub_sdk::{Appeal, OutboundReply, OutboundRequest};
use serde_json::json;

/// Jivo's bot endpoint server.
const API: &str = "https://bot.jivosite.com";

/// The `BOT_MESSAGE` call that sends `reply`.
pub fn render(config: &Config, appeal: &Appeal, reply: &OutboundReply) -> Result<OutboundRequest, String> {
    let (Some(provider), Some(token)) = (config.provider_id.as_deref(), config.token.as_deref()) else {
        return Err("set provider_id and token in the jivo plugin's configuration to send replies".into());
    };
    let chat = appeal.meta("chat_id").ok_or("the appeal has no Jivo chat_id")?;
    let client = appeal.meta("client_id").ok_or("the appeal has no Jivo client_id")?;
    let body = json!({
        "id": reply.id,
        "client_id": client,
        "chat_id": chat,
        "message": { "type": "TEXT", "text": reply.text, "timestamp": clienthub_sdk::clock::now_ms() / 1000 },
        "event": "BOT_MESSAGE",
    });
    let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    Ok(OutboundRequest::post_json(format!("{base}/webhooks/{provider}/{token}"), &body))
}
