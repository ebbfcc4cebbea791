//! Replies to Google reviews: `PUT {api}/v4/{review name}/reply` with `{"comment": …}` and an
//! OAuth bearer token (Business Profile API, `accounts.locations.reviews.updateReply`); the
//! owner's reply is public under the review. 2GIS and Yandex Maps offer no reply API to
//! partners: such a reply fails with that explanation, and the answer is given in their cabinets.

use super::Config;
use clienthub_sdk::{Appeal, OutboundReply, OutboundRequest};
use serde_json::json;

/// The Business Profile API server.
const API: &str = "https://mybusiness.googleapis.com";

/// The `updateReply` call for a Google review.
pub fn render(config: &Config, appeal: &Appeal, reply: &OutboundReply) -> Result<OutboundRequest, String> {
    match appeal.meta("review_platform") {
        Some("google") => {}
        Some(other) => {
            return Err(format!(
                "{other} offers no API to answer reviews: answer it in the platform's cabinet"
            ));
        }
        None => return Err("the appeal is not a review".into()),
    }
    let name = appeal.meta("review_name").ok_or("the Google review's resource name is unknown")?;
    let token = config
        .google_access_token
        .as_deref()
        .ok_or("set google_access_token in the reviews plugin's configuration to answer Google reviews")?;
    let base = config.google_api_base.as_deref().unwrap_or(API).trim_end_matches('/');
    let mut call =
        OutboundRequest::post_json(format!("{base}/v4/{name}/reply"), &json!({ "comment": reply.text }))
            .with_header("authorization", format!("Bearer {token}"));
    call.method = "PUT".into();
    Ok(call)
}
