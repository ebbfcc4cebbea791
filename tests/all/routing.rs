//! Routing that reads Russian, end to end: word forms, false hits, cities in any case form and
//! store numbers in the text through the first-party rules router; exclusions, channel
//! conditions and priorities; machine numbers from the directory's patterns; the try-it API for
//! a candidate version that stays inactive; a directory preview that saves nothing; and the
//! console's routing bench in a real browser.

use crate::support::*;
use clienthub_artifacts::fixtures;
use serde_json::{Value, json};

/// The directory a business team writes (`examples/routing-directory.json`).
fn business_directory() -> Value {
    serde_json::from_slice(&fixture("examples/routing-directory.json")).unwrap()
}

async fn routed(host: &Host, update: i64, chat: i64, text: &str) -> clienthub::appeal::Appeal {
    host.appeal(&appeal_id(&host.telegram(&telegram_update(update, chat, text)).await)).await
}

fn topic_and_region(appeal: &clienthub::appeal::Appeal) -> (Option<&str>, Option<&str>) {
    let decision = appeal.decision.as_ref().expect("routed");
    (decision.topic.as_deref(), decision.region.as_deref())
}

#[tokio::test(flavor = "multi_thread")]
async fn word_forms_cities_and_stores_route_as_customers_write() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &business_directory()).await.unwrap();
    for (n, (text, topic, region)) in [
        ("Верните деньги, я в Казани", Some("refund"), Some("kzn")),
        ("Ищу работу, пишу из Москвы", Some("vacancy"), Some("msk")),
        ("Продавец хамил, мы в Набережных Челнах", Some("staff"), Some("kzn")),
        ("Меня обсчитали, маг. №103", Some("prices"), Some("msk")),
        ("Работает одна касса, магазин 201", Some("queues"), Some("kzn")),
        ("в магазине 104 огромные очереди", Some("queues"), Some("msk")),
        ("Цена 201 рубль — это нормально?", Some("prices"), None),
    ]
    .into_iter()
    .enumerate()
    {
        let appeal = routed(&host, 100 + n as i64, 100 + n as i64, text).await;
        assert_eq!(
            topic_and_region(&appeal),
            (topic, region),
            "{text}: {}",
            appeal.decision.as_ref().unwrap().reason
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exclusions_channels_priorities_and_machine_numbers() {
    let host = Host::start();
    let mut directory = business_directory();
    // Thanks only from VK comments, for this test.
    directory["topics"][10]["channels"] = json!(["vk/comment"]);
    host.api.send_json("PUT", "/api/directory", &directory).await.unwrap();
    // An exclusion: "режим работы" is no vacancy.
    assert_eq!(topic_and_region(&routed(&host, 1, 1, "Какой режим работы в праздники?").await), (None, None));
    // A channel condition: thanks in a Telegram chat is not the VK comments' topic.
    assert_eq!(routed(&host, 2, 2, "Спасибо за помощь!").await.decision.unwrap().topic, None);
    // Priority: a rude seller beats the refund listed before it, and the reason names both.
    let both = routed(&host, 3, 3, "Продавец хамил и отказался вернуть деньги").await;
    let decision = both.decision.unwrap();
    assert_eq!(decision.topic.as_deref(), Some("staff"));
    assert!(decision.reason.contains("also matched: refund"), "{}", decision.reason);
    // A machine number from the directory's patterns: into the metadata, with its region.
    let machine = routed(&host, 4, 4, "Номер автомата 4521, съел деньги").await;
    assert!(
        machine.metadata.contains(&("machine".to_string(), "4521".to_string())),
        "{:?}",
        machine.metadata
    );
    assert_eq!(topic_and_region(&machine), (Some("vending"), Some("msk")));
    let kazan = routed(&host, 5, 5, "автомат 5103 не принимает купюры").await;
    assert_eq!(topic_and_region(&kazan), (Some("vending"), Some("kzn")));
    // A bad pattern is refused with the reason, and the directory stays as it was.
    let mut broken = business_directory();
    broken["patterns"][0]["pattern"] = json!("автомат(\\d");
    let refused =
        host.api.send("PUT", "/api/directory", Some(("application/json", broken.to_string().into_bytes())));
    let refused = refused.await.unwrap();
    assert_eq!(refused.status, 400);
    assert!(String::from_utf8_lossy(&refused.body).contains("patterns[0] (machine)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_try_it_api_answers_for_a_candidate_without_activating_it() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &business_directory()).await.unwrap();
    assert_eq!(host.upload(fixtures::ROUTER_V2).await.status, 201);
    let trials = host
        .api
        .send_json(
            "POST",
            "/api/routing/try",
            &json!({"text": "Верните деньги, магазин 201", "channel": "vk"}),
        )
        .await
        .unwrap();
    let trials = trials.as_array().unwrap();
    assert_eq!(trials[0]["router"], "rules-router@0.1.1");
    assert_eq!(trials[0]["active"], true);
    assert_eq!(
        (&trials[0]["decision"]["topic"], &trials[0]["decision"]["region"]),
        (&json!("refund"), &json!("kzn"))
    );
    assert!(trials[0]["decision"]["reason"].as_str().unwrap().contains("store 201 in the text"));
    let candidate =
        trials.iter().find(|t| t["router"] == "rules-router@0.2.0").expect("the candidate answers");
    assert_eq!(
        (&candidate["active"], &candidate["decision"]["queue"]),
        (&json!(false), &json!("priority-desk"))
    );
    // Nothing was activated, and no appeal was made.
    let plugin = host.api.get_json("/api/plugins/rules-router").await.unwrap();
    let plugin = if plugin.is_array() { plugin[0].clone() } else { plugin };
    assert_eq!(plugin["active"], "0.1.1");
    assert!(host.appeals("").await.is_empty());
    // An empty text is refused.
    let empty =
        host.api.send("POST", "/api/routing/try", Some(("application/json", br#"{"text":" "}"#.to_vec())));
    assert_eq!(empty.await.unwrap().status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_preview_changes_nothing_until_saved() {
    let host = Host::start();
    let directory = business_directory();
    host.api.send_json("PUT", "/api/directory", &directory).await.unwrap();
    let texts = ["Работает одна касса", "Хочу вернуть товар", "Огромная очередь на кассе", "Спасибо!"];
    let mut ids = Vec::new();
    for (n, text) in texts.iter().enumerate() {
        ids.push(routed(&host, 10 + n as i64, 10 + n as i64, text).await.id);
    }
    // The edit: queues go to the returns department's topic words too ("касса" → refund, priority 5).
    let mut edited = directory.clone();
    edited["topics"][3]["keywords"].as_array_mut().unwrap().push(json!("касса"));
    edited["topics"][3]["priority"] = json!(5);
    let preview =
        host.api.send_json("POST", "/api/directory/preview", &json!({"directory": edited, "last": 50})).await;
    let preview = preview.unwrap();
    assert_eq!(preview["compared"], 4, "{preview}");
    assert_eq!(preview["changed"], 2, "{preview}");
    let refund = preview["topics"].as_array().unwrap().iter().find(|c| c["value"] == "refund").unwrap();
    assert_eq!((&refund["now"], &refund["edited"]), (&json!(1), &json!(3)), "{preview}");
    assert_eq!(preview["examples"].as_array().unwrap().len(), 2);
    // Nothing saved: the directory, and each appeal's decision, are as they were.
    assert_eq!(host.api.get_json("/api/directory").await.unwrap()["topics"], directory["topics"]);
    let first = host.appeal(&ids[0]).await;
    assert_eq!(first.decision.unwrap().topic.as_deref(), Some("queues"));
    // A broken edit is refused like a save would be.
    let mut broken = directory.clone();
    broken["topics"][0]["department"] = json!("nowhere");
    let body = json!({"directory": broken}).to_string().into_bytes();
    let refused =
        host.api.send("POST", "/api/directory/preview", Some(("application/json", body))).await.unwrap();
    assert_eq!(refused.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_routing_bench_in_the_browser() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &business_directory()).await.unwrap();
    assert_eq!(host.upload(fixtures::ROUTER_V2).await.status, 201);
    // Appeals for the preview to go over.
    for (n, text) in ["Работает одна касса", "Очередь на кассе", "Верните деньги"].iter().enumerate()
    {
        routed(&host, 20 + n as i64, 20 + n as i64, text).await;
    }
    let env = [("CLIENTHUB_ADMIN_TOKEN", TOKEN.to_string())];
    let shots = crate::console::run_browser(&host, "routing.mjs", &env).await;
    crate::console::assert_screenshots(&shots, &["routing-bench", "directory-preview"]);
    // The preview saved nothing.
    assert_eq!(host.api.get_json("/api/directory").await.unwrap()["topics"], business_directory()["topics"]);
}
