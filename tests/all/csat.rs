//! The customer's verdict (issue 18): after a resolution the customer is asked through their
//! own channel — Telegram inline buttons, WhatsApp interactive list — and the pick is recorded
//! on the appeal, never a new appeal; a low rating reopens it and tells the manager.

use crate::platform::Platform;
use crate::support::{Host, appeal_id, fixture, poll_until};
use serde_json::{Value, json};
use std::time::Duration;

fn directory() -> Value {
    json!({
        "regions": [{"id": "kzn", "name": "Казань", "cities": ["Казань"]}],
        "departments": [{"id": "service", "name": "Сервис", "queue": "service", "manager": "boss"}],
        "employees": [
            {"id": "rustam", "name": "Рустам", "department": "service", "regions": ["kzn"]},
            {"id": "boss", "name": "Алла", "department": "service", "active": false, "notify": {"channel": "telegram", "to": "3001"}}
        ],
        "topics": [{"id": "repair", "name": "Ремонт", "keywords": ["кран", "color"], "department": "service"}],
        "csat": {"channels": ["telegram", "whatsapp"], "low": 2, "reopen_on_low": true, "notify_manager_on_low": true}
    })
}

/// Waits for a call the stand-in received that `wanted` picks; its JSON body.
async fn call_to(api: &Platform, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let found = poll_until(Duration::from_secs(30), async || {
        api.received().iter().map(|r| r.json()).find(|b| wanted(b))
    });
    found.await.unwrap_or_else(|| {
        panic!("no {what}: {:?}", api.received().iter().map(|r| r.json()).collect::<Vec<_>>())
    })
}

