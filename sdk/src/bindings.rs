//! Generated bindings of the `clienthub:plugin` WIT package, one module per world.
//!
//! Plugin authors rarely touch this module: the crate root re-exports the types, the host
//! services have safe wrappers ([`crate::kv`], [`crate::config`], …) and the `export_*!`
//! macros wire a plugin to its world.
#![allow(missing_docs, unsafe_code, reason = "generated code")]

/// The host services (imports) and the shared types.
pub mod host {
    wit_bindgen::generate!({
        path: "wit",
        world: "host",
        additional_derives: [PartialEq],
    });
}

/// The `crm-channel` world: a channel adapter that also renders replies, may be a CRM
/// connector, fetches its customers' files and asks them questions (0.1.2), and keeps CRM
/// records in step with their appeals (0.1.3). SDK channels always target it; an adapter that
/// does none of these keeps the [`crate::Channel`] defaults.
pub mod channel {
    wit_bindgen::generate!({
        path: "wit",
        world: "crm-channel",
        with: {
            "clienthub:plugin/types@0.1.4": crate::bindings::host::clienthub::plugin::types,
            "clienthub:plugin/log@0.1.4": crate::bindings::host::clienthub::plugin::log,
            "clienthub:plugin/kv@0.1.4": crate::bindings::host::clienthub::plugin::kv,
            "clienthub:plugin/config@0.1.4": crate::bindings::host::clienthub::plugin::config,
            "clienthub:plugin/directory@0.1.4": crate::bindings::host::clienthub::plugin::directory,
            "clienthub:plugin/clock@0.1.4": crate::bindings::host::clienthub::plugin::clock,
            "clienthub:plugin/outbound-http@0.1.4": crate::bindings::host::clienthub::plugin::outbound_http,
        },
        pub_export_macro: true,
        export_macro_name: "export_channel_world",
        default_bindings_module: "clienthub_sdk::bindings::channel",
    });
}

/// The `filter` world: a link of the filter chain.
pub mod filter {
    wit_bindgen::generate!({
        path: "wit",
        world: "filter",
        with: {
            "clienthub:plugin/types@0.1.4": crate::bindings::host::clienthub::plugin::types,
            "clienthub:plugin/log@0.1.4": crate::bindings::host::clienthub::plugin::log,
            "clienthub:plugin/kv@0.1.4": crate::bindings::host::clienthub::plugin::kv,
            "clienthub:plugin/config@0.1.4": crate::bindings::host::clienthub::plugin::config,
            "clienthub:plugin/directory@0.1.4": crate::bindings::host::clienthub::plugin::directory,
            "clienthub:plugin/clock@0.1.4": crate::bindings::host::clienthub::plugin::clock,
            "clienthub:plugin/outbound-http@0.1.4": crate::bindings::host::clienthub::plugin::outbound_http,
        },
        pub_export_macro: true,
        export_macro_name: "export_filter_world",
        default_bindings_module: "clienthub_sdk::bindings::filter",
    });
}

/// The `router` world: a router.
pub mod router {
    wit_bindgen::generate!({
        path: "wit",
        world: "router",
        with: {
            "clienthub:plugin/types@0.1.4": crate::bindings::host::clienthub::plugin::types,
            "clienthub:plugin/log@0.1.4": crate::bindings::host::clienthub::plugin::log,
            "clienthub:plugin/kv@0.1.4": crate::bindings::host::clienthub::plugin::kv,
            "clienthub:plugin/config@0.1.4": crate::bindings::host::clienthub::plugin::config,
            "clienthub:plugin/directory@0.1.4": crate::bindings::host::clienthub::plugin::directory,
            "clienthub:plugin/clock@0.1.4": crate::bindings::host::clienthub::plugin::clock,
            "clienthub:plugin/outbound-http@0.1.4": crate::bindings::host::clienthub::plugin::outbound_http,
        },
        pub_export_macro: true,
        export_macro_name: "export_router_world",
        default_bindings_module: "clienthub_sdk::bindings::router",
    });
}
