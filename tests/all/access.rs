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

    let seen_by_viewer = viewer.get_json("/api/plugins/telegram").await.unwrap();
    assert_eq!(seen_by_viewer["config"], "(admins only)");
    assert!(!seen_by_viewer.to_string().contains("SECRET"));
    let seen_by_admin = host.api.get_json("/api/plugins/telegram").await.unwrap();
    assert_eq!(seen_by_admin["config"]["bot_token"], "123456:SECRET-bot-token");

    let listed = host.api.get_json("/api/tokens").await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains("cht_"), "tokens are never listed");
    host.api.send("DELETE", &format!("/api/tokens/{viewer_id}"), None).await.unwrap().json().unwrap();
    assert_eq!(viewer.send("GET", "/api/appeals", None).await.unwrap().status, 401, "revoked");
}
