//! # ClientHub host
//!
//! Receives customer appeals from every channel through WebAssembly channel adapters, runs
//! them through filter and router plugins, and keeps everything in a [`store::Store`].
//!
//! Start with [`server::start`] (what `clienthub serve` runs), [`registry::Registry`] (plugin
//! versions and the live [`registry::Pipeline`] snapshot) and [`pipeline::intake::Sink`] (one
//! webhook's path). Modules sit in one-way layers, each importing only from those below it
//! (`tests/all/layers.rs` checks it):
//!
//! - [`server`] wires everything; [`http`] serves webhooks, the API (a route table with a role
//!   per route) and the console; [`reports`] builds period reports;
//! - [`pipeline`]: the intake — adapter, normalisation, filters, router, stored appeal; its
//!   [`pipeline::intake`] sink processes inline or queues for any cluster node;
//! - [`rollout`], [`work`], [`replies`], [`delivery`], [`media`]: work on stored appeals, fed
//!   by the store (shadow and replay; assignment, actions, SLA, the dispatcher; the reply
//!   outbox; CRM delivery; attachments' files);
//! - [`registry`]: plugin versions, validation, activation, the pipeline snapshot;
//! - [`runtime`]: wasmtime, typed per-world plugin handles, host imports, outbound HTTP;
//! - [`metrics`], [`access`], [`search`] (full-text, following the store); then [`store`]:
//!   state behind a backend (the local database, or JetStream);
//! - vocabulary: [`inbound`], [`directory`], [`normalize`] (phones, e-mails), [`calendar`],
//!   [`clock`], [`refusal`], [`client`], [`throttle`];
//! - the process: [`memory`] (malloc's arenas, freed memory handed back).
//!
//! Below the host, the `clienthub-model` crate: [`appeal`], its typed history [`event`]s and
//! their words for people ([`text`]), re-exported here.

pub mod access;
#[cfg(feature = "bench")]
pub mod bench;
pub mod client;
pub mod delivery;
pub mod http;
pub mod media;
pub mod memory;
pub mod metrics;
pub mod pipeline;
pub mod private;
pub mod registry;
pub mod replies;
pub mod reports;
pub mod rollout;
pub mod search;
pub mod server;
pub mod supervisor;
pub mod throttle;
pub mod work;

pub use clienthub_model::{
    appeal, calendar, clock, directory, event, inbound, legacy, normalize, refusal, text,
};
pub use clienthub_runtime as runtime;
pub use clienthub_store as store;
