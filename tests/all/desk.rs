//! The desk's API (issue 38): short numbers people can say on the phone, unique and gap-free
//! on one machine, across a restart and across cluster nodes; the views with their counts;
//! the first line owning what no route gave to anyone; the work of someone who signed out
//! going back to the queue after the directory's grace; the team as every employee; what
//! viewers and external masters may no longer read.

use crate::cluster::Nats;
use crate::people::{directory, signed_in, token_for};
use crate::support::*;
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::time::Duration;

/// Every stored appeal's short number, in order.
async fn numbers(host: &Host) -> Vec<u64> {
    let mut numbers: Vec<u64> = host.all_appeals().await.iter().map(|a| a.number).collect();
    numbers.sort_unstable();
    numbers
}

/// `count` Telegram appeals from `first` on, sent at once to `host`.
async fn burst(host: &Host, first: i64, count: i64) {
    let sends = (first..first + count).map(|n| async move {
        let body = telegram_update(n, n, "Где мой заказ? Доставка опаздывает");
        assert_eq!(host.telegram(&body).await.status, 200);
    });
    join_all(sends).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn short_numbers_are_unique_and_gap_free_across_a_restart_and_two_cluster_nodes() {
    let host = Host::start();
    burst(&host, 61_000, 20).await;
    let host = host.restart();
    burst(&host, 61_100, 10).await;
    assert_eq!(numbers(&host).await, (1..=30).collect::<Vec<u64>>());
    // Found by the number as it is said: «№ 7».
    let found = host.api.get_json("/api/appeals?q=%E2%84%96%207").await.unwrap();
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["items"][0]["number"], 7);

    // Two nodes of a cluster creating at once.
    let nats = Nats::start();
    let name = format!("numbers-{}", std::process::id());
    let first = Host::builder().node(&nats.url, &name).start();
    let second = Host::builder().node(&nats.url, &name).start();
    tokio::join!(burst(&first, 62_000, 20), burst(&second, 62_100, 20));
    for node in [&first, &second] {
        eventually_within("every appeal on the node", Duration::from_secs(30), async || {
            node.all_appeals().await.len() == 40
        })
        .await;
        assert_eq!(numbers(node).await, (1..=40).collect::<Vec<u64>>());
    }
}

/// The test directory with a call centre as the first line and a 15-minute grace.
fn with_first_line() -> Value {
    let mut directory = directory();
    directory["departments"].as_array_mut().unwrap().push(json!({"id": "calls", "name": "Колл-центр"}));
    directory["employees"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "dina", "name": "Дина", "department": "calls"}));
    directory["first_line"] =
        json!({"department": "calls", "reaction_minutes": 30, "resolution_minutes": 240});
    directory["return_after_minutes"] = json!(15);
    directory
}

fn count(views: &Value, view: &str) -> u64 {
    views.as_array().unwrap().iter().find(|v| v["id"] == view).map_or(0, |v| v["count"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_line_owns_what_no_route_gave_and_work_of_someone_off_returns_after_the_grace() {
    let host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &with_first_line()).await.unwrap();
    let dina = signed_in(&host, "dina", "operator").await;
    dina.send_json("PUT", "/api/presence", &json!({"state": "available"})).await.unwrap();
    // No topic matches: the first line's, with its deadlines, and assigned there.
    let id = appeal_id(
        &host.telegram(&telegram_update(63_001, 63_001, "Добрый день, подскажите режим работы")).await,
    );
    let held = appeal_where(&host, &id, "assigned", |a| a.work.assignee.is_some()).await;
    assert_eq!(held.work.department.as_deref(), Some("calls"));
    assert_eq!(held.work.assignee.as_deref(), Some("dina"));
    let due = held.work.reaction_due.unwrap();
    assert_eq!(due - held.received_at, 30 * 60_000, "the first line's reaction time");
    assert!(held.number > 0);
    let views = dina.get_json("/api/views").await.unwrap();
    assert_eq!((count(&views, "mine"), count(&views, "unassigned")), (1, 0), "{views}");
    let admin = host.api.get_json("/api/views").await.unwrap();
    assert_eq!(count(&admin, "unowned"), 0, "nothing without a department: {admin}");
    let mine = dina.get_json("/api/appeals?view=mine").await.unwrap();
    assert_eq!(mine["items"][0]["id"], id);

    // Dina takes it and signs out: it stays hers for the grace, then goes back to the queue.
    dina.send_json("POST", &format!("/api/appeals/{id}/take"), &json!({})).await.unwrap();
    dina.send_json("PUT", "/api/presence", &json!({"state": "off"})).await.unwrap();
    host.advance_minutes(10).await;
    host.dispatcher_passes().await;
    assert_eq!(host.appeal(&id).await.work.assignee.as_deref(), Some("dina"), "within the grace");
    host.advance_minutes(6).await;
    let back = appeal_where(&host, &id, "back in the queue", |a| a.work.assignee.is_none()).await;
    assert_eq!(back.status.name(), "routed");
    let shown = host.appeal_json(&id).await;
    let returned = shown["history"].as_array().unwrap().iter().find(|e| e["stage"] == "returned").cloned();
    let returned = returned.unwrap_or_else(|| panic!("no return in the history: {shown}"));
    assert_eq!(returned["title"], "Вернулось в очередь");
    assert!(returned["detail"].as_str().unwrap().contains("Дина не на работе уже 16 мин"), "{returned}");
    let admin = host.api.get_json("/api/views").await.unwrap();
    assert_eq!(count(&admin, "unassigned"), 1, "{admin}");

    // The team is every employee, signed up or not.
    let team = host.api.get_json("/api/presence").await.unwrap();
    let row = |id: &str| team.as_array().unwrap().iter().find(|r| r["id"] == id).cloned();
    assert_eq!(
        row("dina").map(|r| (r["state"].clone(), r["account"].clone())),
        Some((json!("off"), json!(true)))
    );
    assert_eq!(row("olga").map(|r| r["account"].clone()), Some(json!(false)), "{team}");
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_and_masters_read_names_not_the_directory_staff_or_plugins() {
    let host = Host::start();
    let mut directory = directory();
    directory["employees"][1]["crm_user_id"] = json!("CRM-OLGA-17");
    host.api.send_json("PUT", "/api/directory", &directory).await.unwrap();
    for (employee, role) in [("master", "master"), ("viewer", "viewer")] {
        let client = token_for(&host, employee, role).await;
        let seen = client.get_json("/api/directory").await.unwrap();
        assert!(seen["departments"].as_array().is_some_and(|d| d.len() == 2), "{role}: {seen}");
        assert!(!seen.to_string().contains("CRM-OLGA-17") && seen.get("notices").is_none(), "{role}: {seen}");
        assert!(
            seen["employees"].as_array().unwrap().iter().all(|e| e.get("regions").is_none()),
            "{role}: {seen}"
        );
        for path in ["/api/plugins", "/api/plugins/telegram", "/api/employees", "/api/directory/history"] {
            assert_eq!(client.send("GET", path, None).await.unwrap().status, 403, "{role} {path}");
        }
    }
}
