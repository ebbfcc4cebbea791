//! Test fixture: a component targeting `clienthub:plugin@9.0.0`.
#![allow(missing_docs, unsafe_code, reason = "generated bindings")]

wit_bindgen::generate!({ path: "wit", world: "router" });

struct Future;

impl exports::clienthub::plugin::appeal_router::Guest for Future {
    fn route(text: String) -> String {
        text
    }
}

export!(Future);
