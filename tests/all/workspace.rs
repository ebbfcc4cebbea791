//! The operator's workspace through the real host (issue 17): a call card typed in by hand
//! going through the router, reclassification and routing again, internal notes that never
//! reach the customer, a topic's checklist that holds back resolving, ready answers filled in
//! for the appeal, and the live event stream limited to what the viewer may see.

use crate::support::*;
use clienthub::client::Client;
use serde_json::{Value, json};

pub(crate) fn directory() -> Value {
    json!({
        "regions": [
            {"id": "msk", "name": "Москва", "cities": ["Москва"]},
            {"id": "kzn", "name": "Казань", "cities": ["Казань"]}
        ],
        "departments": [
            {"id": "returns", "name": "Возвраты", "queue": "returns"},
            {"id": "service", "name": "Сервис", "queue": "service"}
        ],
        "employees": [
            {"id": "rustam", "name": "Рустам", "department": "service", "regions": ["kzn"]},
            {"id": "olga", "name": "Ольга", "department": "returns"}
        ],
        "topics": [
            {"id": "refund", "name": "Возврат", "keywords": ["вернуть"], "department": "returns"},
            {"id": "repair", "name": "Ремонт", "keywords": ["кран"], "department": "service",
             "checklist": [
                {"id": "photo", "text": "Фото до ремонта", "required": true},
                {"id": "act", "text": "Акт подписан клиентом", "required": true},
                {"id": "advice", "text": "Совет по уходу"}
             ]},
            {"id": "install", "name": "Установка", "keywords": ["установ"], "department": "service"}
        ]
    })
}

async fn person(host: &Host, employee: &str, role: &str) -> Client {
    let issued = host
        .api
        .send_json("POST", "/api/tokens", &json!({"role": role, "employee": employee}))
        .await
        .unwrap();
    Client::new(&host.base, Some(issued["token"].as_str().unwrap().to_string()))
}

