//! OK group chats, Jivo site chat and map reviews through the real host: each platform's
//! documented payload becomes an appeal, a forged request is refused, a retry is deduplicated,
//! a review reaches its store's region, and replies leave in each platform's format.

use crate::platform::{Platform, wait_for_reply};
use crate::support::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn ok_group_chat_message_retry_forgery_and_reply() {
    let api = Platform::start(
        vec![],
        json!({"chat_id": "chat:C3ecb9d02a600", "message_id": "mid:C3ecb9d02a600.15cea67d78d3000"}),
    )
    .await;
    let host = Host::start();
    let config =
        json!({"url_secret": "ok-hook-secret-0042", "access_token": "tkn1-group", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/ok/config", &config).await.unwrap();
    host.api.send_json("PUT", "/api/plugins/ok/outbound-hosts", &json!({"hosts": [api.base]})).await.unwrap();
    let body = fixture("plugins/ok/fixtures/message_created.json");
    let post = |query: &'static str| host.hook(query, &[], "application/json;charset=utf-8", &body);
    let first = post("ok?secret=ok-hook-secret-0042").await;
    assert_eq!((first.status, first.json().unwrap()), (200, json!({"success": true})));
    let appeal = appeal_id(&first);
    assert_eq!(
        appeal_id(&post("ok?secret=ok-hook-secret-0042").await),
        appeal,
        "OK's retry is the same appeal"
    );
    assert_eq!(post("ok?secret=wrong").await.status, 401);
    assert_eq!(host.appeals("&channel=ok").await.len(), 1);

    host.api
        .send_json("POST", &format!("/api/appeals/{appeal}/replies"), &json!({"text": "Инструкция в ответе"}))
        .await
        .unwrap();
    wait_for_reply(&host, &appeal, "sent").await;
    let call = &api.received()[0];
    assert_eq!(call.path, "/graph/me/messages/chat:C3ecb9d02a600");
    assert_eq!(call.json()["recipient"], json!({"chat_id": "chat:C3ecb9d02a600"}));
    assert_eq!(call.json()["message"]["text"], "Инструкция в ответе");
}

#[tokio::test(flavor = "multi_thread")]
async fn jivo_site_chat_message_photo_follow_up_and_bot_message_reply() {
    let api = Platform::start(vec![(503, vec![], json!({"error": "unavailable"}))], json!({})).await;
    let host = Host::start();
    let config = json!({"token": "jv-bot-7f3a9c21", "provider_id": "clienthub", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/jivo/config", &config).await.unwrap();
    host.api
        .send_json("PUT", "/api/plugins/jivo/outbound-hosts", &json!({"hosts": [api.base]}))
        .await
        .unwrap();
    let h = &host;
    let hook = move |file: &'static str, token: &'static str| async move {
        h.hook(&format!("jivo/{token}"), &[], "application/json", &fixture(file)).await
    };
    let message = hook("plugins/jivo/fixtures/client_message.json", "jv-bot-7f3a9c21").await;
    let appeal = appeal_id(&message);
    let photo = hook("plugins/jivo/fixtures/client_photo.json", "jv-bot-7f3a9c21").await;
    assert_eq!(appeal_id(&photo), appeal, "the photo joins the chat's appeal");
    let retried = hook("plugins/jivo/fixtures/client_message.json", "jv-bot-7f3a9c21").await;
    assert_eq!(appeal_id(&retried), appeal, "Jivo's retry of the same event is a duplicate");
    assert_eq!(host.appeal(&appeal).await.history.iter().filter(|e| e.stage() == "message").count(), 1);
    assert_eq!(hook("plugins/jivo/fixtures/client_message.json", "guess").await.status, 401);
    let stored = host.appeal(&appeal).await;
    assert_eq!(stored.attachments[0].file_name.as_deref(), Some("kettle.jpg"));
    assert_eq!(stored.attachments[0].size, Some(183422));

    host.api
        .send_json("POST", &format!("/api/appeals/{appeal}/replies"), &json!({"text": "Есть в наличии"}))
        .await
        .unwrap();
    wait_for_reply(&host, &appeal, "sent").await;
    let calls = api.received();
    assert_eq!(calls.len(), 2, "a 503, then the accepted call");
    assert_eq!(calls[1].path, "/webhooks/clienthub/jv-bot-7f3a9c21");
    let body = calls[1].json();
    assert_eq!(
        (body["event"].as_str(), body["chat_id"].as_str(), body["client_id"].as_str()),
        (Some("BOT_MESSAGE"), Some("2037"), Some("1233"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn map_reviews_reach_their_store_region_and_google_gets_the_reply() {
    let api =
        Platform::start(vec![], json!({"comment": "Спасибо!", "updateTime": "2026-11-23T10:00:00Z"})).await;
    let host = Host::start();
    host.import_directory().await;
    let config = json!({"api_key": "reviews-key-0123456789", "google_access_token": "ya29.token", "google_api_base": api.base,
        "places": {"locations/4567890123456789012": {"store": "101"}, "70000001012345678": {"store": "112"}, "1124715036": {"region": "msk"}}});
    host.api.send_json("PUT", "/api/plugins/reviews/config", &config).await.unwrap();
    host.api
        .send_json("PUT", "/api/plugins/reviews/outbound-hosts", &json!({"hosts": [api.base]}))
        .await
        .unwrap();
    let key = [("x-api-key", "reviews-key-0123456789")];
    let (h, key) = (&host, &key);
    let post = move |platform: &'static str, file: &'static str| async move {
        h.hook(&format!("reviews/{platform}"), key, "application/json", &fixture(file)).await
    };
    let google = post("google", "plugins/reviews/fixtures/google_review.json").await;
    let google = host.appeal(&appeal_id(&google)).await;
    assert_eq!(google.decision.as_ref().unwrap().region.as_deref(), Some("msk"), "store 101 is in Moscow");
    assert_eq!(google.metadata.iter().find(|m| m.0 == "rating").unwrap().1, "2");

    let pubsub = post("google", "plugins/reviews/fixtures/google_pubsub_new_review.json").await;
    assert_eq!(appeal_id(&pubsub), google.id.as_str(), "the notification of the same review joins it");

    let gis = post("2gis", "plugins/reviews/fixtures/2gis_reviews.json").await;
    assert_eq!(gis.status, 200);
    let kazan = host.appeals("&channel=reviews").await;
    let one_star = kazan.iter().find(|a| a.text.as_str().starts_with("★☆☆☆☆")).unwrap();
    assert_eq!(one_star.decision.as_ref().unwrap().region.as_deref(), Some("kzn"), "store 112 is in Kazan");
    let again = post("2gis", "plugins/reviews/fixtures/2gis_reviews.json").await;
    assert_eq!(again.status, 200);
    assert_eq!(host.appeals("&channel=reviews").await.len(), 3, "the repeated page adds nothing");

    let yandex =
        host.appeal(&appeal_id(&post("yandex", "plugins/reviews/fixtures/yandex_review.json").await)).await;
    assert_eq!(yandex.decision.as_ref().unwrap().region.as_deref(), Some("msk"));
    let unsigned = host
        .hook(
            "reviews/yandex",
            &[],
            "application/json",
            &fixture("plugins/reviews/fixtures/yandex_review.json"),
        )
        .await;
    assert_eq!(unsigned.status, 401);

    let id = google.id.as_str();
    host.api
        .send_json("POST", &format!("/api/appeals/{id}/replies"), &json!({"text": "Спасибо!"}))
        .await
        .unwrap();
    wait_for_reply(&host, id, "sent").await;
    let call = &api.received()[0];
    assert_eq!(call.method, "PUT");
    assert_eq!(
        call.path,
        "/v4/accounts/109876543210/locations/4567890123456789012/reviews/AbFvOqnQ8Kd2/reply"
    );
    assert_eq!(call.header("authorization"), Some("Bearer ya29.token"));
    let yandex_id = yandex.id.as_str();
    host.api
        .send_json("POST", &format!("/api/appeals/{yandex_id}/replies"), &json!({"text": "x"}))
        .await
        .unwrap();
    let failed = wait_for_reply(&host, yandex_id, "failed").await;
    assert!(failed.replies[0].error.as_deref().unwrap().contains("yandex offers no API"), "{failed:?}");
}
