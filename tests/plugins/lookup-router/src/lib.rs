//! Test fixture: asks a lookup service (the `lookup_url` of its configuration) through the
//! host's `outbound-http` import which queue an appeal belongs to, and routes it there. A
//! refused or failed call is its error, so the appeal goes to triage with the host's reason.

use clienthub_sdk::{Appeal, Decision, OutboundRequest, Router};

/// The fixture.
pub struct LookupRouter;

impl Router for LookupRouter {
    fn route(appeal: Appeal) -> Result<Decision, String> {
        let config: serde_json::Value = clienthub_sdk::config::get()?;
        let url = config["lookup_url"].as_str().ok_or("lookup_url is not configured")?;
        let request = OutboundRequest::post_json(url, &serde_json::json!({ "text": appeal.text }));
        let answer = clienthub_sdk::http::send(&request)?;
        let body = answer.body_json().unwrap_or_default();
        let queue =
            body["queue"].as_str().ok_or_else(|| format!("the lookup answered HTTP {}", answer.status))?;
        Ok(Decision::to_queue(queue, format!("lookup answered {queue}")))
    }
}

clienthub_sdk::export_router!(LookupRouter);

#[cfg(test)]
mod tests {
    use super::*;
    use clienthub_sdk::testing::{Harness, answer, appeal};

    #[test]
    fn routes_to_the_queue_the_lookup_names() {
        let mut harness = Harness::new()
            .with_config(r#"{"lookup_url":"http://127.0.0.1:1/lookup"}"#)
            .with_http_answer(Ok(answer(200, &serde_json::json!({"queue": "vip"}))));
        let decision = harness.run(|| LookupRouter::route(appeal("telegram", "hi"))).unwrap();
        assert_eq!(decision.queue, "vip");
        assert_eq!(harness.http_requests[0].url, "http://127.0.0.1:1/lookup");
    }
}
