//! Test fixture: a router that panics, to prove a trap fails one call only.

/// The panicking router.
pub struct TrapRouter;

impl clienthub_sdk::Router for TrapRouter {
    fn route(appeal: clienthub_sdk::Appeal) -> Result<clienthub_sdk::Decision, String> {
        panic!("trap-router refuses appeal {}", appeal.id)
    }
}

clienthub_sdk::export_router!(TrapRouter);
