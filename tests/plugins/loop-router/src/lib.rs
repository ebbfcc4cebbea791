//! Test fixture: a router stuck in an endless loop, to prove the epoch deadline.

/// The looping router.
pub struct LoopRouter;

impl clienthub_sdk::Router for LoopRouter {
    fn route(appeal: clienthub_sdk::Appeal) -> Result<clienthub_sdk::Decision, String> {
        let mut n: u64 = 0;
        while std::hint::black_box(n) != u64::MAX || appeal.text.is_empty() {
            n = n.wrapping_add(1);
        }
        Err("unreachable".into())
    }
}

clienthub_sdk::export_router!(LoopRouter);
