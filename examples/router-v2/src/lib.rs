//! Example plugin, written from the SDK template: version 0.2.0 of `rules-router` (its
//! `clienthub.json` publishes it under that name) that sends every appeal to the priority desk
//! with high priority. The README's tour uploads it, sees the next appeal routed by it, and
//! rolls back.

use clienthub_sdk::{Appeal, Decision, Priority, Router};

/// Version 2 of the router.
pub struct RouterV2;

impl Router for RouterV2 {
    fn route(appeal: Appeal) -> Result<Decision, String> {
        let mut decision = Decision::to_queue(
            "priority-desk",
            format!("v2 sends {} appeals to the priority desk", appeal.channel),
        );
        decision.priority = Priority::High;
        Ok(decision)
    }
}

clienthub_sdk::export_router!(RouterV2);

#[cfg(test)]
mod tests {
    use super::*;
    use clienthub_sdk::testing::{Harness, appeal};

    #[test]
    fn everything_goes_to_the_priority_desk() {
        let decision = Harness::new().run(|| RouterV2::route(appeal("vk", "anything"))).unwrap();
        assert_eq!(decision.queue, "priority-desk");
        assert_eq!(decision.priority, Priority::High);
    }

    #[test]
    fn publishes_as_the_next_version_of_rules_router() {
        let manifest = plugin_manifest();
        assert_eq!((manifest.name.as_str(), manifest.version.as_str()), ("rules-router", "0.2.0"));
    }
}
