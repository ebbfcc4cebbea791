//! The guest components of the workspace, built for `wasm32-wasip2` by this crate's build
//! script: [`FIRST_PARTY`] plugins as bytes (the host embeds them) and [`fixtures`] as file
//! paths (the end-to-end tests upload them).

include!(concat!(env!("OUT_DIR"), "/gen.rs"));
