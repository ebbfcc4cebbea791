//! # ClientHub host
//!
//! Receives customer appeals from every channel through WebAssembly channel adapters, runs
//! them through filter and router plugins, and keeps everything in sled.
//!
//! Start with [`server::start`] (what `clienthub serve` runs), [`registry::Registry`] (plugin
//! versions and the live pipeline) and [`pipeline::Pipeline::ingest`] (one webhook's path).
//! Data flows one way: [`http`] → [`pipeline`] → [`runtime`] / [`store`]; operators' replies
//! leave through [`replies`].

pub mod access;
pub mod appeal;
#[cfg(feature = "bench")]
pub mod bench;
pub mod calendar;
pub mod client;
pub mod clock;
pub mod delivery;
pub mod directory;
pub mod http;
pub mod inbound;
pub mod metrics;
pub mod pipeline;
pub mod refusal;
pub mod registry;
pub mod replies;
pub mod reports;
pub mod rollout;
pub mod runtime;
pub mod server;
pub mod store;
pub mod work;
