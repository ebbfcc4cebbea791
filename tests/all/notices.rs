//! Notices when work arrives (issue 18): a new appeal to the region's brigade chat, an
//! assignment and a hand-off to the person's own chat, an escalation to the managers' chat —
//! each once, across crashes; quiet hours hold a notice back.

use crate::platform::{Platform, Received};
use crate::support::{Host, appeal_id, eventually};
use serde_json::{Value, json};

fn directory(quiet: Option<String>) -> Value {
    let mut brigade =
        json!({"events": ["new"], "region": "kzn", "to": {"channel": "telegram", "to": "-100777"}});
    if let Some(quiet) = quiet {
        brigade["quiet"] = json!(quiet);
    }
    json!({
        "regions": [{"id": "kzn", "name": "Казань", "cities": ["Казань"]}],
        "departments": [
            {"id": "service", "name": "Сервис", "queue": "service", "escalate_to": "managers"},
            {"id": "managers", "name": "Руководители", "queue": "managers"}
        ],
        "employees": [
            {"id": "rustam", "name": "Рустам", "department": "service", "regions": ["kzn"], "notify": {"channel": "telegram", "to": "2001"}},
            {"id": "ivan", "name": "Иван", "department": "service", "regions": ["kzn"], "notify": {"channel": "telegram", "to": "2002"}}
        ],
        "topics": [{"id": "repair", "name": "Ремонт", "keywords": ["кран", "автомат"], "department": "service"}],
        "notices": [
            brigade,
            {"events": ["assigned", "handed_off"], "to": {"channel": "assignee"}},
            {"events": ["escalated"], "to": {"channel": "telegram", "to": "-100999"}}
        ]
    })
}

