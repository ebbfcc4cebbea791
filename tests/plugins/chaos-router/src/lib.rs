//! Test fixture: a router that misbehaves when the appeal's text asks it to, so faults can be
//! mixed into a load run. `#trap` panics, `#loop` never returns, `#alloc` allocates 1 GiB,
//! `#giant` returns a 32 MiB decision, `#directory` looks into the routing directory without
//! the capability; any other text goes to the `general` queue.

use clienthub_sdk::{Appeal, Decision, Router};

/// The misbehaving router.
pub struct ChaosRouter;

impl Router for ChaosRouter {
    fn route(appeal: Appeal) -> Result<Decision, String> {
        if appeal.text.contains("#trap") {
            panic!("chaos-router traps on {}", appeal.id);
        }
        if appeal.text.contains("#loop") {
            let mut spins = 0u64;
            loop {
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
        }
        if appeal.text.contains("#alloc") {
            let hoard = std::hint::black_box(vec![1u8; 1 << 30]);
            return Ok(Decision::to_queue("general", format!("allocated {}", hoard.len())));
        }
        if appeal.text.contains("#directory") {
            let regions = clienthub_sdk::directory::regions();
            return Ok(Decision::to_queue("general", format!("{} regions", regions.len())));
        }
        if appeal.text.contains("#giant") {
            return Ok(Decision::to_queue("general", "x".repeat(32 << 20)));
        }
        Ok(Decision::to_queue("general", "chaos-router: calm"))
    }
}

clienthub_sdk::export_router!(ChaosRouter);

#[cfg(test)]
mod tests {
    use super::ChaosRouter;
    use clienthub_sdk::Router;
    use clienthub_sdk::testing::{Harness, appeal};

    #[test]
    #[should_panic(expected = "does not ask for the directory capability")]
    fn the_harness_refuses_the_directory_its_manifest_does_not_ask_for() {
        let _ = Harness::new().run(|| ChaosRouter::route(appeal("telegram", "#directory")));
    }
}
