//! Assignment, operator actions, escalation and SLA clocks through the real host, with its
//! clock advanced by the test (`--clock-control`): fair assignment and the fallback queue, an
//! appeal assigned as soon as someone frees up, escalation after a time-out, an overdue notice
//! to the brigade's Telegram chat, and a pause that stops the clock.

use crate::platform::Platform;
use crate::support::*;
use serde_json::{Value, json};

/// Two returns operators holding one appeal each at most, a supervisors level, deliveries.
fn directory(notify_to: Option<&str>) -> Value {
    let (mut notify, mut by_region) = (Value::Null, json!({}));
    if let Some(chat) = notify_to {
        notify = json!({"channel": "telegram", "to": chat});
        by_region = json!({"msk": {"channel": "telegram", "to": "-100888"}});
    }
    json!({
        "regions": [{"id": "msk", "name": "Москва", "cities": ["Москва"], "stores": ["101"]}],
        "departments": [
            {"id": "returns", "name": "Возвраты", "queue": "returns", "fallback_queue": "returns-backlog",
             "escalate_to": "supervisors", "escalate_after_minutes": 20},
            {"id": "supervisors", "name": "Старшие смены", "queue": "supervisors", "manager": "s-1", "notify": notify,
             "notify_regions": by_region},
            {"id": "delivery", "name": "Доставка", "queue": "delivery"}
        ],
        "employees": [
            {"id": "e-1", "name": "Ольга", "department": "returns", "max_open": 1},
            {"id": "e-2", "name": "Рустам", "department": "returns", "max_open": 1},
            {"id": "s-1", "name": "Марина", "department": "supervisors"},
            {"id": "d-1", "name": "Пётр", "department": "delivery"}
        ],
        "topics": [
            {"id": "refund", "name": "Возврат", "keywords": ["вернуть"], "department": "returns",
             "reaction_minutes": 30, "resolution_minutes": 60},
            {"id": "shipping", "name": "Доставка", "keywords": ["доставк"], "department": "delivery"}
        ],
        "pause_limit_minutes": 60
    })
}

async fn act(host: &Host, id: &str, verb: &str, body: Value) -> hyper::StatusCode {
    let answer = host
        .api
        .send(
            "POST",
            &format!("/api/appeals/{id}/{verb}"),
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
        .unwrap();
    hyper::StatusCode::from_u16(answer.status).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn fair_assignment_a_full_team_means_the_fallback_queue_and_a_free_hand_takes_it() {
    let host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &directory(None)).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(appeal_id(&host.telegram(&telegram_update(9900 + n, 900 + n, "Хочу вернуть товар")).await));
    }
    let first = appeal_where(&host, &ids[0], "assigned", |a| a.work.assignee.is_some()).await;
    let second = appeal_where(&host, &ids[1], "assigned", |a| a.work.assignee.is_some()).await;
    let mut holders = [first.work.assignee.as_deref().unwrap(), second.work.assignee.as_deref().unwrap()];
    holders.sort();
    assert_eq!(holders, ["e-1", "e-2"], "one each");
    let third =
        appeal_where(&host, &ids[2], "waiting", |a| a.history.iter().any(|e| e.stage() == "waiting")).await;
    assert!(third.work.assignee.is_none());
    let why = last_detail(&third, "waiting");
    assert!(why.starts_with("in queue returns-backlog") && why.contains("is full"), "{why}");

    // The first is resolved: its holder frees up and takes the waiting one.
    assert_eq!(act(&host, &ids[0], "resolve", json!({"by": "admin"})).await, 200);
    let freed = first.work.assignee.clone().unwrap();
    let third = appeal_where(&host, &ids[2], "assigned", |a| a.work.assignee.is_some()).await;
    assert_eq!(third.work.assignee.as_deref(), Some(freed.as_str()));
    assert!(last_detail(&third, "assigned").contains(&freed));
}