fn stages(appeal: &Value) -> Vec<(String, String)> {
    appeal["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["stage"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_card_is_routed_reclassified_noted_checked_off_and_answered_from_a_template() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let rustam = person(&host, "rustam", "operator").await;
    let card = json!({"channel": "phone", "contact": {"name": "Мария", "phone": "8 912 345-67-89"},
        "text": "Казань, течёт кран на кухне"});
    let wrong = rustam
        .send(
            "POST",
            "/api/appeals",
            Some(("application/json", json!({"channel": "telegram", "text": "x"}).to_string().into_bytes())),
        )
        .await
        .unwrap();
    assert_eq!(wrong.status, 400);
    let created = rustam.send_json("POST", "/api/appeals", &card).await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        (created["channel"].as_str(), created["contact"]["phone"].as_str()),
        (Some("phone"), Some("+79123456789"))
    );
    assert_eq!(created["decision"]["topic"], "repair", "routed by the router like any appeal: {created}");
    assert!(
        stages(&created).iter().any(|(s, d)| s == "created" && d == "звонок: создал Рустам"),
        "{created}"
    );

    // Reclassified to a refund and back: who, why and what changed are in the history.
    let moved = rustam
        .send_json(
            "POST",
            &format!("/api/appeals/{id}/reclassify"),
            &json!({"topic": "refund", "reason": "просит вернуть деньги"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (moved["decision"]["topic"].as_str(), moved["work"]["department"].as_str()),
        (Some("refund"), Some("returns"))
    );
    let history = stages(&moved);
    let detail = &history.last().unwrap().1;
    // In the reader's language, with names where the records keep ids.
    assert_eq!(detail, "тема Ремонт → Возврат, отдел Сервис → Возвраты — Рустам: просит вернуть деньги");
    let in_english = host.api.get_json(&format!("/api/appeals/{id}?lang=en")).await.unwrap();
    assert_eq!(
        stages(&in_english).last().unwrap().1,
        "topic Ремонт → Возврат, department Сервис → Возвраты by Рустам: просит вернуть деньги"
    );
    // Now out of Rustam's scope (returns): 404 for him; the admin moves it back.
    assert_eq!(rustam.send("GET", &format!("/api/appeals/{id}"), None).await.unwrap().status, 404);
    host.api
        .send_json("POST", &format!("/api/appeals/{id}/reclassify"), &json!({"topic": "repair"}))
        .await
        .unwrap();
    let again = rustam
        .send_json("POST", &format!("/api/appeals/{id}/reclassify"), &json!({"route_again": true}))
        .await
        .unwrap();
    assert!(
        stages(&again).iter().any(|(s, d)| s == "reprocessed" && d == "распределено заново, кто: Рустам")
    );

    // A note stays inside: in the history, never a reply.
    rustam
        .send_json(
            "POST",
            &format!("/api/appeals/{id}/notes"),
            &json!({"text": "Клиент просит приехать после 18:00"}),
        )
        .await
        .unwrap();
    let shown = rustam.get_json(&format!("/api/appeals/{id}")).await.unwrap();
    assert!(stages(&shown).contains(&("note".into(), "Рустам: Клиент просит приехать после 18:00".into())));
    assert_eq!(shown["replies"], json!([]));

    // The checklist holds resolving back until the required items are ticked.
    assert_eq!(shown["checklist"].as_array().unwrap().len(), 3);
    rustam.send_json("POST", &format!("/api/appeals/{id}/take"), &json!({})).await.unwrap();
    let refused = rustam.send("POST", &format!("/api/appeals/{id}/resolve"), None).await.unwrap();
    assert_eq!(refused.status, 409);
    let coded: Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(coded["code"], "checklist_incomplete", "a stable code for the console's words");
    assert_eq!(coded["items"], json!(["Фото до ремонта", "Акт подписан клиентом"]));
    let why = String::from_utf8_lossy(&refused.body).into_owned();
    assert!(
        why.contains("Фото до ремонта") && why.contains("Акт подписан клиентом") && !why.contains("Совет"),
        "{why}"
    );
    for item in ["photo", "act"] {
        rustam
            .send_json("POST", &format!("/api/appeals/{id}/checklist/{item}"), &json!({"done": true}))
            .await
            .unwrap();
    }
    let unknown = rustam
        .send(
            "POST",
            &format!("/api/appeals/{id}/checklist/nothing"),
            Some(("application/json", b"{}".to_vec())),
        )
        .await
        .unwrap();
    assert_eq!(unknown.status, 400);
    let resolved = rustam.send_json("POST", &format!("/api/appeals/{id}/resolve"), &json!({})).await.unwrap();
    assert_eq!(resolved["status"], "resolved");
    let ticks: Vec<String> =
        stages(&resolved).into_iter().filter(|(s, _)| s == "checklist_done").map(|(_, d)| d).collect();
    assert_eq!(ticks, vec!["Фото до ремонта — Рустам", "Акт подписан клиентом — Рустам"]);

    // Ready answers: checked when saved, filled in for the appeal, the topic's and the general.
    let bad = host
        .api
        .send(
            "PUT",
            "/api/templates",
            Some((
                "application/json",
                json!([{"id": "x", "name": "X", "text": "{{password}}"}]).to_string().into_bytes(),
            )),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("unknown variable {{password}}"));
    let templates = json!([
        {"id": "hello", "name": "Приветствие", "text": "Здравствуйте, {{customer}}! Обращение {{appeal}}, тема «{{topic}}». {{operator}}"},
        {"id": "master", "name": "Мастер едет", "topic": "repair", "text": "Мастер приедет сегодня."},
        {"id": "refund", "name": "Возврат", "topic": "refund", "text": "Деньги вернутся за 10 дней."}
    ]);
    host.api.send_json("PUT", "/api/templates", &templates).await.unwrap();
    assert_eq!(
        rustam
            .send("PUT", "/api/templates", Some(("application/json", b"[]".to_vec())))
            .await
            .unwrap()
            .status,
        403
    );
    let filled = rustam.get_json(&format!("/api/appeals/{id}/templates")).await.unwrap();
    let ids: Vec<&str> = filled.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["hello", "master"]);
    let number = host.appeal(&id).await.number;
    assert_eq!(
        filled[0]["text"],
        format!("Здравствуйте, Мария! Обращение № {number}, тема «Ремонт». Рустам")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_stream_tells_a_viewer_only_of_appeals_in_their_scope() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let rustam = person(&host, "rustam", "operator").await;
    let address = host.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let token = rustam.token().unwrap().to_string();
    let request =
        format!("GET /api/events HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut lines = BufReader::new(socket).lines();
    let mut head = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.is_empty() {
            break;
        }
        head.push(line.to_lowercase());
    }
    assert!(head[0].contains("200") && head.iter().any(|h| h.contains("text/event-stream")), "{head:?}");
    let moscow = appeal_id(&host.telegram(&telegram_update(17_001, 17_001, "Москва: течёт кран")).await);
    let kazan = appeal_id(&host.telegram(&telegram_update(17_002, 17_002, "Казань: течёт кран")).await);
    let mut seen = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(data) = line.strip_prefix("data: ") {
                let event: Value = serde_json::from_str(data).unwrap();
                seen.push(event["id"].as_str().unwrap_or_default().to_string());
                if seen.contains(&kazan) {
                    return;
                }
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), read)
        .await
        .expect("the Kazan appeal is announced");
    assert!(!seen.contains(&moscow), "an appeal out of scope was announced: {seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_by_employee_count_answers_first_replies_and_handling_time() {
    let host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(appeal_id(
            &host.telegram(&telegram_update(17_100 + n, 17_100 + n, "Москва: хочу вернуть")).await,
        ));
    }
    for id in &ids {
        appeal_where(&host, id, "assigned", |a| a.work.assignee.is_some()).await;
    }
    host.advance_minutes(10).await;
    host.api
        .send_json("POST", &format!("/api/appeals/{}/replies", ids[0]), &json!({"text": "Оформим"}))
        .await
        .unwrap();
    host.api.send_json("POST", &format!("/api/appeals/{}/take", ids[0]), &json!({})).await.unwrap();
    host.advance_minutes(20).await;
    host.api.send_json("POST", &format!("/api/appeals/{}/resolve", ids[0]), &json!({})).await.unwrap();
    let report = host.api.get_json("/api/reports/answers?by=assignee").await.unwrap();
    let row = report.as_array().unwrap().iter().find(|r| r["assignee"] == "olga").cloned().unwrap();
    assert_eq!(
        (&row["appeals"], &row["answered"], &row["never_answered_share"]),
        (&json!(3), &json!(1), &json!(0.667)),
        "{report}"
    );
    assert_eq!(
        (&row["first_reply_avg_min"], &row["handling_count"], &row["handling_avg_min"]),
        (&json!(10.0), &json!(1), &json!(20.0)),
        "{report}"
    );
    let csv = host.api.send("GET", "/api/reports/answers?by=assignee&format=csv", None).await.unwrap();
    assert!(String::from_utf8_lossy(&csv.body).starts_with("assignee,appeals,answered,never_answered_share"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_russian_operator_s_day_in_the_browser() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let templates = json!([
        {"id": "hello", "name": "Приветствие", "text": "Здравствуйте, {{customer}}! Ваше обращение {{appeal}} у нас."}
    ]);
    host.api.send_json("PUT", "/api/templates", &templates).await.unwrap();
    // The bot's API is out of reach: a name that does not resolve.
    let telegram = json!({"bot_token": "1:tok", "api_base": "http://no-such-host.invalid"});
    host.api.send_json("PUT", "/api/plugins/telegram/config", &telegram).await.unwrap();
    let hosts = json!({"hosts": ["http://no-such-host.invalid"]});
    host.api.send_json("PUT", "/api/plugins/telegram/outbound-hosts", &hosts).await.unwrap();
    let password = "рабочий пароль 2026";
    let invited = host
        .api
        .send_json("POST", "/api/employees/rustam/invite", &json!({"role": "operator"}))
        .await
        .unwrap();
    let accept = json!({"token": invited["token"], "password": password});
    host.anonymous.send_json("POST", "/api/invitations/accept", &accept).await.unwrap();
    let env = [
        ("CLIENTHUB_TELEGRAM_SECRET", host.telegram_secret().await),
        ("CLIENTHUB_ADMIN_TOKEN", TOKEN.to_string()),
        ("CLIENTHUB_LOGIN", "rustam".to_string()),
        ("CLIENTHUB_PASSWORD", password.to_string()),
    ];
    let shots = crate::console::run_browser(&host, "workday.mjs", &env).await;
    // What the browser did is what the server holds.
    let resolved = host.all_appeals_where("&status=resolved").await;
    assert_eq!(resolved.len(), 1);
    let steps: Vec<&str> = resolved[0].history.iter().map(|e| e.stage()).collect();
    for stage in ["taken", "reply_queued", "note", "checklist_done", "resolved"] {
        assert!(steps.contains(&stage), "{stage} in {steps:?}");
    }
    let directory = host.api.get_json("/api/directory").await.unwrap();
    assert_eq!(directory["departments"][1]["notify"]["to"], "-100555");
    assert_eq!(directory["regions"][1]["time_zone"], "Europe/Moscow");
    assert_eq!(directory["holidays"], json!(["2027-01-01", "2027-01-07"]));
    let templates = host.api.get_json("/api/templates").await.unwrap();
    assert_eq!(
        templates[1],
        json!({"id": "visit", "name": "Визит мастера", "topic": "repair", "text": "{{customer}}, мастер придёт завтра."})
    );
    crate::console::assert_screenshots(&shots, &["inbox", "appeal", "call-card", "sla", "directory"]);
}
