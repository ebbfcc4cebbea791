//! Replies through the VK API: `messages.send` to the conversation's peer for a community
//! message, `wall.createComment` from the community in answer to the comment for a comment
//! under a post. Both carry an idempotency key derived from the reply id (`random_id`,
//! `guid`), so a retried call is not delivered twice. VK reports errors inside a 200
//! (`{"error":{"error_code":6,…}}`); rate limits and VK's own failures are retried.

use super::Config;
use clienthub_sdk::{Appeal, HttpResponse, OutboundReply, OutboundRequest, ReplyOutcome, RetryLater};

/// The VK API server.
const API: &str = "https://api.vk.com";
/// The API version used unless configured.
const VERSION: &str = "5.199";

/// The call that sends `reply`.
pub fn render(config: &Config, appeal: &Appeal, reply: &OutboundReply) -> Result<OutboundRequest, String> {
    let token = config
        .access_token
        .as_deref()
        .ok_or("set access_token (a community token) in the vk plugin's configuration to send replies")?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    let method = match appeal.meta("vk_kind") {
        Some("comment") => {
            let owner = appeal.meta("owner_id").ok_or("the comment's owner_id is unknown")?;
            let post = appeal.meta("post_id").ok_or("the comment's post_id is unknown")?;
            form.append_pair("owner_id", owner).append_pair("post_id", post);
            if let Some(comment) = appeal.meta("comment_id") {
                form.append_pair("reply_to_comment", comment);
            }
            if let Some(group) = appeal.meta("group_id").or(owner.strip_prefix('-')) {
                form.append_pair("from_group", group);
            }
            form.append_pair("guid", &reply.id);
            "wall.createComment"
        }
        _ => {
            let peer = appeal
                .meta("peer_id")
                .or_else(|| appeal.conversation_key.strip_prefix("peer:"))
                .ok_or("the appeal has no VK peer_id")?;
            form.append_pair("peer_id", peer).append_pair("random_id", &random_id(&reply.id).to_string());
            if let Some(cmid) = appeal.meta("conversation_message_id") {
                let forward = serde_json::json!({
                    "peer_id": peer.parse::<i64>().unwrap_or_default(),
                    "conversation_message_ids": [cmid.parse::<i64>().unwrap_or_default()],
                    "is_reply": true,
                });
                form.append_pair("forward", &forward.to_string());
            }
            "messages.send"
        }
    };
    form.append_pair("message", &reply.text)
        .append_pair("access_token", token)
        .append_pair("v", config.api_version.as_deref().unwrap_or(VERSION));
    let base = config.api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    Ok(OutboundRequest::post_form(format!("{base}/method/{method}"), form.finish()))
}

/// What VK's answer means: `{"response": id}` (messages.send) or
/// `{"response": {"comment_id": id}}` (wall.createComment) is sent.
pub fn read_answer(answer: &HttpResponse) -> ReplyOutcome {
    let Some(body) = answer.body_json() else {
        return ReplyOutcome::from_status(answer);
    };
    if let Some(response) = body.get("response") {
        let id = response.as_i64().or_else(|| response["comment_id"].as_i64()).map(|id| id.to_string());
        return ReplyOutcome::Sent(id);
    }
    let Some(error) = body.get("error") else {
        return ReplyOutcome::from_status(answer);
    };
    let code = error["error_code"].as_i64().unwrap_or_default();
    let message = format!("VK error {code}: {}", error["error_msg"].as_str().unwrap_or("no message"));
    // 1 unknown error, 6 too many requests per second, 9 flood control, 10 internal error.
    match code {
        1 | 6 | 9 | 10 => ReplyOutcome::Retry(RetryLater { after_ms: None, error: message }),
        _ => ReplyOutcome::Failed(message),
    }
}

/// A positive 31-bit number from the reply id (FNV-1a): VK drops a second message with the
/// same `random_id` to the same peer.
fn random_id(reply_id: &str) -> u32 {
    let hash = reply_id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    hash & 0x7fff_ffff
}
