//! Roles through the real host: every API endpoint refuses a missing or wrong token; a viewer
//! reads, an operator also acts on appeals, only an admin manages plugins, the directory and
//! tokens; channel secrets are shown to admins only; a revoked token stops working.

use crate::support::*;
use clienthub::client::Client;
use serde_json::json;

async fn issue(host: &Host, role: &str) -> (Client, String) {
    let issued = host
        .api
        .send_json("POST", "/api/tokens", &json!({"role": role, "name": format!("{role} Анна")}))
        .await
        .unwrap();
    let token = issued["token"].as_str().unwrap().to_string();
    (Client::new(&host.base, Some(token)), issued["issued"]["id"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_read_operators_act_admins_manage_and_secrets_stay_with_admins() {
    let host = Host::start();
    host.api
        .send_json("PUT", "/api/plugins/telegram/config", &json!({"bot_token": "123456:SECRET-bot-token"}))
        .await
        .unwrap();
    let id = appeal_id(&host.telegram(&telegram_update(7500, 750, "Вопрос")).await);
    let (viewer, viewer_id) = issue(&host, "viewer").await;
    let (operator, _) = issue(&host, "operator").await;
    let wrong = Client::new(&host.base, Some("cht_viewer_guess".into()));

    for path in ["/api/appeals", "/api/plugins", "/api/directory", "/api/tokens", "/api/reports/appeals"] {
        assert_eq!(
            host.anonymous.send("GET", path, None).await.unwrap().status,
            401,
            "{path} without a token"
        );
        assert_eq!(wrong.send("GET", path, None).await.unwrap().status, 401, "{path} with a wrong token");
    }
    let reply = json!({"text": "Ответ"});
    let reply_path = format!("/api/appeals/{id}/replies");
    assert_eq!(viewer.send("GET", &format!("/api/appeals/{id}"), None).await.unwrap().status, 200);
    assert_eq!(viewer.send("GET", "/api/reports/appeals", None).await.unwrap().status, 200);
    let refused = viewer
        .send("POST", &reply_path, Some(("application/json", reply.to_string().into_bytes())))
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    assert!(String::from_utf8_lossy(&refused.body).contains("needs the operator role"));
    let accepted = operator
        .send("POST", &reply_path, Some(("application/json", reply.to_string().into_bytes())))
        .await
        .unwrap();
    assert_eq!(accepted.status, 202);
    assert_eq!(operator.send("POST", &format!("/api/appeals/{id}/resolve"), None).await.unwrap().status, 200);
    let directory =
        operator.send("PUT", "/api/directory", Some(("application/json", b"{}".to_vec()))).await.unwrap();
    assert_eq!(directory.status, 403);
    assert_eq!(operator.send("POST", "/api/plugins/telegram/rollback", None).await.unwrap().status, 403);
    assert_eq!(operator.send("GET", "/api/tokens", None).await.unwrap().status, 403);

    // A viewer sees no plugins at all; a supervisor sees them without their secrets.
    assert_eq!(viewer.send("GET", "/api/plugins/telegram", None).await.unwrap().status, 403);
    let (supervisor, _) = issue(&host, "supervisor").await;
    let seen_by_supervisor = supervisor.get_json("/api/plugins/telegram").await.unwrap();
    assert_eq!(seen_by_supervisor["config"], "(admins only)");
    assert!(!seen_by_supervisor.to_string().contains("SECRET"));
    let seen_by_admin = host.api.get_json("/api/plugins/telegram").await.unwrap();
    assert_eq!(seen_by_admin["config"]["bot_token"], "123456:SECRET-bot-token");

    let listed = host.api.get_json("/api/tokens").await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert!(!listed.to_string().contains("cht_"), "tokens are never listed");
    host.api.send("DELETE", &format!("/api/tokens/{viewer_id}"), None).await.unwrap().json().unwrap();
    assert_eq!(viewer.send("GET", "/api/appeals", None).await.unwrap().status, 401, "revoked");
    // A token that does not exist: a plain 404, and the host carries on.
    let unknown = host.api.send("DELETE", "/api/tokens/0123456789ab", None).await.unwrap();
    assert_eq!(unknown.status, 404);
    let body: serde_json::Value = serde_json::from_slice(&unknown.body).unwrap();
    assert_eq!(body["error"], "no token 0123456789ab");
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["status"], "ok");
}

/// Every `/api` operation `docs/openapi.yaml` lists, as (method, path with sample ids).
fn api_operations() -> Vec<(String, String)> {
    let spec = String::from_utf8(fixture("docs/openapi.yaml")).unwrap();
    let mut operations = Vec::new();
    let mut path = None;
    for line in spec.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let (Some(p), Some(method)) =
            (&path, line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')))
            && ["get", "post", "put", "delete"].contains(&method)
            && p.starts_with("/api/")
        {
            let sample: Vec<&str> =
                p.split('/').map(|s| if s.starts_with('{') { "01SAMPLE" } else { s }).collect();
            operations.push((method.to_uppercase(), sample.join("/")));
        }
    }
    operations
}

#[tokio::test(flavor = "multi_thread")]
async fn every_api_operation_refuses_a_missing_or_wrong_token() {
    let host = Host::start();
    let operations = api_operations();
    assert!(operations.len() >= 25, "the spec lists the API: {operations:?}");
    let wrong = Client::new(&host.base, Some(format!("{TOKEN}x")));
    // Signing in and accepting an invitation authenticate by their body, signing out only
    // clears a cookie.
    let session = |method: &str, path: &str| {
        (path == "/api/session" && method != "GET") || path == "/api/invitations/accept"
    };
    for (method, path) in operations.iter().filter(|(m, p)| !session(m, p)) {
        for (who, client) in [("no token", &host.anonymous), ("a wrong token", &wrong)] {
            let body = Some(("application/json", b"{}".to_vec()));
            let answer = client.send(method, path, body).await.unwrap();
            assert_eq!(answer.status, 401, "{method} {path} with {who}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_uploads_over_the_cap_are_refused() {
    let host = Host::start();
    let mut big = std::fs::read(clienthub_artifacts::fixtures::TRAP_ROUTER).unwrap();
    big.resize(clienthub::registry::MAX_PLUGIN_BYTES + 1, 0);
    let refused = host.api.send("POST", "/api/plugins", Some(("application/wasm", big))).await.unwrap();
    assert_eq!(refused.status, 400, "{}", String::from_utf8_lossy(&refused.body));
    assert!(String::from_utf8_lossy(&refused.body).contains("the limit is"));
    let huge = vec![0u8; 2 * clienthub::registry::MAX_PLUGIN_BYTES + 1];
    // Refused before the body is read: a 413, or the connection closed while still sending.
    match host.api.send("POST", "/api/plugins", Some(("application/wasm", huge))).await {
        Ok(refused) => assert_eq!(refused.status, 413, "not even read past the cap"),
        Err(e) => assert!(format!("{e:#}").contains("connection"), "{e:#}"),
    }
    assert_eq!(host.api.get_json("/api/plugins").await.unwrap().as_array().unwrap().len(), 13);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_or_channel_secret_reaches_the_logs() {
    use hmac::Mac;
    let temp = tempfile::tempdir().unwrap();
    let log = temp.path().join("host.log");
    let host = Host::builder().log(&log, "debug").start();
    let api =
        crate::platform::Platform::start(vec![], json!({"ok": true, "result": {"message_id": 1}})).await;
    let secrets = ["tg-hook-secret-5e1d", "987654:BOT-token-9a8b", "meta-app-secret-77c2", "vk-secret-31f0"];
    let telegram = json!({"secret_token": secrets[0], "bot_token": secrets[1], "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/telegram/config", &telegram).await.unwrap();
    let hosts = json!({"hosts": [api.base]});
    host.api.send_json("PUT", "/api/plugins/telegram/outbound-hosts", &hosts).await.unwrap();
    host.api
        .send_json("PUT", "/api/plugins/whatsapp/config", &json!({"app_secret": secrets[2]}))
        .await
        .unwrap();
    host.api.send_json("PUT", "/api/plugins/vk/config", &json!({"secret": secrets[3]})).await.unwrap();
    let issued = json!({"role": "operator", "name": "Ольга"});
    let issued = host.api.send_json("POST", "/api/tokens", &issued).await.unwrap();
    let operator_token = issued["token"].as_str().unwrap().to_string();
    let operator = Client::new(&host.base, Some(operator_token.clone()));

    // Accepted and refused webhooks, a reply that uses the bot token, bad logins.
    let update = telegram_update(8800, 880, "Где заказ?");
    assert_eq!(
        host.hook("telegram", &[("x-telegram-bot-api-secret-token", "guess")], "application/json", &update)
            .await
            .status,
        401
    );
    let answer = host
        .hook("telegram", &[("x-telegram-bot-api-secret-token", secrets[0])], "application/json", &update)
        .await;
    let id = appeal_id(&answer);
    let reply = json!({"text": "Уже едет"});
    operator.send_json("POST", &format!("/api/appeals/{id}/replies"), &reply).await.unwrap();
    crate::platform::wait_for_reply(&host, &id, "sent").await;
    let body = fixture("plugins/whatsapp/fixtures/text.json");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secrets[2].as_bytes()).unwrap();
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        host.hook("whatsapp", &[("x-hub-signature-256", &signature)], "application/json", &body).await.status,
        200
    );
    assert_eq!(
        host.hook("whatsapp", &[("x-hub-signature-256", "sha256=00")], "application/json", &body)
            .await
            .status,
        401
    );
    let vk = String::from_utf8(fixture("plugins/vk/fixtures/wall_reply_new.json")).unwrap();
    assert_eq!(host.hook("vk", &[], "application/json", vk.as_bytes()).await.status, 401);
    let vk = vk.replace("vk-secret-7f3a", secrets[3]);
    assert_eq!(host.hook("vk", &[], "application/json", vk.as_bytes()).await.status, 200);
    drop(host);

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("DEBUG") || logged.lines().count() > 5, "the host logged at debug: {logged}");
    for secret in secrets.iter().copied().chain([TOKEN, operator_token.as_str()]) {
        assert!(!logged.contains(secret), "{secret} is in the log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_session_is_an_httponly_cookie_and_changes_need_its_csrf_token() {
    let host = Host::builder().args(&["--public-url", "https://hub.example.ru"]).start();
    let sign_in = |token: &str| {
        let body = json!({ "token": token }).to_string().into_bytes();
        host.anonymous.request("POST", "/api/session", &[], Some(("application/json", body)))
    };
    let refused = sign_in("not-a-token").await.unwrap();
    assert_eq!((refused.status, refused.header("set-cookie")), (401, None));
    let signed = sign_in(TOKEN).await.unwrap();
    assert_eq!(signed.status, 200);
    let cookie = signed.header("set-cookie").unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.split("; ").any(|part| part == flag), "{flag} missing from {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    let csrf = signed.json().unwrap()["csrf"].as_str().unwrap().to_string();

    // Reading needs the cookie alone; the page learns who it is and its CSRF token again.
    let me = host.anonymous.request("GET", "/api/session", &[("cookie", &pair)], None).await.unwrap();
    let me = me.json().unwrap();
    assert_eq!((&me["name"], &me["role"], &me["csrf"]), (&json!("admin"), &json!("admin"), &json!(csrf)));
    assert_eq!(
        host.anonymous.request("GET", "/api/directory", &[("cookie", &pair)], None).await.unwrap().status,
        200
    );

    // A change by cookie without the CSRF token (what a forged cross-site form sends) is refused.
    let directory = host.api.get_json("/api/directory").await.unwrap().to_string().into_bytes();
    let put = async |headers: &[(&str, &str)]| {
        let body = Some(("application/json", directory.clone()));
        host.anonymous.request("PUT", "/api/directory", headers, body).await.unwrap().status
    };
    assert_eq!(put(&[("cookie", &pair)]).await, 403);
    assert_eq!(put(&[("cookie", &pair), ("x-csrf-token", "00")]).await, 403);
    assert_eq!(put(&[("cookie", &pair), ("x-csrf-token", &csrf)]).await, 200);
    assert_eq!(put(&[("authorization", &format!("Bearer {TOKEN}"))]).await, 200, "API clients need none");

    let out = host.anonymous.request("DELETE", "/api/session", &[("cookie", &pair)], None).await.unwrap();
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    // Over plain HTTP the cookie is not marked Secure (the browser would drop it).
    let plain = Host::start();
    let body = json!({ "token": TOKEN }).to_string().into_bytes();
    let signed =
        plain.anonymous.request("POST", "/api/session", &[], Some(("application/json", body))).await.unwrap();
    assert!(!signed.header("set-cookie").unwrap().contains("Secure"));
}
