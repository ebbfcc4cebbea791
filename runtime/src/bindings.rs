//! Host-side bindings of the `clienthub:plugin` WIT package, one module per world. The
//! `channel` and `filter` worlds reuse the `router` world's import interfaces, so the host
//! implements each import once.
#![allow(missing_docs, reason = "generated code")]

/// The `router` world; its imports are shared by all worlds.
pub mod router {
    wasmtime::component::bindgen!({
        path: "../sdk/wit",
        world: "router",
        // A directory look-up without the `directory` capability fails the call (it has no
        // error to return).
        imports: { "clienthub:plugin/directory": trappable },
    });
}

/// The `filter` world.
pub mod filter {
    wasmtime::component::bindgen!({
        path: "../sdk/wit",
        world: "filter",
        with: {
            "clienthub:plugin/types": crate::bindings::router::clienthub::plugin::types,
            "clienthub:plugin/log": crate::bindings::router::clienthub::plugin::log,
            "clienthub:plugin/kv": crate::bindings::router::clienthub::plugin::kv,
            "clienthub:plugin/config": crate::bindings::router::clienthub::plugin::config,
            "clienthub:plugin/directory": crate::bindings::router::clienthub::plugin::directory,
            "clienthub:plugin/clock": crate::bindings::router::clienthub::plugin::clock,
            "clienthub:plugin/outbound-http": crate::bindings::router::clienthub::plugin::outbound_http,
        },
    });
}

/// The `channel` world.
pub mod channel {
    wasmtime::component::bindgen!({
        path: "../sdk/wit",
        world: "channel",
        with: {
            "clienthub:plugin/types": crate::bindings::router::clienthub::plugin::types,
            "clienthub:plugin/log": crate::bindings::router::clienthub::plugin::log,
            "clienthub:plugin/kv": crate::bindings::router::clienthub::plugin::kv,
            "clienthub:plugin/config": crate::bindings::router::clienthub::plugin::config,
            "clienthub:plugin/directory": crate::bindings::router::clienthub::plugin::directory,
            "clienthub:plugin/clock": crate::bindings::router::clienthub::plugin::clock,
            "clienthub:plugin/outbound-http": crate::bindings::router::clienthub::plugin::outbound_http,
        },
    });
}

/// The `extended-channel` world: a channel adapter that also renders replies and may be a CRM
/// connector (WIT 0.1.1).
pub mod extended {
    wasmtime::component::bindgen!({
        path: "../sdk/wit",
        world: "extended-channel",
        with: {
            "clienthub:plugin/types": crate::bindings::router::clienthub::plugin::types,
            "clienthub:plugin/log": crate::bindings::router::clienthub::plugin::log,
            "clienthub:plugin/kv": crate::bindings::router::clienthub::plugin::kv,
            "clienthub:plugin/config": crate::bindings::router::clienthub::plugin::config,
            "clienthub:plugin/directory": crate::bindings::router::clienthub::plugin::directory,
            "clienthub:plugin/clock": crate::bindings::router::clienthub::plugin::clock,
            "clienthub:plugin/outbound-http": crate::bindings::router::clienthub::plugin::outbound_http,
        },
    });
}

/// The `crm-channel` world (WIT 0.1.3, with `rich-channel`'s 0.1.2 exports): the host uses only
/// the exports added after 0.1.1 (`media-fetcher`, `survey-renderer`, `file-sender`,
/// `crm-sync`), looked up on an `extended-channel` instance that has them.
pub mod rich {
    wasmtime::component::bindgen!({
        path: "../sdk/wit",
        world: "crm-channel",
        with: {
            "clienthub:plugin/types": crate::bindings::router::clienthub::plugin::types,
            "clienthub:plugin/log": crate::bindings::router::clienthub::plugin::log,
            "clienthub:plugin/kv": crate::bindings::router::clienthub::plugin::kv,
            "clienthub:plugin/config": crate::bindings::router::clienthub::plugin::config,
            "clienthub:plugin/directory": crate::bindings::router::clienthub::plugin::directory,
            "clienthub:plugin/clock": crate::bindings::router::clienthub::plugin::clock,
            "clienthub:plugin/outbound-http": crate::bindings::router::clienthub::plugin::outbound_http,
        },
    });
}

pub use router::clienthub::plugin::types;
