//! Test fixture: a component whose manifest says `router` but which exports the filter world.
#![allow(unsafe_code, reason = "the export macro of the generated bindings")]

/// The impostor.
pub struct WrongWorld;

#[cfg(target_arch = "wasm32")]
impl clienthub_sdk::bindings::filter::exports::clienthub::plugin::appeal_filter::Guest for WrongWorld {
    fn get_manifest() -> clienthub_sdk::Manifest {
        clienthub_sdk::manifest::build(clienthub_sdk::PluginKind::Router, "wrong-world", "0.1.0", "{}")
    }
    fn check(_: clienthub_sdk::Appeal) -> Result<clienthub_sdk::Verdict, String> {
        Ok(clienthub_sdk::Verdict::Keep)
    }
}

#[cfg(target_arch = "wasm32")]
clienthub_sdk::bindings::filter::export_filter_world!(WrongWorld with_types_in clienthub_sdk::bindings::filter);
