//! Test fixture: a second version of `rules-router` with visibly different decisions.

use clienthub_sdk::{Appeal, Decision, Priority};

/// Version 2 of the router.
pub struct RouterV2;

impl clienthub_sdk::Router for RouterV2 {
    fn route(appeal: Appeal) -> Result<Decision, String> {
        let mut d = Decision::to_queue(
            "priority-desk",
            format!("v2 sends {} appeals to the priority desk", appeal.channel),
        );
        d.priority = Priority::High;
        Ok(d)
    }
}

clienthub_sdk::export_router!(RouterV2);
