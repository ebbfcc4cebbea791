//! The Bitrix24 deal follows its appeal, through the real host and the bitrix24 connector,
//! against the stateful stand-in portal ([`crate::bitrix`]): the owner after assignment, take,
//! hand-off and escalation; stages both ways without echo; the timeline (pause with reason,
//! replies with author, a failed reply with the platform's error, the SLA breach); funnels per
//! topic; a messenger-only contact; appeals routed late reach the CRM once; a crash between an
//! update and its acknowledgement duplicates nothing; 200 appeals under the portal's bucket.

use crate::bitrix::{Fault, Portal, portal_for};
use crate::crm::delivered;
use crate::platform::Platform;
use crate::support::*;
use clienthub_artifacts::fixtures;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Returns operators (e-1, e-2) escalating to supervisors (s-1); vacancies to HR (h-1).
fn directory() -> Value {
    json!({
        "regions": [{"id": "msk", "name": "Москва", "cities": ["Москва"], "stores": ["101"]}],
        "departments": [
            {"id": "returns", "name": "Возвраты", "queue": "returns", "escalate_to": "supervisors"},
            {"id": "supervisors", "name": "Старшие смены", "queue": "supervisors"},
            {"id": "hr", "name": "Кадры", "queue": "hr"}
        ],
        "employees": [
            {"id": "e-1", "name": "Ольга", "department": "returns", "max_open": 1},
            {"id": "e-2", "name": "Рустам", "department": "returns", "max_open": 1},
            {"id": "s-1", "name": "Марина", "department": "supervisors"},
            {"id": "h-1", "name": "Инна", "department": "hr"}
        ],
        "topics": [
            {"id": "refund", "name": "Возврат", "keywords": ["вернуть"], "department": "returns",
             "reaction_minutes": 30, "resolution_minutes": 60},
            {"id": "vacancy", "name": "Вакансии", "keywords": ["ваканси", "работ"], "department": "hr"}
        ]
    })
}

/// Funnel 2 for returns with a stage per state; vacancies to the HR funnel 4.
fn connector() -> Value {
    json!({
        "funnels": {"vacancy": {"category_id": 4, "stage_id": "C4:NEW"}},
        "state_stages": {"2": {"in_work": "C2:EXECUTING", "paused": "C2:PAUSE", "resolved": "C2:WON",
            "reopened": "C2:EXECUTING", "overdue": "C2:OVERDUE"}}
    })
}

