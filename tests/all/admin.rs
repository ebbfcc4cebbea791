//! Uploads are validated, configs checked against schemas, the directory against itself.

use crate::support::*;
use clienthub_artifacts::fixtures;
use serde_json::json;

fn error_of(answer: &clienthub::client::Answer) -> String {
    let value: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    value["error"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_uploads_are_refused_with_the_reason() {
    let host = Host::start();
    let upload = |bytes: Vec<u8>| host.api.send("POST", "/api/plugins", Some(("application/wasm", bytes)));

    let garbage = upload(b"definitely not wasm".to_vec()).await.unwrap();
    assert_eq!(garbage.status, 400);
    assert!(error_of(&garbage).contains("not a WebAssembly component"));

    let core_module = upload(b"\0asm\x01\0\0\0".to_vec()).await.unwrap();
    assert_eq!(core_module.status, 400);
    assert!(error_of(&core_module).contains("core WebAssembly module"));

    let wrong_world = host.upload(fixtures::WRONG_WORLD).await;
    assert_eq!(wrong_world.status, 400);
    assert!(
        error_of(&wrong_world)
            .contains("manifest says the plugin is a router, but the component exports the filter world")
    );

    let future = host.upload(fixtures::FUTURE_WIT).await;
    assert_eq!(future.status, 400);
    assert!(error_of(&future).contains("clienthub:plugin@9.0.0"), "{}", error_of(&future));

    assert_eq!(host.anonymous.send("POST", "/api/plugins", None).await.unwrap().status, 401);
    let list = host.api.get_json("/api/plugins").await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 13, "only the first-party plugins");
}

#[tokio::test(flavor = "multi_thread")]
async fn config_is_validated_against_the_plugin_schema() {
    let host = Host::start();
    let bad = host
        .api
        .send_json("PUT", "/api/plugins/contest-filter/config", &json!({"hashtags": ["no-hash"]}))
        .await;
    let message = bad.unwrap_err().to_string();
    assert!(message.contains("HTTP 400") && message.contains("/hashtags/0"), "{message}");
    let unknown = host.api.send_json("PUT", "/api/plugins/contest-filter/config", &json!({"tags": []})).await;
    assert!(unknown.unwrap_err().to_string().contains("HTTP 400"));
    host.api
        .send_json("PUT", "/api/plugins/contest-filter/config", &json!({"hashtags": ["#акция"]}))
        .await
        .unwrap();
    let answer = host.telegram(&telegram_update(1, 1, "Участвую в #Акция")).await;
    assert_eq!(host.appeal(&appeal_id(&answer)).await.status, Status::Dropped);
    let plugin = host.api.get_json("/api/plugins/contest-filter").await.unwrap();
    assert_eq!(plugin["config"], json!({"hashtags": ["#акция"]}));
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_import_checks_references_and_exports_what_it_stored() {
    let host = Host::start();
    let broken = json!({
        "departments": [{"id": "returns"}],
        "employees": [{"id": "e1", "department": "sales"}],
        "topics": [{"id": "t1", "department": "returns", "keywords": ["x"]}]
    });
    let answer = host.api.send_json("PUT", "/api/directory", &broken).await.unwrap_err().to_string();
    assert!(answer.contains("unknown department 'sales'"), "{answer}");
    host.import_directory().await;
    let exported = host.api.get_json("/api/directory").await.unwrap();
    assert_eq!(exported, sample_directory_with_defaults());
}

fn sample_directory_with_defaults() -> serde_json::Value {
    let mut dir = sample_directory();
    for e in dir["employees"].as_array_mut().unwrap() {
        e["active"] = json!(true);
    }
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_channel_stops_answering_and_comes_back() {
    let host = Host::start();
    let form = b"Name=A&tranid=1";
    let urlencoded = "application/x-www-form-urlencoded";
    let key = host.api_key("webform").await;
    let key = [(key[0].0, key[0].1.as_str())];
    host.api.send("POST", "/api/plugins/webform/deactivate", None).await.unwrap().json().unwrap();
    assert_eq!(host.hook("webform", &key, urlencoded, form).await.status, 404);
    let health = host.api.get_json("/healthz").await.unwrap();
    assert_eq!(
        health["channels"],
        json!([
            "bitrix24", "email", "jivo", "mango", "ok", "reviews", "telegram", "vk", "whatsapp", "zadarma"
        ])
    );
    host.activate("webform", "0.1.3").await;
    assert_eq!(host.hook("webform", &key, urlencoded, form).await.status, 200, "the same key as before");
    let plugin = host.api.get_json("/api/plugins/webform").await.unwrap();
    let log: Vec<&str> = plugin["log"].as_array().unwrap().iter().map(|e| e[1].as_str().unwrap()).collect();
    assert_eq!(
        log,
        ["activated 0.1.3", "secrets generated: api_key", "deactivated 0.1.3", "activated 0.1.3"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_admin_input_gets_a_clear_answer_and_the_console_refuses_framing() {
    let host = Host::builder().clock().start();
    let jump = serde_json::to_vec(&json!({ "minutes": u64::MAX })).unwrap();
    let refused =
        host.api.send("POST", "/api/clock/advance", Some(("application/json", jump))).await.unwrap();
    assert_eq!(refused.status, 400, "{}", String::from_utf8_lossy(&refused.body));
    let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert!(body["error"].as_str().unwrap().contains("ten years"), "{body}");
    let page = host.anonymous.send("GET", "/console/", None).await.unwrap();
    let header = |name: &str| page.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let policy = header("content-security-policy").unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    // Nothing loads from a customer-supplied URL by itself (no tracking pixels).
    assert!(policy.contains("img-src 'self' data:;") && policy.contains("media-src 'self';"), "{policy}");
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
}