fn history(appeal: &Value) -> Vec<(String, String)> {
    appeal["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["stage"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rating_through_telegram_buttons_is_recorded_on_the_appeal_not_as_a_new_one() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let bot_api = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 9}})).await;
    crate::platform::telegram_through(&host, &bot_api).await;
    let update = json!({"update_id": 8801, "message": {"message_id": 31, "date": 1763900000, "text": "Казань: течёт кран",
        "from": {"id": 6601, "is_bot": false, "first_name": "Мария"}, "chat": {"id": 6601, "type": "private"}}});
    let id = appeal_id(&host.telegram(update.to_string().as_bytes()).await);
    host.api.send_json("POST", &format!("/api/appeals/{id}/resolve"), &json!({})).await.unwrap();
    let asked = call_to(&bot_api, "question", |b| b.get("reply_markup").is_some()).await;
    assert_eq!(asked["chat_id"], 6601);
    assert!(asked["text"].as_str().unwrap().starts_with("Оцените"), "{asked}");
    let buttons = asked["reply_markup"]["inline_keyboard"][0].as_array().unwrap().clone();
    assert_eq!(buttons.len(), 5);
    assert_eq!(buttons[4], json!({"text": "5 — отлично", "callback_data": format!("s:{id}:5")}));

    // The customer presses "5": Telegram sends a callback_query.
    let press = json!({"update_id": 8802, "callback_query": {"id": "4382bfdwdsb323b2d9", "chat_instance": "-7523",
        "from": {"id": 6601, "is_bot": false, "first_name": "Мария"},
        "message": {"message_id": 9, "date": 1763900100, "chat": {"id": 6601, "type": "private"}, "text": "Оцените…"},
        "data": format!("s:{id}:5")}});
    let answered = host.telegram(press.to_string().as_bytes()).await;
    assert_eq!((answered.status, appeal_id(&answered)), (200, id.clone()));
    // Telegram delivers it again: still one answer.
    assert_eq!(appeal_id(&host.telegram(press.to_string().as_bytes()).await), id);
    let appeal = host.appeal_json(&id).await;
    let rated: Vec<_> = history(&appeal).into_iter().filter(|(s, _)| s == "rated").collect();
    assert_eq!(rated, [("rated".to_string(), "5/5".to_string())]);
    assert_eq!(appeal["status"], "resolved", "a good rating changes nothing else");
    assert_eq!(host.all_appeals_where("&channel=telegram").await.len(), 1, "no new appeal");
    let report = host.api.get_json("/api/reports/csat?by=department").await.unwrap();
    assert_eq!(
        report,
        json!([{"department": "service", "ratings": 1, "average": 5.0, "low": 0, "low_share": 0.0}])
    );

    // A press of the same button from another chat is not an answer to this survey.
    let forged = json!({"update_id": 8803, "callback_query": {"id": "x", "chat_instance": "1",
        "from": {"id": 6602, "is_bot": false, "first_name": "Чужой"},
        "message": {"message_id": 10, "date": 1763900100, "chat": {"id": 6602, "type": "private"}},
        "data": format!("s:{id}:1")}});
    let ignored = host.telegram(forged.to_string().as_bytes()).await;
    assert_eq!(
        (ignored.status, ignored.header("x-clienthub-appeal")),
        (200, None),
        "acknowledged, nothing made of it"
    );
    let after = host.appeal_json(&id).await;
    assert_eq!(history(&after).iter().filter(|(s, _)| s == "rated").count(), 1, "{after}");
    assert_eq!(host.all_appeals_where("&channel=telegram").await.len(), 1, "no appeal made of a stray press");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_low_rating_through_whatsapp_reopens_the_appeal_and_tells_the_manager() {
    use hmac::Mac;
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let graph =
        Platform::start(vec![], json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT1"}]}))
            .await;
    let config =
        json!({"app_secret": "app-secret-3c9d", "access_token": "EAAG-token", "api_base": graph.base});
    host.api.send_json("PUT", "/api/plugins/whatsapp/config", &config).await.unwrap();
    host.api
        .send_json("PUT", "/api/plugins/whatsapp/outbound-hosts", &json!({"hosts": [graph.base]}))
        .await
        .unwrap();
    let bot_api = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 9}})).await;
    crate::platform::telegram_through(&host, &bot_api).await;
    let signed = |body: &[u8]| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"app-secret-3c9d").unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let body = fixture("plugins/whatsapp/fixtures/text.json");
    let id = appeal_id(
        &host.hook("whatsapp", &[("x-hub-signature-256", &signed(&body))], "application/json", &body).await,
    );
    host.api.send_json("POST", &format!("/api/appeals/{id}/resolve"), &json!({})).await.unwrap();
    let asked = call_to(&graph, "question", |b| b["type"] == "interactive").await;
    assert_eq!(asked["to"], "16505551234");
    assert_eq!(asked["interactive"]["type"], "list", "five options are a list (reply buttons hold three)");
    let rows = asked["interactive"]["action"]["sections"][0]["rows"].as_array().unwrap().clone();
    assert_eq!(rows[1], json!({"id": format!("s:{id}:2"), "title": "2"}));

    let pick = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": "wamid.PICK2", "timestamp": "1749416500", "type": "interactive",
                "context": {"from": "15550783881", "id": "wamid.OUT1"},
                "interactive": {"type": "list_reply", "list_reply": {"id": format!("s:{id}:2"), "title": "2"}}}]}}]}]});
    let pick = pick.to_string().into_bytes();
    let answered =
        host.hook("whatsapp", &[("x-hub-signature-256", &signed(&pick))], "application/json", &pick).await;
    assert_eq!(appeal_id(&answered), id);
    let manager = call_to(&bot_api, "the manager's notice", |b| b["chat_id"] == 3001).await;
    let text = manager["text"].as_str().unwrap();
    let label = host.appeal(&id).await.label();
    assert!(text.starts_with(&format!("Низкая оценка клиента {label}: Ремонт")), "{text}");
    assert!(text.contains("Оценка: 2/5") && text.contains(&format!("/console/#/appeal/{id}")), "{text}");
    let appeal = host.appeal_json(&id).await;
    let stages: Vec<String> = history(&appeal).into_iter().map(|(s, _)| s).collect();
    for stage in ["rated", "rated_low", "reopened"] {
        assert!(stages.contains(&stage.to_string()), "{stage} in {stages:?}");
    }
    assert_ne!(appeal["status"], "resolved", "a low rating opens the appeal again");
    let report = host.api.get_json("/api/reports/csat?by=topic").await.unwrap();
    assert_eq!(report[0]["low"], 1, "{report}");
}
