//! Hot swap and rollback, under load; and a restart that keeps everything without recompiling.

use crate::support::*;
use clienthub_artifacts::fixtures;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn activate_v2_then_roll_back_to_v1() {
    let host = Host::start();
    let uploaded = host.upload(fixtures::ROUTER_V2).await;
    assert_eq!(uploaded.status, 201);
    host.activate("rules-router", "0.2.0").await;
    let by_v2 = host.appeal(&appeal_id(&host.telegram(&telegram_update(1, 1, "hi")).await)).await;
    assert_eq!(by_v2.decision.as_ref().unwrap().queue, "priority-desk");
    assert_eq!(stages(&by_v2)[2], "routed rules-router@0.2.0");

    let rolled =
        host.api.send("POST", "/api/plugins/rules-router/rollback", None).await.unwrap().json().unwrap();
    assert_eq!(rolled["active"], "0.1.1");
    let by_v1 = host.appeal(&appeal_id(&host.telegram(&telegram_update(2, 2, "hi")).await)).await;
    assert_eq!(by_v1.decision.as_ref().unwrap().queue, "general");
    assert_eq!(stages(&by_v1)[2], "routed rules-router@0.1.1");
    // Nothing earlier to roll back to now.
    assert_eq!(host.api.send("POST", "/api/plugins/rules-router/rollback", None).await.unwrap().status, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn hundred_swaps_under_load_lose_nothing_and_take_effect_at_once() {
    let host = Arc::new(Host::start());
    assert_eq!(host.upload(fixtures::ROUTER_V2).await.status, 201);
    let clock = Instant::now();
    let swapper = {
        let host = host.clone();
        tokio::spawn(async move {
            let mut swaps = Vec::new();
            for i in 0..100 {
                let version = if i % 2 == 0 { "0.2.0" } else { "0.1.1" };
                let at = clock.elapsed();
                host.activate("rules-router", version).await;
                swaps.push((at, version));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            swaps
        })
    };
    let semaphore = Arc::new(tokio::sync::Semaphore::new(32));
    let mut requests = Vec::new();
    for i in 0..2000 {
        let host = host.clone();
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        requests.push(tokio::spawn(async move {
            let body = json!({"tranid": format!("load-{i}"), "name": "Load", "phone": "+79160000000", "message": "hi"});
            let answer = host.hook_with_key("webform", "application/json", body.to_string().as_bytes()).await;
            drop(permit);
            (answer.status, answer.header("x-clienthub-appeal").map(str::to_string), clock.elapsed())
        }));
    }
    let mut acked_at = HashMap::new();
    let mut failures = 0;
    for request in requests {
        match request.await.unwrap() {
            (200, Some(id), at) => drop(acked_at.insert(id, at)),
            _ => failures += 1,
        }
    }
    let swaps = swapper.await.unwrap();
    assert_eq!(failures, 0);
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["appeals"], 2000);
    let appeals = host.all_appeals().await;
    assert_eq!(appeals.len(), 2000, "nothing lost");
    let routed: Vec<(Duration, String)> =
        appeals.iter().map(|a| (acked_at[a.id.as_str()], stages(a)[2].clone())).collect();
    assert!(routed.iter().all(|(_, s)| s.starts_with("routed rules-router@0.")), "{routed:?}");

    // From each activation to the first appeal routed by the new version.
    let mut first_appeal = Vec::new();
    for (i, (at, version)) in swaps.iter().enumerate() {
        let until = swaps.get(i + 1).map_or(Duration::MAX, |next| next.0);
        let by = format!("routed rules-router@{version}");
        if let Some(first) =
            routed.iter().filter(|(t, s)| *s == by && (*at..until).contains(t)).map(|(t, _)| *t).min()
        {
            first_appeal.push(first - *at);
        }
    }
    first_appeal.sort();
    assert!(!first_appeal.is_empty(), "appeals ran on the swapped versions");
    println!(
        "hot swap under load: 100 activations during 2,000 webhooks, 0 failed, 2000/2000 stored; \
         activation → first appeal on the new version: p50 {:?}, max {:?} ({} swaps with traffic between)",
        first_appeal[first_appeal.len() / 2],
        first_appeal.last().unwrap(),
        first_appeal.len()
    );
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
    assert_eq!(host.appeal(&id).await.decision.unwrap().queue, "priority-desk");
    assert_eq!(host.api.get_json("/api/directory").await.unwrap()["topics"][0]["id"], "refund");
    let unsigned = host.hook("telegram", &[], "application/json", &telegram_update(2, 2, "hi")).await;
    assert_eq!(unsigned.status, 401, "the config survived");
    let after = host.hook("telegram", &header, "application/json", &telegram_update(2, 2, "hi")).await;
    assert_eq!(host.appeal(&appeal_id(&after)).await.decision.unwrap().queue, "priority-desk");
    let plugins = host.api.get_json("/api/plugins/rules-router").await.unwrap();
    assert_eq!(plugins["versions"].as_array().unwrap().len(), 2);
}
