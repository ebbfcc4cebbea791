//! Operators' replies through the real host to stand-ins of each platform's API: the call the
//! platform documents, the retry after a 429, refusal of hosts the plugin may not call,
//! delivery statuses attached to the reply, and a resolved conversation opening a new appeal.

use crate::platform::{Platform, wait_for_reply};
use crate::support::*;
use serde_json::{Value, json};

/// Queues an operator's reply through the API; the answer must say `queued`.
pub async fn reply(host: &Host, appeal: &str, text: &str) -> Value {
    let answer = host
        .api
        .send_json("POST", &format!("/api/appeals/{appeal}/replies"), &json!({"text": text}))
        .await
        .unwrap();
    assert_eq!(answer["state"], "queued", "{answer}");
    answer
}

async fn allow(host: &Host, plugin: &str, platform: &Platform) {
    let hosts = json!({"hosts": [platform.base]});
    let answer =
        host.api.send_json("PUT", &format!("/api/plugins/{plugin}/outbound-hosts"), &hosts).await.unwrap();
    assert_eq!(answer["extra_hosts"][0], platform.base, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn telegram_reply_retries_after_429_and_lands_in_the_chat() {
    let limited = json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1}});
    let api = Platform::start(
        vec![(429, vec![("retry-after", "1".into())], limited)],
        json!({"ok": true, "result": {"message_id": 5501, "chat": {"id": 379412057, "type": "private"},
            "date": 1763900100, "text": "Заказ в пути"}}),
    )
    .await;
    let host = Host::start();
    crate::platform::telegram_through(&host, &api).await;
    let appeal = appeal_id(&host.telegram(&telegram_update(9001, 379412057, "Где мой заказ?")).await);

    let queued = reply(&host, &appeal, "Заказ в пути").await;
    let done = wait_for_reply(&host, &appeal, "sent").await;
    let sent = &done.replies[0];
    assert_eq!(sent.id, queued["id"]);
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.platform_message_id.as_deref(), Some("5501"));

    let calls = api.received();
    assert_eq!(calls.len(), 2, "one refused call, one accepted");
    for call in &calls {
        assert_eq!((call.method.as_str(), call.path.as_str()), ("POST", "/bot123456:ABC-def/sendMessage"));
        assert_eq!(call.header("content-type"), Some("application/json"));
        assert_eq!(
            call.json(),
            json!({"chat_id": 379412057, "text": "Заказ в пути",
                "reply_parameters": {"message_id": 9001, "allow_sending_without_reply": true}})
        );
    }
    let history: Vec<String> = stages(&done).into_iter().filter(|s| s.starts_with("reply_")).collect();
    assert_eq!(history, ["reply_queued -", "reply_retry telegram@0.2.4", "reply_sent telegram@0.2.4"]);
    let retry = words(done.history.iter().find(|e| e.stage() == "reply_retry").unwrap());
    assert!(retry.contains("Telegram 429"), "{retry}");
    // The bot token is in the URL; it must not reach the history.
    assert!(!format!("{done:?}").contains("ABC-def"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_outside_the_allowlist_is_refused_then_allowed_and_retried() {
    let api = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 1}})).await;
    let host = Host::start();
    let config = json!({"bot_token": "123456:ABC-def", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/telegram/config", &config).await.unwrap();
    let appeal = appeal_id(&host.telegram(&telegram_update(9101, 5550001, "Привет")).await);
    let queued = reply(&host, &appeal, "Здравствуйте").await;
    let failed = wait_for_reply(&host, &appeal, "failed").await;
    let error = failed.replies[0].error.as_deref().unwrap();
    assert!(
        error.contains("is not among the outbound hosts of telegram@0.2.4 [api.telegram.org]"),
        "{error}"
    );
    assert!(api.received().is_empty(), "nothing may reach a host the plugin was not allowed");

    // A reply without a failure cannot be retried; the failed one can, once the host is allowed.
    let id = queued["id"].as_str().unwrap();
    allow(&host, "telegram", &api).await;
    let again =
        host.api.send("POST", &format!("/api/appeals/{appeal}/replies/{id}/retry"), None).await.unwrap();
    assert_eq!(again.status, 202, "{}", String::from_utf8_lossy(&again.body));
    wait_for_reply(&host, &appeal, "sent").await;
    assert_eq!(api.received().len(), 1);
    let twice =
        host.api.send("POST", &format!("/api/appeals/{appeal}/replies/{id}/retry"), None).await.unwrap();
    assert_eq!(twice.status, 409);
    let empty = host
        .api
        .send(
            "POST",
            &format!("/api/appeals/{appeal}/replies"),
            Some(("application/json", br#"{"text":" "}"#.to_vec())),
        )
        .await
        .unwrap();
    assert_eq!(empty.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn whatsapp_reply_then_delivered_and_read_statuses_attach_to_it() {
    use hmac::Mac;
    let wamid = "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBIyQjg4RkZEMEYzRDM2QzUwNTkA";
    let api = Platform::start(
        vec![],
        json!({"messaging_product": "whatsapp", "contacts": [{"input": "79161234567", "wa_id": "79161234567"}],
            "messages": [{"id": wamid}]}),
    )
    .await;
    let host = Host::start();
    let config = json!({"verify_token": "verify-me", "app_secret": "app-secret-3c9d",
        "access_token": "EAAG-token", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/whatsapp/config", &config).await.unwrap();
    allow(&host, "whatsapp", &api).await;
    let sign = |body: &[u8]| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"app-secret-3c9d").unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let text = fixture("plugins/whatsapp/fixtures/text.json");
    let message =
        host.hook("whatsapp", &[("x-hub-signature-256", &sign(&text))], "application/json", &text).await;
    let appeal = appeal_id(&message);
    let incoming: Value = serde_json::from_slice(&text).unwrap();
    let value = &incoming["entry"][0]["changes"][0]["value"];

    reply(&host, &appeal, "Доставим завтра").await;
    wait_for_reply(&host, &appeal, "sent").await;
    let call = &api.received()[0];
    let phone_number_id = value["metadata"]["phone_number_id"].as_str().unwrap();
    assert_eq!(call.path, format!("/v21.0/{phone_number_id}/messages"));
    assert_eq!(call.header("authorization"), Some("Bearer EAAG-token"));
    let body = call.json();
    assert_eq!(body["to"], value["messages"][0]["from"]);
    assert_eq!(body["context"]["message_id"], value["messages"][0]["id"]);
    assert_eq!(body["text"], json!({"preview_url": false, "body": "Доставим завтра"}));

    for (state, at) in [("delivered", "1763900200"), ("read", "1763900260")] {
        let statuses =
            json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp", "metadata": value["metadata"],
            "statuses": [{"id": wamid, "status": state, "timestamp": at, "recipient_id": body["to"],
                "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
                "pricing": {"billable": true, "pricing_model": "PMP", "category": "service"}}]}}]}]})
            .to_string();
        let answer = host
            .hook(
                "whatsapp",
                &[("x-hub-signature-256", &sign(statuses.as_bytes()))],
                "application/json",
                statuses.as_bytes(),
            )
            .await;
        assert_eq!(answer.status, 200);
    }
    let read = host.appeal(&appeal).await;
    assert_eq!(read.replies[0].state.name(), "read");
    let statuses: Vec<String> =
        read.history.iter().filter(|e| e.stage() == "delivery_status").map(words).collect();
    assert_eq!(statuses.len(), 2);
    assert!(statuses[0].ends_with("delivered") && statuses[1].ends_with("read"), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn vk_comment_reply_is_a_wall_comment_and_vk_flood_errors_are_retried() {
    let flood = json!({"error": {"error_code": 9, "error_msg": "Flood control", "request_params": []}});
    let api = Platform::start(
        vec![(200, vec![], flood)],
        json!({"response": {"comment_id": 4417, "parents_stack": []}}),
    )
    .await;
    let host = Host::start();
    // Contest comments are dropped by the filter; this one asks a question.
    let config = json!({"secret": "vk-secret-7f3a", "group_id": 218765432, "access_token": "vk1.a.token", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/vk/config", &config).await.unwrap();
    allow(&host, "vk", &api).await;
    let comment: Value = serde_json::from_slice(&fixture("plugins/vk/fixtures/wall_reply_new.json")).unwrap();
    let mut question = comment.clone();
    question["object"]["text"] = json!("Когда подведёте итоги?");
    question["event_id"] = json!("question-1");
    let answer = host.hook("vk", &[], "application/json", question.to_string().as_bytes()).await;
    let appeal = appeal_id(&answer);
    reply(&host, &appeal, "В пятницу").await;
    let done = wait_for_reply(&host, &appeal, "sent").await;
    assert_eq!(done.replies[0].platform_message_id.as_deref(), Some("4417"));
    let calls = api.received();
    assert_eq!(calls.len(), 2);
    let call = &calls[1];
    assert_eq!(call.path, "/method/wall.createComment");
    assert_eq!(call.form("owner_id"), comment["object"]["owner_id"].as_i64().map(|v| v.to_string()));
    assert_eq!(call.form("post_id"), comment["object"]["post_id"].as_i64().map(|v| v.to_string()));
    assert_eq!(call.form("reply_to_comment"), comment["object"]["id"].as_i64().map(|v| v.to_string()));
    assert_eq!(call.form("message").as_deref(), Some("В пятницу"));
    assert_eq!(call.form("guid"), calls[0].form("guid"), "the retry keeps its idempotency key");
}

#[tokio::test(flavor = "multi_thread")]
async fn email_reply_goes_through_postmark_with_threading_headers() {
    let api = Platform::start(
        vec![],
        json!({"To": "x", "SubmittedAt": "2026-11-23T10:00:00Z", "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
            "ErrorCode": 0, "Message": "OK"}),
    )
    .await;
    let host = Host::start();
    let config =
        json!({"postmark_token": "pm-server-token", "from": "support@shop.example", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/email/config", &config).await.unwrap();
    allow(&host, "email", &api).await;
    let mail = host
        .hook_with_key("email", "message/rfc822", &fixture("plugins/email/fixtures/multipart_1251.eml"))
        .await;
    let appeal_id = appeal_id(&mail);
    let appeal = host.appeal(&appeal_id).await;
    reply(&host, &appeal_id, "Возврат оформлен").await;
    wait_for_reply(&host, &appeal_id, "sent").await;
    let call = &api.received()[0];
    assert_eq!(call.path, "/email");
    assert_eq!(call.header("x-postmark-server-token"), Some("pm-server-token"));
    let body = call.json();
    assert_eq!(body["To"].as_str(), appeal.contact.email.as_deref());
    assert_eq!(body["From"], "support@shop.example");
    let message_id = appeal.platform_id.as_str();
    assert_eq!(body["Headers"][0], json!({"Name": "In-Reply-To", "Value": format!("<{message_id}>")}));
    assert_eq!(body["Subject"], format!("Re: {}", appeal.subject.as_deref().unwrap()));
}

#[tokio::test(flavor = "multi_thread")]
async fn after_resolve_the_next_message_opens_a_new_appeal_listing_the_first() {
    let host = Host::start();
    let first = appeal_id(&host.telegram(&telegram_update(9201, 7770001, "Сломался чайник")).await);
    let follow = appeal_id(&host.telegram(&telegram_update(9202, 7770001, "Модель X-100")).await);
    assert_eq!(follow, first, "an open conversation collects follow-ups");
    let resolved = host.api.send("POST", &format!("/api/appeals/{first}/resolve"), None).await.unwrap();
    assert_eq!(resolved.json().unwrap()["status"], "resolved");
    let next = appeal_id(&host.telegram(&telegram_update(9203, 7770001, "Теперь вопрос о доставке")).await);
    assert_ne!(next, first, "a message after resolution opens a new appeal");
    let appeal = host.appeal(&next).await;
    let shown = host.appeal_json(&appeal.id).await;
    assert_eq!(shown["contact_appeals"][0]["id"], first.as_str());
    assert_eq!(shown["contact_appeals"][0]["status"], "resolved");
    let reopened = host.api.send("POST", &format!("/api/appeals/{first}/reopen"), None).await.unwrap();
    assert_eq!(reopened.json().unwrap()["status"], "routed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_built_against_wit_0_1_0_still_loads_and_routes() {
    let host = Host::start();
    host.import_directory().await;
    let uploaded = host
        .upload(&format!("{}/../tests/compat/router-v2-wit-0.1.0.wasm", env!("CARGO_MANIFEST_DIR")))
        .await;
    assert_eq!(uploaded.status, 201, "{}", String::from_utf8_lossy(&uploaded.body));
    assert_eq!(uploaded.json().unwrap()["wit_version"], "0.1.0");
    host.activate("rules-router", "0.2.0").await;
    let appeal =
        host.appeal(&appeal_id(&host.telegram(&telegram_update(9301, 42, "Хочу вернуть товар")).await)).await;
    assert_eq!(appeal.status.name(), "routed");
    assert!(stages(&appeal).contains(&"routed rules-router@0.2.0".to_string()), "{appeal:?}");
    // Telegram (0.1.1) can reply; the 0.1.0 router simply has no reply export to need.
    let replied = host
        .api
        .send_json("POST", &format!("/api/appeals/{}/replies", appeal.id.as_str()), &json!({"text": "ok"}))
        .await
        .unwrap();
    assert_eq!(replied["state"], "queued");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queued_reply_survives_a_restart_and_is_sent_after_it() {
    let busy = json!({"ok": false, "error_code": 502, "description": "Bad Gateway"});
    let api =
        Platform::start(vec![(502, vec![], busy)], json!({"ok": true, "result": {"message_id": 8}})).await;
    let host = Host::start();
    crate::platform::telegram_through(&host, &api).await;
    let appeal = appeal_id(&host.telegram(&telegram_update(9401, 6660001, "Жду ответа")).await);
    reply(&host, &appeal, "Ответ после перезапуска").await;
    // The first call meets a 502: the reply waits for its next attempt (2 s) in the outbox.
    appeal_where(&host, &appeal, "a first attempt recorded", |a| a.replies[0].attempts == 1).await;
    let host = host.restart();
    let done = wait_for_reply(&host, &appeal, "sent").await;
    assert_eq!(done.replies[0].attempts, 2);
    assert_eq!(api.received().len(), 2, "sent once after the restart, not lost and not doubled");
}
