//! Safe rollout through the real host: a candidate router in shadow on live traffic (recorded,
//! never applied), a replay over stored appeals (API and CLI), and a bad release rolled back
//! automatically after its first failures.

use crate::support::*;
use clienthub_artifacts::fixtures;
use serde_json::json;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn a_shadow_router_is_compared_on_live_traffic_and_never_applied() {
    let host = Host::start();
    host.import_directory().await;
    assert_eq!(host.upload(fixtures::ROUTER_V2).await.status, 201);
    let started = host
        .api
        .send_json("POST", "/api/plugins/rules-router/shadow", &json!({"version": "0.2.0"}))
        .await
        .unwrap();
    assert_eq!((started["active"].as_str(), started["shadow"].as_str()), (Some("0.1.1"), Some("0.2.0")));
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(appeal_id(&host.telegram(&telegram_update(7100 + n, 710 + n, "Хочу вернуть товар")).await));
    }
    for id in &ids {
        let appeal = host.appeal(id).await;
        assert_eq!(
            appeal.decision.as_ref().unwrap().queue,
            "returns",
            "the shadow's decision is not applied"
        );
    }
    let report = host.api.get_json("/api/plugins/rules-router/shadow").await.unwrap();
    assert_eq!((report["compared"].as_u64(), report["differed"].as_u64()), (Some(3), Some(3)), "{report}");
    let example = &report["examples"][0];
    assert!(example["active"].as_str().unwrap().starts_with("queue returns"), "{example}");
    assert!(example["shadow"].as_str().unwrap().starts_with("queue priority-desk"), "{example}");

    // A contest comment is dropped before the router: nothing to compare.
    host.telegram(&fixture("plugins/telegram/fixtures/photo.json")).await;
    let report = host.api.get_json("/api/plugins/rules-router/shadow").await.unwrap();
    assert_eq!(report["compared"], 3);
    let stopped =
        host.api.send("DELETE", "/api/plugins/rules-router/shadow", None).await.unwrap().json().unwrap();
    assert!(stopped["shadow"].is_null());
    assert_eq!(host.api.send("GET", "/api/plugins/rules-router/shadow", None).await.unwrap().status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_pages_through_stored_appeals_and_the_cli_sums_it_up() {
    let host = Host::start();
    host.import_directory().await;
    for n in 0..5 {
        host.telegram(&telegram_update(7200 + n, 720 + n, "Хочу вернуть товар")).await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(host.upload(fixtures::ROUTER_V2).await.status, 201);
    // A time range: the second to the fourth appeal by arrival.
    let mut times: Vec<u64> = host.appeals("").await.iter().map(|a| a.received_at).collect();
    times.sort();
    let range = json!({"version": "0.2.0", "since": times[1], "until": times[3]});
    let ranged = host.api.send_json("POST", "/api/plugins/rules-router/replay", &range).await.unwrap();
    assert_eq!(ranged["compared"], 3, "{ranged}");
    assert!(
        ranged["differences"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| (times[1]..=times[3]).contains(&d["at"].as_u64().unwrap()))
    );
    let first = host
        .api
        .send_json("POST", "/api/plugins/rules-router/replay", &json!({"version": "0.2.0", "limit": 3}))
        .await
        .unwrap();
    assert_eq!((first["compared"].as_u64(), first["differed"].as_u64()), (Some(3), Some(3)), "{first}");
    let next = first["next"].as_str().unwrap();
    let second = host
        .api
        .send_json(
            "POST",
            "/api/plugins/rules-router/replay",
            &json!({"version": "0.2.0", "limit": 3, "before": next}),
        )
        .await
        .unwrap();
    assert_eq!(second["compared"], 2);
    assert!(second["next"].is_null());
    // The active version replayed over its own work changes nothing.
    let same = host
        .api
        .send_json("POST", "/api/plugins/rules-router/replay", &json!({"version": "0.1.1"}))
        .await
        .unwrap();
    assert_eq!((same["compared"].as_u64(), same["differed"].as_u64()), (Some(5), Some(0)), "{same}");

    let output = Command::new(env!("CARGO_BIN_EXE_clienthub"))
        .args([
            "plugin",
            "replay",
            "rules-router",
            "0.2.0",
            "--last",
            "5",
            "--server",
            &host.base,
            "--token",
            TOKEN,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("rules-router@0.2.0: compared 5, differed 5"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("] 5/5"), "a progress bar");

    let replay_between = |since: &str, until: &str| {
        let args = ["plugin", "replay", "rules-router", "0.2.0", "--since", since, "--until", until];
        Command::new(env!("CARGO_BIN_EXE_clienthub"))
            .args(args)
            .args(["--server", &host.base, "--token", TOKEN])
            .output()
            .unwrap()
    };
    let all = replay_between("2020-01-01T00:00:00Z", "2100-01-01T03:00:00+03:00");
    assert!(String::from_utf8_lossy(&all.stdout).starts_with("rules-router@0.2.0: compared 5,"));
    assert!(String::from_utf8_lossy(&all.stderr).contains("5 appeals"), "a count for a range");
    let none = replay_between("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z");
    assert!(String::from_utf8_lossy(&none.stdout).starts_with("rules-router@0.2.0: compared 0,"));
    let bad = replay_between("yesterday", "2020-01-02T00:00:00Z");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an RFC 3339 time"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_that_keeps_failing_is_rolled_back_automatically() {
    let host = Host::start();
    assert_eq!(host.upload(fixtures::BROKEN_ROUTER).await.status, 201);
    let threshold = json!({"window": 10, "min_errors": 3, "error_rate": 0.5});
    let activated = host
        .api
        .send_json(
            "POST",
            "/api/plugins/rules-router/activate",
            &json!({"version": "0.9.0", "auto_rollback": threshold}),
        )
        .await
        .unwrap();
    assert_eq!(activated["active"], "0.9.0");
    for n in 0..3 {
        let appeal =
            host.appeal(&appeal_id(&host.telegram(&telegram_update(7300 + n, 730, "Вопрос")).await)).await;
        assert_eq!(appeal.status.name(), "triage", "kept, with the error");
    }
    let plugin = host.api.get_json("/api/plugins/rules-router").await.unwrap();
    let plugin = if plugin.is_array() { plugin[0].clone() } else { plugin };
    assert_eq!(plugin["active"], "0.1.1", "{plugin}");
    let log = plugin["log"].as_array().unwrap().last().unwrap()[1].as_str().unwrap().to_string();
    assert!(log.starts_with("automatically rolled back: 3 of 3 calls failed (last: trapped"), "{log}");
    assert!(log.ends_with("from 0.9.0 to 0.1.1"), "{log}");
    let after = host.appeal(&appeal_id(&host.telegram(&telegram_update(7310, 731, "Вопрос")).await)).await;
    assert_eq!(after.status.name(), "routed");
}

#[tokio::test(flavor = "multi_thread")]
async fn triage_appeals_are_reprocessed_after_a_fix_one_by_one_or_in_bulk() {
    let host = Host::start();
    assert_eq!(host.upload(fixtures::TRAP_ROUTER).await.status, 201);
    host.activate("trap-router", "0.1.0").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(appeal_id(&host.telegram(&telegram_update(7400 + n, 740 + n, "Вопрос")).await));
    }
    let again = host.api.send("POST", &format!("/api/appeals/{}/reprocess", ids[0]), None).await.unwrap();
    let still: Appeal = serde_json::from_value(again.json().unwrap()).unwrap();
    assert_eq!(still.status, Status::Triage, "the router still traps");
    assert_eq!(last_event(&still).stage(), "triage");

    host.activate("rules-router", "0.1.1").await; // The fix: the working router again.
    let fixed: Appeal = serde_json::from_value(
        host.api
            .send("POST", &format!("/api/appeals/{}/reprocess", ids[0]), None)
            .await
            .unwrap()
            .json()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(fixed.status, Status::Routed);
    assert!(stages(&fixed).contains(&"reprocessed -".to_string()));
    let bulk = host.api.send_json("POST", "/api/appeals/reprocess", &json!({})).await.unwrap();
    assert_eq!(bulk, json!({"routed": 2}));
    assert_eq!(
        host.api.send("POST", &format!("/api/appeals/{}/reprocess", ids[1]), None).await.unwrap().status,
        409
    );

    // A payload its adapter could not read: VK asks for confirmation (verified by the
    // community's id) before the string to answer is configured.
    host.api.send_json("PUT", "/api/plugins/vk/config", &json!({"group_id": 218765432})).await.unwrap();
    let unread =
        host.hook("vk", &[], "application/json", &fixture("plugins/vk/fixtures/confirmation.json")).await;
    let unread = appeal_id(&unread);
    let reprocess = async || -> Appeal {
        let answer = host.api.send("POST", &format!("/api/appeals/{unread}/reprocess"), None).await.unwrap();
        serde_json::from_value(answer.json().unwrap()).unwrap()
    };
    let refused = reprocess().await;
    assert_eq!((refused.status, last_event(&refused).stage()), (Status::Triage, "reprocess_failed"));
    host.api
        .send_json(
            "PUT",
            "/api/plugins/vk/config",
            &json!({"group_id": 218765432, "confirmation": "a1b2c3d4"}),
        )
        .await
        .unwrap();
    let read = reprocess().await;
    assert_eq!(read.status, Status::Resolved);
    let reread = last_event(&read);
    assert_eq!((reread.stage(), reread.plugin.as_deref()), ("reprocessed", Some("vk@0.2.4")), "{read:?}");
    // A confirmation handshake becomes no appeal: the re-read names none.
    assert!(
        matches!(reread.event, clienthub::event::Event::Reprocessed { by: None, ref appeals } if appeals.is_empty()),
        "{reread:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_requests_are_purged_after_their_retention_and_the_appeals_stay() {
    let host = Host::builder().args(&["--clock-control", "--raw-retention-days", "30"]).start();
    // An update the adapter cannot read: reprocessing it reads its raw request again.
    let secret = host.telegram_secret().await;
    let unreadable = async |n: u32| {
        let body = format!("{{\"update_id\": {n}, \"message\": {{");
        let header = [("x-telegram-bot-api-secret-token", secret.as_str())];
        appeal_id(&host.hook("telegram", &header, "application/json", body.as_bytes()).await)
    };
    let reprocess =
        async |id: &str| host.api.send("POST", &format!("/api/appeals/{id}/reprocess"), None).await.unwrap();
    let old = unreadable(7600).await;
    assert_eq!(reprocess(&old).await.status, 200, "its raw request is there");
    host.advance_minutes(31 * 24 * 60).await;
    let recent = unreadable(7601).await;
    let gone = eventually("the old raw request is purged", async || {
        let answer = reprocess(&old).await;
        (answer.status == 404).then_some(answer)
    })
    .await;
    assert!(String::from_utf8_lossy(&gone.body).contains("is gone"));
    assert_eq!(host.appeal(&old).await.status, Status::Triage, "the appeal stays");
    assert_eq!(reprocess(&recent).await.status, 200, "a recent raw request is kept");
}
