//! Test fixture: a bad release of rules-router (0.9.0) that panics on every appeal, so the host
//! rolls it back automatically.

/// The broken release.
pub struct BrokenRouter;

impl clienthub_sdk::Router for BrokenRouter {
    fn route(appeal: clienthub_sdk::Appeal) -> Result<clienthub_sdk::Decision, String> {
        panic!("rules-router 0.9.0 cannot route appeal {}", appeal.id)
    }
}

clienthub_sdk::export_router!(BrokenRouter);
