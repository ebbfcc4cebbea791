//! Test fixture: a router that eats memory until the cap stops it.

/// The memory-hungry router.
pub struct HogRouter;

impl clienthub_sdk::Router for HogRouter {
    fn route(_appeal: clienthub_sdk::Appeal) -> Result<clienthub_sdk::Decision, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![1u8; 8 << 20]));
        }
    }
}

clienthub_sdk::export_router!(HogRouter);
