//! Hot swap and rollback, under load; and a restart that keeps everything without recompiling.

use crate::support::*;
use clienthub_artifacts::fixtures;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn activate_v2_then_roll_back_to_v1() {
    let host = Host::start();
    let uploaded = host.upload(fixtures::ROUTER_V2).await;
    assert_eq!(uploaded.status, 201);
    host.activate("rules-router", "0.2.0").await;
    let by_v2 = host.appeal(&appeal_id(&host.telegram(&telegram_update(1, 1, "hi")).await)).await;
    assert_eq!(by_v2["decision"]["queue"], "priority-desk");
    assert_eq!(stages(&by_v2)[2], "routed rules-router@0.2.0");

    let rolled =
        host.api.send("POST", "/api/plugins/rules-router/rollback", None).await.unwrap().json().unwrap();
    assert_eq!(rolled["active"], "0.1.0");
    let by_v1 = host.appeal(&appeal_id(&host.telegram(&telegram_update(2, 2, "hi")).await)).await;
    assert_eq!(by_v1["decision"]["queue"], "general");
    assert_eq!(stages(&by_v1)[2], "routed rules-router@0.1.0");
    // Nothing earlier to roll back to now.
    assert_eq!(host.api.send("POST", "/api/plugins/rules-router/rollback", None).await.unwrap().status, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn hundred_swaps_during_a_thousand_requests_lose_nothing() {
    let host = Arc::new(Host::start());
    assert_eq!(host.upload(fixtures::ROUTER_V2).await.status, 201);
    let swapper = {
        let host = host.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                let version = if i % 2 == 0 { "0.2.0" } else { "0.1.0" };
                host.activate("rules-router", version).await;
            }
        })
    };
    let semaphore = Arc::new(tokio::sync::Semaphore::new(64));
    let mut requests = Vec::new();
    for i in 0..1000 {
        let host = host.clone();
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        requests.push(tokio::spawn(async move {
            let body = json!({"tranid": format!("load-{i}"), "name": "Load", "phone": "+79160000000", "message": "hi"});
            let answer = host.hook("webform", &[], "application/json", body.to_string().as_bytes()).await;
            drop(permit);
            answer.status
        }));
    }
    let mut failures = 0;
    for request in requests {
        if request.await.unwrap() != 200 {
            failures += 1;
        }
    }
    swapper.await.unwrap();
    assert_eq!(failures, 0);
    let appeals = host.appeals("&channel=webform").await;
    assert_eq!(appeals.len(), 500, "first page of 500");
    let routed_by: std::collections::BTreeSet<String> =
        appeals.iter().map(|a| stages(a)[2].clone()).collect();
    assert!(routed_by.iter().all(|s| s.starts_with("routed rules-router@0.")), "{routed_by:?}");
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["appeals"], 1000);
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_everything_and_recompiles_nothing() {
    let host = Host::start();
    host.import_directory().await;
    assert_eq!(host.upload(fixtures::ROUTER_V2).await.status, 201);
    host.activate("rules-router", "0.2.0").await;
    host.api.send_json("PUT", "/api/plugins/telegram/config", &json!({"secret_token": "abc"})).await.unwrap();
    let header = [("x-telegram-bot-api-secret-token", "abc")];
    let before = host.hook("telegram", &header, "application/json", &telegram_update(1, 1, "hi")).await;
    let id = appeal_id(&before);

    let host = host.restart();
    let health = host.api.get_json("/healthz").await.unwrap();
    assert_eq!(health["plugins_compiled"], 0, "{health}");
    assert_eq!(health["plugins_loaded_from_cache"], 13, "{health}");
    assert_eq!(health["router"], "rules-router@0.2.0");
    assert_eq!(host.appeal(&id).await["decision"]["queue"], "priority-desk");
    assert_eq!(host.api.get_json("/api/directory").await.unwrap()["topics"][0]["id"], "refund");
    assert_eq!(host.telegram(&telegram_update(2, 2, "hi")).await.status, 401, "the config survived");
    let after = host.hook("telegram", &header, "application/json", &telegram_update(2, 2, "hi")).await;
    assert_eq!(host.appeal(&appeal_id(&after)).await["decision"]["queue"], "priority-desk");
    let plugins = host.api.get_json("/api/plugins/rules-router").await.unwrap();
    assert_eq!(plugins["versions"].as_array().unwrap().len(), 2);
}