#[tokio::test(flavor = "multi_thread")]
async fn not_taken_in_time_escalates_and_a_missed_deadline_notifies_the_brigade_chat() {
    let telegram = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 1}})).await;
    let host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &directory(Some("-100777"))).await.unwrap();
    crate::platform::telegram_through(&host, &telegram).await;
    let id = appeal_id(&host.telegram(&telegram_update(9950, 950, "Хочу вернуть товар")).await);
    // The same in Moscow: its notice goes to the Moscow brigade's chat.
    let moscow = appeal_id(&host.telegram(&telegram_update(9951, 951, "Хочу вернуть товар, Москва")).await);
    appeal_where(&host, &id, "assigned", |a| a.work.assignee.is_some()).await;

    host.advance_minutes(21).await;
    let escalated =
        appeal_where(&host, &id, "escalated", |a| a.work.department.as_deref() == Some("supervisors")).await;
    assert!(last_detail(&escalated, "escalated").contains("not taken within 20 min in returns"));
    let escalated =
        appeal_where(&host, &id, "reassigned", |a| a.work.assignee.as_deref() == Some("s-1")).await;
    assert_eq!(escalated.work.escalations, 1);
    assert!(telegram.received().is_empty(), "nothing overdue yet");

    host.advance_minutes(10).await;
    let overdue =
        appeal_where(&host, &id, "notified", |a| a.history.iter().any(|e| e.stage() == "overdue_notice"))
            .await;
    assert!(last_detail(&overdue, "overdue").starts_with("reaction deadline missed"));
    assert_eq!(last_detail(&overdue, "overdue_notice"), "sent to telegram -100777");
    let notices: Vec<Value> = telegram.received().iter().map(|r| r.json()).collect();
    let notice = notices.iter().find(|n| n["text"].as_str().unwrap().contains(&id)).unwrap();
    assert_eq!(notice["chat_id"], -100777);
    let regional =
        appeal_where(&host, &moscow, "notified", |a| a.history.iter().any(|e| e.stage() == "overdue_notice"))
            .await;
    assert_eq!(regional.work.region.as_deref(), Some("msk"));
    assert_eq!(last_detail(&regional, "overdue_notice"), "sent to telegram -100888");
    let text = notice["text"].as_str().unwrap();
    assert!(
        text.starts_with("Просрочено: срок реакции")
            && text.contains(&id)
            && text.contains("руководитель: Марина"),
        "{text}"
    );
    // Flagged once: more time brings no second reaction notice.
    host.advance_minutes(1).await;
    host.dispatcher_passes().await;
    assert_eq!(telegram.received().len(), 2, "one notice per appeal");
}