/// The `sendMessage` calls the stand-in received, as (chat id, text).
fn messages(api: &Platform) -> Vec<(String, String)> {
    api.received()
        .iter()
        .filter(|r: &&Received| r.path.ends_with("/sendMessage"))
        .map(|r| {
            let body = r.json();
            (
                body["chat_id"].to_string().trim_matches('"').to_string(),
                body["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    eventually(what, async || done()).await;
}

async fn webhook(host: &Host, update: u64, text: &str) -> String {
    let body = json!({"update_id": update, "message": {"message_id": update, "date": 1763900000, "text": text,
    "from": {"id": update, "is_bot": false, "first_name": "Мария"}, "chat": {"id": update, "type": "private"}},
    });
    appeal_id(&host.telegram(body.to_string().as_bytes()).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn new_assigned_handed_off_and_escalated_notices_reach_their_chats_once_each_across_crashes() {
    let mut host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &directory(None)).await.unwrap();
    let api = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 1}})).await;
    // The bot is configured but its API not yet allowed: every notice fails and waits.
    let config = json!({"bot_token": "123456:ABC-def", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/telegram/config", &config).await.unwrap();
    let id = webhook(&host, 7001, "Казань, магазин 201: сломан автомат 4521, течёт кран").await;
    let assignee = eventually("the appeal is assigned", async || {
        host.appeal_json(&id).await["work"]["assignee"].as_str().map(str::to_string)
    })
    .await;
    let other = if assignee == "rustam" { "ivan" } else { "rustam" };
    host.api
        .send_json("POST", &format!("/api/appeals/{id}/handoff"), &json!({"employee": other}))
        .await
        .unwrap();
    host.api
        .send_json("POST", &format!("/api/appeals/{id}/handoff"), &json!({"escalate": true}))
        .await
        .unwrap();
    // The notifier tries, and its host is not allowed yet: nothing reaches the platform.
    eventually("the notifier's first refused attempts", async || {
        host.metric("clienthub_notices_total", &[r#"outcome="retry""#]).await >= 2.0
    })
    .await;
    assert!(messages(&api).is_empty(), "nothing reached the platform yet");

    // A crash with every notice still to send; after it, the bot's API is allowed.
    host.kill();
    let host = host.relaunch();
    host.api
        .send_json("PUT", "/api/plugins/telegram/outbound-hosts", &json!({"hosts": [api.base]}))
        .await
        .unwrap();
    host.advance_minutes(30).await;
    until("four notices", || messages(&api).len() >= 4).await;
    // Killed once every notice is recorded as sent (a death between the platform's answer
    // and that record may repeat one: the documented at-least-once window).
    eventually("four notices recorded as sent", async || {
        let appeal = host.appeal_json(&id).await;
        appeal["history"].as_array().unwrap().iter().filter(|e| e["stage"] == "notice").count() == 4
    })
    .await;
    let mut host = host;
    host.kill();
    let host = host.relaunch();
    host.advance_minutes(60).await;
    host.dispatcher_passes().await;
    host.rounds_pass("notices").await; // The notifier has looked since the restart.

    let sent = messages(&api);
    let mut chats: Vec<&str> = sent.iter().map(|(chat, _)| chat.as_str()).collect();
    chats.sort();
    let (first, second) = if assignee == "rustam" { ("2001", "2002") } else { ("2002", "2001") };
    let mut expected = vec!["-100777", first, second, "-100999"];
    expected.sort();
    assert_eq!(chats, expected, "each notice once: {sent:?}");
    let brigade = &sent.iter().find(|(chat, _)| chat == "-100777").unwrap().1;
    let label = host.appeal(&id).await.label();
    for part in [
        &format!("Новое обращение {label}: Ремонт · Казань · Сервис"),
        "Клиент: Мария",
        "сломан автомат 4521",
        &format!("/console/#/appeal/{id}"),
    ] {
        assert!(brigade.contains(part), "{part:?} in {brigade}");
    }
    let escalation = &sent.iter().find(|(chat, _)| chat == "-100999").unwrap().1;
    assert!(
        escalation.starts_with(&format!("Эскалация {label}: Ремонт · Казань · Руководители")),
        "{escalation}"
    );
    let appeal = host.appeal_json(&id).await;
    let told: Vec<&str> = appeal["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stage"] == "notice")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(told.len(), 4, "{told:?}");
    assert!(told.contains(&"Новое обращение: отправлено: telegram -100777"), "{told:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_waits_out_the_quiet_hours_in_the_regions_time() {
    let host = Host::builder().clock().start();
    // Quiet from a minute ago to half an hour on, in UTC (the directory's offset is 0).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 60;
    let hhmm = |minute: u64| format!("{:02}:{:02}", (minute / 60) % 24, minute % 60);
    let quiet = format!("{}-{}", hhmm(now - 1), hhmm(now + 30));
    host.api.send_json("PUT", "/api/directory", &directory(Some(quiet))).await.unwrap();
    let api = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 1}})).await;
    crate::platform::telegram_through(&host, &api).await;
    webhook(&host, 7101, "Казань: течёт кран").await;
    until("the assignee's notice", || messages(&api).iter().any(|(chat, _)| chat != "-100777")).await;
    host.rounds_pass("notices").await;
    assert!(!messages(&api).iter().any(|(chat, _)| chat == "-100777"), "the brigade chat is quiet");
    host.advance_minutes(31).await;
    until("the brigade's notice after the quiet hours", || {
        messages(&api).iter().any(|(chat, _)| chat == "-100777")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_brigade_chat_gets_a_new_repair_request_with_its_photo() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory(None)).await.unwrap();
    let photo: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
    let served = photo.clone();
    let api = Platform::serve(std::sync::Arc::new(move |r: &Received| {
        match r.path.rsplit('/').next().unwrap_or("") {
            "getFile" => (
                200,
                vec![],
                json!({"ok": true, "result": {"file_id": "AgACAgIAAxkBAAIB", "file_path": "photos/f.jpg"}}),
            ),
            "f.jpg" => {
                (200, vec![("content-type", "image/jpeg".to_string())], crate::platform::file_body(&served))
            }
            _ => (200, vec![], json!({"ok": true, "result": {"message_id": 5}})),
        }
    }))
    .await;
    crate::platform::telegram_through(&host, &api).await;
    let update = json!({"update_id": 7201, "message": {"message_id": 3, "date": 1763900000,
        "caption": "Казань, ТЦ Кольцо: сломан автомат 4521, не отдаёт сдачу",
        "from": {"id": 7201, "is_bot": false, "first_name": "Мария"}, "chat": {"id": 7201, "type": "private"},
        "photo": [{"file_id": "AgACAgIAAxkBAAIB", "file_unique_id": "u", "width": 800, "height": 600}]}});
    let id = appeal_id(&host.telegram(update.to_string().as_bytes()).await);
    let to_brigade =
        |r: &Received| r.path.ends_with("/sendPhoto") && r.body.windows(9).any(|w| w == b"\r\n-100777");
    until("the photo in the brigade chat", || api.received().iter().any(to_brigade)).await;
    let calls = api.received();
    let text = messages(&api)
        .into_iter()
        .find(|(chat, _)| chat == "-100777")
        .unwrap_or_else(|| {
            panic!(
                "the text notice: {:?}",
                calls
                    .iter()
                    .map(|r| (
                        r.path.clone(),
                        String::from_utf8_lossy(&r.body).chars().take(300).collect::<String>()
                    ))
                    .collect::<Vec<_>>()
            )
        })
        .1;
    assert!(text.contains("сломан автомат 4521") && text.contains("Файлы: 1 (фото: 1)"), "{text}");
    let sent = calls.iter().find(|r| to_brigade(r)).unwrap();
    let boundary = sent.header("content-type").unwrap().split("boundary=").nth(1).unwrap().to_string();
    let body = &sent.body;
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"name=\"chat_id\"\r\n\r\n-100777\r\n"), "to the brigade chat");
    let label = host.appeal(&id).await.label();
    assert!(has(format!("Фото к обращению {label}").as_bytes()));
    assert!(has(b"name=\"photo\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"));
    assert!(has(&photo), "the customer's very photo");
    assert!(body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
    // The text notice went first, then the photo; the customer's photo was fetched once.
    let order: Vec<&str> = calls.iter().map(|r| r.path.rsplit('/').next().unwrap()).collect();
    let text_at = calls
        .iter()
        .position(|r| r.path.ends_with("/sendMessage") && r.json()["chat_id"] == -100777)
        .unwrap();
    assert!(text_at < calls.iter().position(to_brigade).unwrap(), "{order:?}");
    assert_eq!(order.iter().filter(|p| **p == "f.jpg").count(), 1, "{order:?}");
}
