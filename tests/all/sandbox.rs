//! Misbehaving plugins fail their call only: the appeal goes to triage, the host serves on;
//! one plugin cannot read another's key-value namespace.

use crate::support::*;
use clienthub_artifacts::fixtures;

async fn with_router(host: &Host, path: &str, name: &str) {
    assert_eq!(host.upload(path).await.status, 201);
    host.activate(name, "0.1.0").await;
}

async fn triage_error(host: &Host, update: i64) -> String {
    let answer = host.telegram(&telegram_update(update, update, "hello")).await;
    assert_eq!(answer.status, 200);
    let appeal = host.appeal(&appeal_id(&answer)).await;
    assert_eq!(appeal.status.name(), "triage", "{appeal:?}");
    appeal.error.as_deref().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn trap_timeout_and_memory_hog_go_to_triage_and_the_host_serves_on() {
    let host = Host::start();
    with_router(&host, fixtures::TRAP_ROUTER, "trap-router").await;
    let error = triage_error(&host, 1).await;
    assert!(error.contains("trap-router refuses appeal"), "the panic message is captured: {error}");

    with_router(&host, fixtures::LOOP_ROUTER, "loop-router").await;
    let error = triage_error(&host, 2).await;
    assert!(error.contains("timed out"), "{error}");

    with_router(&host, fixtures::HOG_ROUTER, "hog-router").await;
    let error = triage_error(&host, 3).await;
    assert!(error.contains("out of memory"), "{error}");

    // The host still serves, and a good router works again: rolling rules-router back (it was
    // replaced by the first fixture) makes it the one router.
    let back =
        host.api.send("POST", "/api/plugins/rules-router/rollback", None).await.unwrap().json().unwrap();
    assert_eq!(back["active"], "0.1.1");
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["router"], "rules-router@0.1.1");
    let hog = host.api.get_json("/api/plugins/hog-router").await.unwrap();
    assert_eq!(hog["active"], serde_json::Value::Null, "replaced by the rollback");
    let answer = host.telegram(&telegram_update(4, 4, "hello")).await;
    assert_eq!(host.appeal(&appeal_id(&answer)).await.status, Status::Routed);
    assert_eq!(host.appeals("&status=triage").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_look_up_without_the_capability_fails_the_call_and_says_why() {
    let host = Host::start();
    with_router(&host, fixtures::CHAOS_ROUTER, "chaos-router").await;
    let answer = host.telegram(&telegram_update(11, 11, "#directory")).await;
    let appeal = host.appeal(&appeal_id(&answer)).await;
    assert_eq!(appeal.status.name(), "triage", "not routed on an empty directory: {appeal:?}");
    let error = appeal.error.unwrap_or_default();
    assert!(error.contains("does not ask for the directory capability"), "{error}");
    let plugin = host.api.get_json("/api/plugins/chaos-router").await.unwrap();
    assert_eq!(plugin["calls"]["0.1.0"]["errors"], 1, "counted in the plugin's errors: {plugin}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_cannot_read_another_plugins_keys() {
    let host = Host::start();
    for path in [fixtures::KV_PROBE_A, fixtures::KV_PROBE_B] {
        assert_eq!(host.upload(path).await.status, 201);
    }
    host.activate("kv-probe-a", "0.1.0").await;
    host.activate("kv-probe-b", "0.1.0").await;
    let first = host.telegram(&telegram_update(1, 1, "alpha")).await;
    let second = host.telegram(&telegram_update(2, 2, "beta")).await;
    assert_eq!(host.appeal(&appeal_id(&first)).await.tags, ["kv-probe-a:none", "kv-probe-b:none"]);
    // -a sees what it wrote; -b, reading the same key name, sees nothing of -a's.
    assert_eq!(host.appeal(&appeal_id(&second)).await.tags, ["kv-probe-a:alpha", "kv-probe-b:none"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_http_reaches_allowed_hosts_only_and_waiting_is_not_plugin_time() {
    let lookup = crate::platform::Platform::start(vec![], serde_json::json!({"queue": "vip"})).await;
    let host = Host::start();
    with_router(&host, fixtures::LOOKUP_ROUTER, "lookup-router").await;
    let config = serde_json::json!({"lookup_url": format!("{}/lookup", lookup.base)});
    host.api.send_json("PUT", "/api/plugins/lookup-router/config", &config).await.unwrap();
    // The manifest's `127.0.0.1` is HTTPS on 443; the stand-in's plain-HTTP port needs the admin.
    let hosts = serde_json::json!({"hosts": [lookup.base]});
    host.api.send_json("PUT", "/api/plugins/lookup-router/outbound-hosts", &hosts).await.unwrap();
    // The lookup answers after 800 ms, past the plugin's 500 ms deadline: the wait is the
    // host's, so the call still succeeds.
    lookup.slow_down(std::time::Duration::from_millis(800));
    let appeal = host.appeal(&appeal_id(&host.telegram(&telegram_update(9501, 1, "VIP?")).await)).await;
    assert_eq!(appeal.status.name(), "routed", "{appeal:?}");
    assert_eq!(appeal.decision.as_ref().unwrap().queue, "vip");
    let call = &lookup.received()[0];
    assert_eq!((call.method.as_str(), call.path.as_str()), ("POST", "/lookup"));
    assert_eq!(call.json()["text"], "VIP?");

    // `localhost` is not the manifest's `127.0.0.1`: refused before any connection.
    let elsewhere = serde_json::json!({"lookup_url": format!("http://localhost:{}/lookup", lookup.authority.rsplit(':').next().unwrap())});
    host.api.send_json("PUT", "/api/plugins/lookup-router/config", &elsewhere).await.unwrap();
    let refused = host.appeal(&appeal_id(&host.telegram(&telegram_update(9502, 2, "VIP?")).await)).await;
    assert_eq!(refused.status.name(), "triage");
    assert!(refused.error.as_deref().unwrap().contains("refused: http://localhost:"), "{refused:?}");
    assert_eq!(lookup.received().len(), 1);
}
