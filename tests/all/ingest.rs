//! Webhooks in, appeals out: routing, idempotency, filters, secrets, limits, normalisation.

use crate::support::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn telegram_update_becomes_a_routed_appeal_with_its_history() {
    let host = Host::start();
    host.import_directory().await;
    let answer = host.telegram(&fixture("plugins/telegram/fixtures/text.json")).await;
    assert_eq!(answer.status, 200);
    let appeal = host.appeal(&appeal_id(&answer)).await;
    assert_eq!(appeal.status.name(), "routed");
    assert_eq!(appeal.channel, "telegram");
    assert_eq!(appeal.platform_id, "815371203");
    assert_eq!(appeal.decision.as_ref().unwrap().queue, "returns");
    assert_eq!(appeal.decision.as_ref().unwrap().topic.as_deref(), Some("refund"));
    assert_eq!(appeal.decision.as_ref().unwrap().reaction_minutes, Some(30));
    assert_eq!(appeal.contact.name.as_deref(), Some("Анна Смирнова"));
    assert_eq!(
        stages(&appeal)[..3],
        ["received telegram@0.2.4", "kept contest-filter@0.1.0", "routed rules-router@0.1.1"]
    );
    assert!(appeal.history[2].at >= appeal.received_at);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_update_makes_one_appeal() {
    let host = Host::start();
    let update = telegram_update(5001, 77, "Где мой заказ?");
    let first = host.telegram(&update).await;
    let second = host.telegram(&update).await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(appeal_id(&first), appeal_id(&second));
    assert_eq!(host.appeals("").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_up_in_the_same_chat_joins_the_open_appeal() {
    let host = Host::start();
    let first = appeal_id(&host.telegram(&telegram_update(1, 500, "Заказ не пришёл")).await);
    let second = appeal_id(&host.telegram(&telegram_update(2, 500, "Номер заказа 42")).await);
    let other = appeal_id(&host.telegram(&telegram_update(3, 501, "Другой клиент")).await);
    assert_eq!(first, second);
    assert_ne!(first, other);
    let appeal = host.appeal(&first).await;
    let last = last_event(&appeal);
    assert_eq!(last.stage(), "message");
    assert_eq!(words(&last), "Номер заказа 42");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contest_caption_after_an_open_appeal_is_dropped_not_joined() {
    let host = Host::start();
    let open = appeal_id(&host.telegram(&telegram_update(1, 700, "Верните деньги за заказ 42")).await);
    let noise = appeal_id(&host.telegram(&telegram_update(2, 700, "Участвую! #конкурс")).await);
    assert_ne!(open, noise, "a dropped follow-up is an appeal of its own");
    let dropped = host.appeal(&noise).await;
    assert_eq!(dropped.status.name(), "dropped");
    assert_eq!(words(&last_event(&dropped)), "contest hashtag #конкурс");
    assert!(
        dropped.metadata.iter().any(|(k, v)| k == "follow_up_of" && *v == open),
        "{:?}",
        dropped.metadata
    );
    assert_eq!(host.appeals("&status=dropped").await.len(), 1);

    // The open appeal never heard of it, and the conversation's next message still joins it.
    let after = appeal_id(&host.telegram(&telegram_update(3, 700, "Номер карты не нужен?")).await);
    assert_eq!(after, open);
    let appeal = host.appeal(&open).await;
    let messages: Vec<String> = appeal.history.iter().filter(|e| e.stage() == "message").map(words).collect();
    assert_eq!(messages, ["Номер карты не нужен?"]);
    assert_eq!(appeal.status.name(), "routed");
}

#[tokio::test(flavor = "multi_thread")]
async fn contest_hashtag_is_kept_as_dropped_with_the_reason() {
    let host = Host::start();
    let answer = host.telegram(&fixture("plugins/telegram/fixtures/photo.json")).await;
    assert_eq!(answer.status, 200);
    let appeal = host.appeal(&appeal_id(&answer)).await;
    assert_eq!(appeal.status.name(), "dropped");
    assert!(appeal.decision.is_none());
    let last = last_event(&appeal);
    assert_eq!(last.stage(), "dropped");
    assert_eq!(last.plugin.as_deref(), Some("contest-filter@0.1.0"));
    assert_eq!(words(&last), "contest hashtag #конкурс");
    assert_eq!(appeal.attachments[0].reference, "AgACAgIAAxkBAAIBZ2VhLWlarge");
    assert_eq!(host.appeals("&status=dropped").await.len(), 1);
    assert_eq!(host.appeals("&status=routed").await.len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_secret_is_refused_and_nothing_is_routed() {
    let host = Host::start();
    host.api
        .send_json("PUT", "/api/plugins/telegram/config", &json!({"secret_token": "right-secret"}))
        .await
        .unwrap();
    let body = telegram_update(9, 9, "hello");
    let wrong = host
        .hook("telegram", &[("x-telegram-bot-api-secret-token", "wrong")], "application/json", &body)
        .await;
    assert_eq!(wrong.status, 401);
    let missing = host.hook("telegram", &[], "application/json", &body).await;
    assert_eq!(missing.status, 401);
    assert!(host.appeals("").await.is_empty());
    let right = host
        .hook("telegram", &[("X-Telegram-Bot-Api-Secret-Token", "right-secret")], "application/json", &body)
        .await;
    assert_eq!(right.status, 200);
    assert_eq!(host.appeals("").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_unknown_channels_and_garbage() {
    let host = Host::start();
    let big = vec![b'x'; 2 << 20];
    assert_eq!(host.hook("telegram", &[], "application/json", &big).await.status, 413);
    assert_eq!(host.hook("nosuch", &[], "application/json", b"{}").await.status, 404);
    // A payload the adapter cannot read is kept in triage and acknowledged.
    let garbage = host.telegram(b"{\"not\": \"an update\"").await;
    assert_eq!(garbage.status, 200);
    let appeal = host.appeal(&appeal_id(&garbage)).await;
    assert_eq!(appeal.status.name(), "triage");
    assert!(appeal.error.as_deref().unwrap().contains("malformed payload"), "{appeal:?}");
    assert!(!appeal.raw_request_id.is_empty());
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["status"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn tilda_form_is_normalised_and_routed_by_store() {
    let host = Host::start();
    host.import_directory().await;
    let body = fixture("plugins/webform/fixtures/tilda.txt");
    let answer = host.hook_with_key("webform", "application/x-www-form-urlencoded", &body).await;
    assert_eq!(answer.status, 200);
    assert_eq!(&answer.body[..], b"ok");
    let appeal = host.appeal(&appeal_id(&answer)).await;
    assert_eq!(appeal.contact.phone.as_deref(), Some("+79161234567"));
    assert_eq!(appeal.contact.email.as_deref(), Some("ivan.petrov@example.com"));
    assert_eq!(appeal.platform_id, "5281107:3940651");
    assert_eq!(appeal.decision.as_ref().unwrap().region.as_deref(), Some("kzn"));
    assert_eq!(appeal.decision.as_ref().unwrap().queue, "delivery");
    assert_eq!(appeal.decision.as_ref().unwrap().candidates, ["e-3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn appeals_api_needs_the_token_filters_and_pages() {
    let host = Host::start();
    assert_eq!(host.anonymous.send("GET", "/api/appeals", None).await.unwrap().status, 401);
    for i in 0..5 {
        host.telegram(&telegram_update(100 + i, 100 + i, "привет")).await;
    }
    let page = host.api.get_json("/api/appeals?limit=2").await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let next = page["next"].as_str().unwrap();
    let rest = host.api.get_json(&format!("/api/appeals?limit=10&before={next}")).await.unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    assert!(items[0]["id"].as_str().unwrap() > items[1]["id"].as_str().unwrap(), "newest first");
    assert_eq!(host.appeals("&channel=webform").await.len(), 0);
    assert_eq!(host.appeals("&channel=telegram").await.len(), 5);
    assert_eq!(host.api.send("GET", "/api/appeals?status=bogus", None).await.unwrap().status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_retries_of_one_update_make_one_appeal() {
    let host = std::sync::Arc::new(Host::start());
    let update = telegram_update(42, 4242, "Повторная доставка вебхука");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (host, update) = (host.clone(), update.clone());
        tasks.push(tokio::spawn(async move { appeal_id(&host.telegram(&update).await) }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(host.appeals("").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn appeals_are_found_by_russian_word_forms_and_by_a_phone_typed_any_way() {
    let host = Host::start();
    host.import_directory().await;
    let refund = appeal_id(&host.telegram(&telegram_update(9801, 981, "Хочу вернуть заказ")).await);
    let courier =
        appeal_id(&host.telegram(&telegram_update(9802, 982, "Где курьер? Доставка опаздывает")).await);
    let form = "Name=Ирина&Phone=8+(912)+345-67-89&Comments=Верните+деньги&tranid=98";
    let money =
        appeal_id(&host.hook_with_key("webform", "application/x-www-form-urlencoded", form.as_bytes()).await);
    let found = async |query: &str| -> Vec<String> {
        let page = host.api.get_json(&format!("/api/appeals?{query}")).await.unwrap();
        page["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
    };
    // The indexer follows the store within moments (in batches: wait for the last appeal too).
    eventually("the appeals are indexed", async || {
        !found("q=доставки").await.is_empty() && found("q=верните").await.len() >= 2
    })
    .await;
    assert_eq!(found("q=доставки").await, [courier]);
    let mut verbs = found("q=вернуть").await;
    verbs.sort();
    let mut expected = vec![refund.clone(), money.clone()];
    expected.sort();
    assert_eq!(verbs, expected, "вернуть finds верните too");
    let mut family = found("q=%D0%B2%D0%BE%D0%B7%D0%B2%D1%80%D0%B0%D1%82").await;
    family.sort();
    assert_eq!(family, expected, "возврат finds вернуть and верните");
    assert_eq!(found("q=вернуть&channel=telegram").await, [refund], "search combines with filters");
    assert!(found("q=вернуть&from=4102444800000").await.is_empty(), "and with a time range");
    for typed in ["%2B7+(912)+3456789", "89123456789", "8+912+345-67-89"] {
        assert_eq!(found(&format!("q={typed}")).await, std::slice::from_ref(&money), "{typed}");
    }
    assert!(found("q=самокат").await.is_empty());
}