async fn act(host: &Host, id: &str, verb: &str, body: Value) {
    let answer = host
        .api
        .send(
            "POST",
            &format!("/api/appeals/{id}/{verb}"),
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{verb}: {}", String::from_utf8_lossy(&answer.body));
}

fn deal(portal: &Arc<Mutex<Portal>>, id: &str) -> Value {
    portal.lock().unwrap().deals.iter().find(|d| d["ID"] == json!(id)).cloned().unwrap_or_default()
}

async fn deal_shows(portal: &Arc<Mutex<Portal>>, id: &str, what: &str, check: impl Fn(&Value) -> bool) {
    eventually(what, async || check(&deal(portal, id))).await;
}

async fn timeline_has(portal: &Arc<Mutex<Portal>>, id: &str, what: &str, check: impl Fn(&str) -> bool) {
    eventually(what, async || portal.lock().unwrap().timeline(id).iter().any(|c| check(c))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deal_follows_its_appeal_owner_stages_both_ways_and_the_timeline() {
    let telegram = Platform::start(
        vec![
            (200, vec![], json!({"ok": true, "result": {"message_id": 42}})),
            (403, vec![], json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})),
        ],
        json!({"ok": true, "result": {"message_id": 43}}),
    )
    .await;
    let host = Host::builder().clock().start();
    crate::platform::telegram_through(&host, &telegram).await;
    let (_api, portal) = portal_for(&host, directory(), connector()).await;
    let id = appeal_id(&host.telegram(&telegram_update(9901, 901, "Хочу вернуть чайник")).await);
    let assigned = appeal_where(&host, &id, "assigned", |a| a.work.assignee.is_some()).await;
    let deal_id = delivered(&host, &id).await.crm.unwrap().id;
    let first = if assigned.work.assignee.as_deref() == Some("e-1") { "17" } else { "23" };
    deal_shows(&portal, &deal_id, "the dispatcher's assignee owns the deal", |d| {
        d["ASSIGNED_BY_ID"] == first
    })
    .await;
    assert_eq!(deal(&portal, &deal_id)["CATEGORY_ID"], "2");

    act(&host, &id, "take", json!({"employee": "e-1"})).await;
    deal_shows(&portal, &deal_id, "a take moves owner and stage", |d| {
        d["ASSIGNED_BY_ID"] == "17" && d["STAGE_ID"] == "C2:EXECUTING"
    })
    .await;
    // Bitrix24 tells of the stage ClientHub set (`ONCRMDEALUPDATE`): nothing changes, nothing
    // echoes.
    let before = host.appeal(&id).await.history.len();
    let event = fixture("plugins/bitrix24/fixtures/deal_update.txt");
    let form = "application/x-www-form-urlencoded";
    assert_eq!(host.hook("bitrix24", &[], form, &event).await.status, 200);
    assert_eq!(host.appeal(&id).await.history.len(), before, "an appeal in work stays as it is");
    act(&host, &id, "handoff", json!({"employee": "e-2", "reason": "клиент просит мастера"})).await;
    deal_shows(&portal, &deal_id, "a hand-off moves the owner", |d| d["ASSIGNED_BY_ID"] == "23").await;
    timeline_has(&portal, &deal_id, "the hand-off on the timeline", |c| {
        c.starts_with("Передано: Рустам") && c.ends_with(": клиент просит мастера")
    })
    .await;
    act(&host, &id, "pause", json!({"reason": "ждём фото чека"})).await;
    deal_shows(&portal, &deal_id, "a pause moves the stage", |d| d["STAGE_ID"] == "C2:PAUSE").await;
    timeline_has(&portal, &deal_id, "the pause and its reason", |c| {
        c.starts_with("Пауза") && c.ends_with(": ждём фото чека")
    })
    .await;
    act(&host, &id, "resume", json!({})).await;
    deal_shows(&portal, &deal_id, "work again", |d| d["STAGE_ID"] == "C2:EXECUTING").await;

    // The first reply is sent, the second refused by Telegram (one after the other).
    let path = format!("/api/appeals/{id}/replies");
    host.api.send_json("POST", &path, &json!({"text": "Мастер приедет завтра"})).await.unwrap();
    crate::platform::wait_for_reply(&host, &id, "sent").await;
    host.api.send_json("POST", &path, &json!({"text": "Уточните адрес"})).await.unwrap();
    timeline_has(&portal, &deal_id, "the sent reply with its author", |c| {
        c.starts_with("Ответ клиенту отправлен (") && c.ends_with("):\nМастер приедет завтра")
    })
    .await;
    timeline_has(&portal, &deal_id, "the failed reply with the platform's error", |c| {
        c.starts_with("Ответ клиенту НЕ доставлен (")
            && c.contains("Forbidden: bot was blocked by the user")
            && c.ends_with("Уточните адрес")
    })
    .await;

    act(&host, &id, "handoff", json!({"escalate": true, "reason": "срочно"})).await;
    appeal_where(&host, &id, "a supervisor holds it", |a| a.work.assignee.as_deref() == Some("s-1")).await;
    deal_shows(&portal, &deal_id, "an escalation moves the owner", |d| d["ASSIGNED_BY_ID"] == "31").await;
    timeline_has(&portal, &deal_id, "the escalation", |c| c.starts_with("Эскалация в отдел «Старшие смены»"))
        .await;

    host.advance_minutes(200).await;
    host.dispatcher_passes().await;
    appeal_where(&host, &id, "overdue", |a| a.work.resolution_overdue_at.is_some()).await;
    deal_shows(&portal, &deal_id, "the SLA breach moves the stage", |d| d["STAGE_ID"] == "C2:OVERDUE").await;
    timeline_has(&portal, &deal_id, "the SLA breach", |c| c.starts_with("Нарушен срок SLA")).await;

    // A stage moved in Bitrix24 changes the appeal, and is not sent back.
    portal.lock().unwrap().deals[0]["STAGE_ID"] = json!("C2:WON");
    assert_eq!(host.hook("bitrix24", &[], form, &event).await.status, 200);
    assert_eq!(host.appeal(&id).await.status.name(), "resolved");
    let updates = |p: &Arc<Mutex<Portal>>| p.lock().unwrap().timeline(&deal_id).len();
    let (comments, stage) = (updates(&portal), deal(&portal, &deal_id)["STAGE_ID"].clone());
    host.rounds_pass("crm").await; // The CRM worker has looked since: no echo comes.
    assert_eq!((updates(&portal), deal(&portal, &deal_id)["STAGE_ID"].clone()), (comments, stage));
    // A reopening in ClientHub moves the deal back into work.
    act(&host, &id, "reopen", json!({})).await;
    deal_shows(&portal, &deal_id, "reopened", |d| d["STAGE_ID"] == "C2:EXECUTING").await;
    let portal = portal.lock().unwrap();
    assert_eq!(portal.deals.len(), 1);
    assert!(portal.calls.get("batch").copied().unwrap_or(0) > 0, "owner, stage and comment go as one batch");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vacancy_lands_in_the_hr_funnel_and_a_messenger_customer_gets_one_im_contact() {
    let host = Host::start();
    let (_api, portal) = portal_for(&host, directory(), connector()).await;
    let vacancy = appeal_id(&host.telegram(&telegram_update(9911, 911, "Есть ли вакансии продавца?")).await);
    let refund = appeal_id(&host.telegram(&telegram_update(9912, 912, "Хочу вернуть чайник")).await);
    let vacancy_deal = delivered(&host, &vacancy).await.crm.unwrap().id;
    let refund_deal = delivered(&host, &refund).await.crm.unwrap().id;
    let (hr, returns) = (deal(&portal, &vacancy_deal), deal(&portal, &refund_deal));
    assert_eq!((&hr["CATEGORY_ID"], &hr["STAGE_ID"]), (&json!("4"), &json!("C4:NEW")));
    assert_eq!(
        (&returns["CATEGORY_ID"], &returns["STAGE_ID"]),
        (&json!("2"), &json!("C2:NEW")),
        "the default"
    );

    // The same customer's next appeal (after the first is resolved) finds their contact.
    act(&host, &refund, "resolve", json!({})).await;
    let again = appeal_id(&host.telegram(&telegram_update(9913, 912, "И ещё хочу вернуть утюг")).await);
    assert_ne!(again, refund);
    let again_deal = delivered(&host, &again).await.crm.unwrap().id;
    let portal = portal.lock().unwrap();
    let contact_of = |deal_id: &str| {
        let deal = portal.deals.iter().find(|d| d["ID"] == json!(deal_id)).unwrap();
        portal.contacts.iter().find(|c| c["ID"] == deal["CONTACT_ID"]).cloned().expect("a contact")
    };
    let contact = contact_of(&refund_deal);
    assert_eq!(contact["IM"], json!([{"VALUE": "912", "VALUE_TYPE": "TELEGRAM"}]));
    assert_eq!(contact["ORIGIN_ID"], "telegram:912");
    assert_eq!(contact_of(&again_deal)["ID"], contact["ID"], "one contact per customer");
    assert_eq!(portal.contacts.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reprocessed_and_a_reopened_appeal_reach_the_crm_once_each() {
    let host = Host::start();
    // Resolved while no CRM was connected, reopened once one is: it goes to the CRM then.
    let early = appeal_id(&host.telegram(&telegram_update(9921, 921, "Хочу вернуть чайник")).await);
    act(&host, &early, "resolve", json!({})).await;
    // A router that traps keeps the next appeal in triage.
    assert_eq!(host.upload(fixtures::TRAP_ROUTER).await.status, 201);
    host.activate("trap-router", "0.1.0").await;
    let triage = appeal_id(&host.telegram(&telegram_update(9922, 922, "Хочу вернуть утюг")).await);
    assert_eq!(host.appeal(&triage).await.status.name(), "triage");
    let (_api, portal) = portal_for(&host, directory(), connector()).await;
    host.rounds_pass("crm").await;
    assert!(portal.lock().unwrap().deals.is_empty(), "a resolved appeal and a triage one are not the CRM's");

    act(&host, &early, "reopen", json!({})).await;
    host.activate("rules-router", "0.1.1").await; // The fix.
    let reprocess = format!("/api/appeals/{triage}/reprocess");
    assert_eq!(host.api.send("POST", &reprocess, None).await.unwrap().status, 200);
    for id in [&early, &triage] {
        delivered(&host, id).await;
        act(&host, id, "take", json!({"employee": "e-1"})).await;
    }
    host.rounds_pass("crm").await; // The CRM worker has looked since: no second deal comes.
    let portal = portal.lock().unwrap();
    for id in [&early, &triage] {
        let deals = portal.deals.iter().filter(|d| d["ORIGIN_ID"] == json!(id)).count();
        assert_eq!(deals, 1, "{id} reaches the CRM once");
    }
    assert_eq!(portal.deals.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_an_update_and_its_acknowledgement_duplicates_no_comment_and_loses_no_owner() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = Host::builder().dir(dir.path()).start();
    let (_api, portal) = portal_for(&host, directory(), connector()).await;
    let id = appeal_id(&host.telegram(&telegram_update(9931, 931, "Хочу вернуть чайник")).await);
    let deal_id = delivered(&host, &id).await.crm.unwrap().id;
    // The portal applies the hand-off (owner and comment), then the answer is lost…
    portal.lock().unwrap().faults.push_back(Fault::ServeThen500);
    act(&host, &id, "handoff", json!({"employee": "e-2", "reason": "замена"})).await;
    deal_shows(&portal, &deal_id, "the portal applied the hand-off", |d| d["ASSIGNED_BY_ID"] == "23").await;
    // …and the host dies before it learns anything more.
    host.kill();
    portal.lock().unwrap().deals[0]["ASSIGNED_BY_ID"] = json!("1"); // Someone changed it meanwhile.
    host = host.relaunch();
    act(&host, &id, "take", json!({"employee": "e-1"})).await;
    deal_shows(&portal, &deal_id, "the later take wins", |d| d["ASSIGNED_BY_ID"] == "17").await;
    timeline_has(&portal, &deal_id, "the take", |c| c.starts_with("Взято в работу: Ольга")).await;
    let timeline = portal.lock().unwrap().timeline(&deal_id);
    let hand_offs = timeline.iter().filter(|c| c.starts_with("Передано: Рустам")).count();
    assert_eq!(hand_offs, 1, "one hand-off comment: {timeline:#?}");
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["crm_outbox"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn appeals_well_beyond_the_portal_s_burst_get_no_refusal() {
    const APPEALS: i64 = 100;
    let host = Host::builder().args(&["--crm-rate", "2", "--crm-burst", "50"]).start();
    let mut quiet = directory();
    quiet["employees"] = json!([]);
    let (_api, portal) = portal_for(&host, quiet, connector()).await;
    portal.lock().unwrap().limit_rate();
    let mut ids = Vec::new();
    for n in 0..APPEALS {
        ids.push(appeal_id(
            &host.telegram(&telegram_update(20_000 + n, 20_000 + n, "Хочу вернуть товар")).await,
        ));
    }
    // Twice the burst, then 2 a second: about 25 s.
    eventually_within("every appeal is delivered", Duration::from_secs(180), async || {
        portal.lock().unwrap().deals.len() >= APPEALS as usize
    })
    .await;
    let portal = portal.lock().unwrap();
    assert_eq!(portal.limited, 0, "the portal refused nothing");
    assert_eq!(portal.deals.len(), APPEALS as usize);
    let requests: usize = portal.calls.values().sum();
    println!("{APPEALS} appeals: {requests} requests to the portal, {:?}", portal.calls);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_lines_round_trip_a_customer_s_telegram_message_in_the_line_and_the_answer_out_once() {
    let telegram = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 77}})).await;
    let host = Host::start();
    crate::platform::telegram_through(&host, &telegram).await;
    let lines = json!({"line": 107, "client_id": "local.app", "client_secret": "app-secret",
        "refresh_token": "refresh-0", "event_handler": format!("{}/hooks/bitrix24", host.base),
        "oauth_url": "{portal}/oauth/token/"});
    let (_api, portal) = portal_for(&host, directory(), json!({"open_lines": lines})).await;

    let id = appeal_id(&host.telegram(&telegram_update(9941, 941, "Хочу вернуть чайник")).await);
    delivered(&host, &id).await;
    assert_eq!(appeal_id(&host.telegram(&telegram_update(9942, 941, "Чек приложу")).await), id);
    eventually("both messages are in the Open Line", async || {
        let portal = portal.lock().unwrap();
        let texts: Vec<&str> = portal
            .open_lines
            .iter()
            .filter(|(m, p)| m == "imconnector.send.messages" && p["MESSAGES"][0]["chat"]["id"] == json!(id))
            .filter_map(|(_, p)| p["MESSAGES"][0]["message"]["text"].as_str())
            .collect();
        texts == ["Хочу вернуть чайник", "Чек приложу"]
    })
    .await;
    {
        let portal = portal.lock().unwrap();
        let methods: Vec<&str> = portal.open_lines.iter().map(|(m, _)| m.as_str()).take(3).collect();
        assert_eq!(
            methods,
            ["imconnector.register", "imconnector.activate", "event.bind"],
            "set up once, first"
        );
        assert_eq!(portal.open_lines[1].1["LINE"], 107);
        assert_eq!(portal.open_lines[2].1["handler"], format!("{}/hooks/bitrix24", host.base));
        let message = &portal.open_lines[3].1["MESSAGES"][0];
        assert_eq!(message["user"]["id"], "telegram:941");
        assert_eq!(portal.open_lines.iter().filter(|(m, _)| m == "imconnector.register").count(), 1);
    }

    // The operator answers in the line; Bitrix24 sends the event twice (a retry).
    let form = "application/x-www-form-urlencoded";
    let event = String::from_utf8(fixture("plugins/bitrix24/fixtures/openlines_message_add.txt"))
        .unwrap()
        .replace("01APPEAL", &id);
    for _ in 0..2 {
        let answer = host.hook("bitrix24", &[], form, event.as_bytes()).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }
    let sent = crate::platform::wait_for_reply(&host, &id, "sent").await;
    assert_eq!(sent.replies.len(), 1, "a retried event sends nothing twice");
    assert_eq!(sent.replies[0].author.as_deref(), Some("Bitrix24 user 27"));
    let call = telegram.received().into_iter().find(|c| c.path.ends_with("/sendMessage")).unwrap();
    assert_eq!(call.json()["text"], "Ольга:\nЗамену привезём завтра", "BB-code as plain text");
    assert_eq!(call.json()["chat_id"], 941);
    eventually("the delivery is confirmed in the line", async || {
        portal.lock().unwrap().open_lines.iter().any(|(m, p)| {
            m == "imconnector.send.status.delivery"
                && p["MESSAGES"][0]["im"] == json!({"chat_id": 1807, "message_id": 86497})
                && p["MESSAGES"][0]["chat"]["id"] == json!(id)
        })
    })
    .await;
    host.rounds_pass("replies").await;
    let sends = telegram.received().iter().filter(|c| c.path.ends_with("/sendMessage")).count();
    assert_eq!(sends, 1);
    let forged = event.replace("b24-app-token-51f0", "guess");
    assert_eq!(host.hook("bitrix24", &[], form, forged.as_bytes()).await.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_customer_s_photo_is_attached_to_the_deal_not_named_by_an_id() {
    use base64::Engine;
    let photo: Vec<u8> = (0..50_000u32).map(|n| (n * 7 % 251) as u8).collect();
    let served = photo.clone();
    let bot_api =
        Platform::serve(Arc::new(move |r: &crate::platform::Received| -> crate::platform::Scripted {
            match r.path.as_str() {
                "/bot123456:ABC-def/getFile" => (
                    200,
                    vec![],
                    json!({"ok": true, "result": {
                "file_id": "AgACAgIAAxkBAAIBZ2Large", "file_unique_id": "AQADs9", "file_size": 50000,
                "file_path": "photos/file_9.jpg"}}),
                ),
                "/file/bot123456:ABC-def/photos/file_9.jpg" => {
                    (200, vec![("content-type", "image/jpeg".into())], crate::platform::file_body(&served))
                }
                _ => (404, vec![], json!({"ok": false, "error_code": 404, "description": "Not Found"})),
            }
        }))
        .await;
    let host = Host::start();
    crate::platform::telegram_through(&host, &bot_api).await;
    let (_api, portal) = portal_for(&host, directory(), connector()).await;
    let update = json!({"update_id": 9951, "message": {"message_id": 951, "date": 1763900000,
        "from": {"id": 951, "is_bot": false, "first_name": "Мария"}, "chat": {"id": 951, "type": "private"},
        "caption": "Хочу вернуть чайник, вот фото скола",
        "photo": [{"file_id": "AgACAgIAAxkBAAIBZ2Large", "file_unique_id": "AQADs9", "file_size": 50000,
            "width": 1280, "height": 960}]}});
    let id = appeal_id(&host.telegram(update.to_string().as_bytes()).await);
    let deal_id = delivered(&host, &id).await.crm.unwrap().id;
    eventually("the photo is on the deal's timeline", async || {
        portal
            .lock()
            .unwrap()
            .comments
            .iter()
            .any(|c| c["ENTITY_ID"] == json!(deal_id) && c["FILES"].is_array())
    })
    .await;
    let portal = portal.lock().unwrap();
    let comment = portal.comments.iter().find(|c| c["FILES"].is_array()).unwrap();
    assert!(comment["COMMENT"].as_str().unwrap().starts_with("Файл от клиента: фото 1: 48 KiB"), "{comment}");
    let files = comment["FILES"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0][0], "photo.jpg");
    let body = base64::engine::general_purpose::STANDARD.decode(files[0][1].as_str().unwrap()).unwrap();
    assert!(body == photo, "the photo's bytes, not an id");
}