#[tokio::test(flavor = "multi_thread")]
async fn notice_webhooks_reach_allowed_public_hosts_only() {
    let receiver = Platform::start(vec![], json!({})).await;
    let host = Host::builder().args(&["--public-outbound-only", "--clock-control"]).start();
    let put = async |path: &str, hosts: Value| {
        host.api
            .send("PUT", path, Some(("application/json", hosts.to_string().into_bytes())))
            .await
            .unwrap()
            .status
    };
    for bad in [
        "127.0.0.1",
        "localhost",
        "169.254.169.254",
        "0.0.0.0",
        "*.0.0.1",
        "[::1]:80",
        receiver.base.as_str(),
    ] {
        assert_eq!(put("/api/notice-hosts", json!({"hosts": [bad]})).await, 400, "{bad}");
        assert_eq!(put("/api/plugins/telegram/outbound-hosts", json!({"hosts": [bad]})).await, 400, "{bad}");
    }
    // A name the allowlist admits that resolves to this machine: the machine's own name.
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_lowercase();
    let port = receiver.base.rsplit(':').next().unwrap();
    assert_eq!(put("/api/notice-hosts", json!({"hosts": [format!("http://{name}:{port}")]})).await, 200);
    let mut directory = directory(None);
    directory["departments"][1]["notify"] =
        json!({"channel": "webhook", "to": format!("http://{name}:{port}/notify?token=s3cret")});
    host.api.send_json("PUT", "/api/directory", &directory).await.unwrap();
    let id = appeal_id(&host.telegram(&telegram_update(9960, 960, "Хочу вернуть товар")).await);
    appeal_where(&host, &id, "assigned", |a| a.work.assignee.is_some()).await;
    host.advance_minutes(21).await;
    appeal_where(&host, &id, "escalated", |a| a.work.department.as_deref() == Some("supervisors")).await;
    host.advance_minutes(10).await;
    let overdue =
        appeal_where(&host, &id, "notified", |a| a.history.iter().any(|e| e.stage() == "overdue_notice"))
            .await;
    let detail = last_detail(&overdue, "overdue_notice");
    assert!(detail.contains("resolves to a loopback, private or link-local address"), "{detail}");
    assert!(detail.contains(&format!("http://{name}:{port}")) && !detail.contains("s3cret"), "{detail}");
    assert!(receiver.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_actions_and_a_pause_that_stops_the_resolution_clock() {
    let host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &directory(None)).await.unwrap();
    let id = appeal_id(&host.telegram(&telegram_update(9980, 980, "Хочу вернуть товар")).await);
    appeal_where(&host, &id, "assigned", |a| a.work.assignee.is_some()).await;
    assert_eq!(act(&host, &id, "take", json!({"employee": "e-2"})).await, 200);
    assert_eq!(act(&host, &id, "take", json!({"employee": "nobody"})).await, 400);
    assert_eq!(act(&host, &id, "resume", json!({})).await, 409, "not paused");

    host.advance_minutes(5).await;
    assert_eq!(act(&host, &id, "pause", json!({"reason": "ждём фото чека"})).await, 200);
    host.advance_minutes(40).await; // 45 min in, 40 of them paused: the 60-minute clock is at 5.
    host.advance_minutes(25).await; // 70 min in; paused 65, counted 60 (the limit): clock at 10.
    host.dispatcher_passes().await;
    let paused = host.appeal(&id).await;
    assert_eq!(paused.status.name(), "paused");
    assert!(paused.work.resolution_overdue_at.is_none(), "{paused:#?}");
    assert_eq!(act(&host, &id, "resume", json!({})).await, 200);
    host.advance_minutes(51).await; // The clock passes 60 minutes.
    let overdue =
        appeal_where(&host, &id, "resolution overdue", |a| a.work.resolution_overdue_at.is_some()).await;
    assert!(last_detail(&overdue, "overdue").starts_with("resolution deadline missed"));
    assert!(overdue.work.reaction_overdue_at.is_none(), "taken in time");

    assert_eq!(
        act(&host, &id, "handoff", json!({"department": "delivery", "reason": "это доставка"})).await,
        200
    );
    let handed =
        appeal_where(&host, &id, "assigned in delivery", |a| a.work.assignee.as_deref() == Some("d-1")).await;
    assert_eq!(handed.work.department.as_deref(), Some("delivery"));
    assert!(last_detail(&handed, "handed_off").contains("to department delivery"));
    assert_eq!(
        act(&host, &id, "handoff", json!({"escalate": true})).await,
        409,
        "delivery has no next level"
    );
    assert_eq!(act(&host, &id, "resolve", json!({})).await, 200);
    assert_eq!(act(&host, &id, "resolve", json!({})).await, 409);
    assert_eq!(act(&host, &id, "reopen", json!({})).await, 200);
}

fn near(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 0.25)
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_and_metrics_match_hand_computed_values() {
    let host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &directory(None)).await.unwrap();
    let mut refunds = Vec::new();
    for n in 0..3 {
        refunds
            .push(appeal_id(&host.telegram(&telegram_update(9990 + n, 990 + n, "Хочу вернуть товар")).await));
    }
    let shipping = appeal_id(&host.telegram(&telegram_update(9995, 995, "Когда доставка?")).await);
    let dropped = appeal_id(&host.telegram(&telegram_update(9996, 996, "Участвую! #конкурс")).await);
    let a1 = appeal_where(&host, &refunds[0], "assigned", |a| a.work.assignee.is_some()).await;
    let a2 = appeal_where(&host, &refunds[1], "assigned", |a| a.work.assignee.is_some()).await;

    // A1 taken at 10 min and resolved at 40; A2 taken at 20; A3 never: it escalates to the
    // supervisors at 20 and misses its 30-minute reaction deadline there; the shipping appeal
    // is never taken (no SLA on its topic).
    host.advance_minutes(10).await;
    assert_eq!(act(&host, &refunds[0], "take", json!({"employee": a1.work.assignee})).await, 200);
    host.advance_minutes(10).await;
    assert_eq!(act(&host, &refunds[1], "take", json!({"employee": a2.work.assignee})).await, 200);
    host.advance_minutes(20).await;
    assert_eq!(act(&host, &refunds[0], "resolve", json!({})).await, 200);
    appeal_where(&host, &refunds[2], "overdue", |a| a.work.reaction_overdue_at.is_some()).await;

    // The list answers combined filters from the indexes.
    let assignee = a2.work.assignee.clone().unwrap();
    let path = format!("/api/appeals?status=in_work&department=returns&channel=telegram&assignee={assignee}");
    let listed = host.api.get_json(&path).await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["id"], refunds[1].as_str());
    let topic = host.api.get_json("/api/appeals?topic=refund&limit=2").await.unwrap();
    assert_eq!((topic["items"].as_array().unwrap().len(), topic["next"].is_string()), (2, true), "{topic}");
    let next = format!("/api/appeals?topic=refund&limit=2&before={}", topic["next"].as_str().unwrap());
    assert_eq!(host.api.get_json(&next).await.unwrap()["items"].as_array().unwrap().len(), 1);
    let old = host.api.get_json("/api/appeals?from=2020-01-01&to=2020-01-02").await.unwrap();
    assert_eq!(old["items"], json!([]));
    assert_eq!(host.api.send("GET", "/api/appeals?colour=red", None).await.unwrap().status, 400);

    let by_department = host.api.get_json("/api/reports/appeals?by=department").await.unwrap();
    assert_eq!(
        by_department,
        json!([{"department": "-", "appeals": 1}, {"department": "delivery", "appeals": 1},
               {"department": "returns", "appeals": 2}, {"department": "supervisors", "appeals": 1}])
    );
    let by_status = host.api.get_json("/api/reports/appeals?by=status").await.unwrap();
    let count = |status: &str| {
        by_status.as_array().unwrap().iter().find(|r| r["status"] == status).map(|r| r["appeals"].clone())
    };
    assert_eq!(
        (count("resolved"), count("in_work"), count("dropped")),
        (Some(json!(1)), Some(json!(1)), Some(json!(1)))
    );

    let times = host.api.get_json("/api/reports/times?by=topic").await.unwrap();
    let refund = times.as_array().unwrap().iter().find(|r| r["topic"] == "refund").unwrap().clone();
    assert_eq!(
        (refund["reaction_count"].clone(), refund["resolution_count"].clone()),
        (json!(2), json!(1)),
        "{refund}"
    );
    assert!(near(&refund["reaction_avg_min"], 15.0) && near(&refund["reaction_p90_min"], 20.0), "{refund}");
    assert!(
        near(&refund["resolution_avg_min"], 40.0) && near(&refund["resolution_p90_min"], 40.0),
        "{refund}"
    );

    let overdue = host.api.get_json("/api/reports/overdue?by=department").await.unwrap();
    assert_eq!(overdue.as_array().unwrap().len(), 1, "{overdue:?}");
    let supervisors = &overdue[0];
    assert_eq!(
        (supervisors["department"].clone(), supervisors["reaction_overdue"].clone()),
        (json!("supervisors"), json!(1))
    );
    assert!(near(&supervisors["avg_overdue_min"], 10.0), "{overdue:?}");

    let dropped_report = host.api.get_json("/api/reports/dropped").await.unwrap();
    assert_eq!(
        dropped_report,
        json!([{"filter": "contest-filter@0.1.0", "reason": "contest hashtag #конкурс", "appeals": 1}])
    );
    let csv = host.api.send("GET", "/api/reports/appeals?by=channel&format=csv", None).await.unwrap();
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(String::from_utf8_lossy(&csv.body), "channel,appeals\ntelegram,5\n");
    let none = host.api.get_json("/api/reports/appeals?from=2020-01-01&to=2020-01-02").await.unwrap();
    assert_eq!(none, json!([]));
    assert_eq!(host.api.send("GET", "/api/reports/appeals?by=colour", None).await.unwrap().status, 400);
    assert_eq!(host.anonymous.send("GET", "/api/reports/appeals", None).await.unwrap().status, 401);

    // The breach counter and the open-appeals gauge move after the overdue mark is stored:
    // let the pass that stored it finish first.
    host.dispatcher_passes().await;
    let metrics = host.metrics().await;
    for line in [
        "clienthub_appeals_total{channel=\"telegram\",status=\"routed\"} 4",
        "clienthub_appeals_total{channel=\"telegram\",status=\"dropped\"} 1",
        "clienthub_sla_breaches_total{deadline=\"reaction\",department=\"supervisors\"} 1",
        "clienthub_outbox_depth{outbox=\"crm\"} 0",
        "clienthub_appeals_open 3",
        "clienthub_appeals_stored{status=\"resolved\"} 1",
        "clienthub_appeals_stored{status=\"dropped\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    assert!(metrics.contains("clienthub_plugin_calls_total{plugin=\"telegram@0.2.4\"}"));
    assert!(metrics.contains("clienthub_plugin_call_seconds_bucket{le="), "{metrics}");
    // Every acknowledged webhook waited for a journal sync; the writes sit in the memtables.
    let value = |name: &str| -> f64 {
        let line = metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' '));
        line.unwrap_or_else(|| panic!("{name} missing from:\n{metrics}")).parse().unwrap()
    };
    assert!(value("clienthub_store_syncs_total") >= 1.0, "{metrics}");
    assert!(value("clienthub_store_sync_seconds_total") > 0.0, "{metrics}");
    assert!(value("clienthub_store_memory_bytes{part=\"memtables\"}") > 0.0, "{metrics}");
    assert!(value("clienthub_store_memory_bytes{part=\"block_cache\"}") >= 0.0, "{metrics}");
    // The memtables are on the heap malloc reports (glibc, where the tests run), with more.
    let in_use = value("clienthub_process_heap_bytes{part=\"in_use\"}");
    assert!(in_use > value("clienthub_store_memory_bytes{part=\"memtables\"}"), "{metrics}");
    assert!(value("clienthub_process_heap_bytes{part=\"free\"}") >= 0.0, "{metrics}");
    let _ = (shipping, dropped);
}
