//! The data lifecycle: a person's data erased on request leaves no trace in any answer, the
//! search or the raw requests; a backup taken under load restores every appeal acknowledged
//! before it began, and a damaged archive is refused.

use crate::cli::cli;
use crate::support::*;
use serde_json::json;
use std::time::Duration;

/// Ids of the appeals a search (and filters) finds.
async fn found(host: &Host, query: &str) -> Vec<String> {
    let page = host.api.get_json(&format!("/api/appeals?{query}")).await.unwrap();
    let mut ids: Vec<String> =
        page["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

/// Waits until a search answers `expected`.
async fn search_settles(host: &Host, query: &str, expected: &[String]) {
    let settled = poll_until(Duration::from_secs(20), async || found(host, query).await == expected).await;
    assert!(settled.is_some(), "{query}: {:?}", found(host, query).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erased_person_leaves_no_trace_in_answers_search_or_raw_requests() {
    let mut host = Host::start();
    host.import_directory().await;
    let form = |tranid: &str, text: &str| {
        json!({"tranid": tranid, "name": "Прохор Кузнецов", "phone": "8 912 555-11-22",
            "email": "Petr.K@example.ru", "message": text, "city": "Москва"})
        .to_string()
        .into_bytes()
    };
    let mut petr = vec![
        appeal_id(
            &host
                .hook_with_key("webform", "application/json", &form("p1", "Верните деньги за заказ 77"))
                .await,
        ),
        appeal_id(&host.hook_with_key("webform", "application/json", &form("p2", "Курьер не приехал")).await),
    ];
    petr.sort();
    let other = appeal_id(&host.telegram(&telegram_update(5101, 51, "Верните деньги, Анна")).await);
    search_settles(&host, "q=8+912+555-11-22", &petr).await;
    let contact = host.appeal(&petr[0]).await.contact_id.unwrap();
    assert_eq!(found(&host, &format!("contact={contact}")).await, petr, "the contact index");
    let raw_ids: Vec<String> = {
        let mut ids = Vec::new();
        for id in &petr {
            ids.push(host.appeal(id).await.raw_request_id);
        }
        ids
    };

    let out = cli(&host, &["contacts", "erase", "+7 (912) 555-1122"]);
    assert!(out.contains("appeals 2") && out.contains("raw requests 2"), "{out}");
    let again =
        host.api.send_json("POST", "/api/contacts/erase", &json!({"contact": "8 912 555-11-22"})).await;
    assert!(again.unwrap_err().to_string().contains("404"), "nothing left to find");

    for id in &petr {
        let shown = host.appeal_json(id).await.to_string().to_lowercase();
        // The phone as stored and as typed (not a bare "555": a random id may hold that). The
        // name is no employee's: an assignment after the erasure names its employee.
        for trace in ["прохор", "кузнецов", "9125551122", "555-11", "petr", "верните", "курьер", "заказ"]
        {
            assert!(!shown.contains(trace), "{trace} is still in {shown}");
        }
        let appeal = host.appeal(id).await;
        assert_eq!(last_event(&appeal).stage(), "erased");
        assert_eq!((appeal.status, appeal.channel.as_str()), (Status::Routed, "webform"), "the facts stay");
    }
    search_settles(&host, "q=8+912+555-11-22", &[]).await;
    search_settles(&host, "q=%D0%9A%D1%83%D0%B7%D0%BD%D0%B5%D1%86%D0%BE%D0%B2", &[]).await;
    search_settles(&host, "q=petr.k@example.ru", &[]).await;
    assert_eq!(found(&host, &format!("contact={contact}")).await, Vec::<String>::new());
    assert_eq!(
        found(&host, "q=%D0%B2%D0%B5%D1%80%D0%BD%D0%B8%D1%82%D0%B5").await,
        std::slice::from_ref(&other),
        "others stay"
    );
    assert!(host.appeal(&other).await.text.contains("Анна"));

    let erasures = host.api.get_json("/api/erasures").await.unwrap();
    assert_eq!(erasures.as_array().map(Vec::len), Some(1), "{erasures}");
    assert_eq!(erasures[0]["appeals"], 2);
    assert!(!erasures.to_string().contains("555") && !erasures.to_string().contains(&contact));
    let viewer =
        host.api.send_json("POST", "/api/tokens", &json!({"role": "operator", "name": "op"})).await.unwrap();
    let operator = clienthub::client::Client::new(&host.base, viewer["token"].as_str().map(String::from));
    let refused = operator.send(
        "POST",
        "/api/contacts/erase",
        Some(("application/json", b"{\"contact\":\"x\"}".to_vec())),
    );
    assert_eq!(refused.await.unwrap().status, 403, "only an admin erases");

    // The raw requests are gone from the store itself.
    host.stop();
    let store = clienthub::store::Store::open(
        &host.dir,
        std::sync::Arc::new(clienthub::clock::SystemClock),
        clienthub::store::DEFAULT_CACHE_BYTES,
    )
    .unwrap();
    for raw in &raw_ids {
        assert!(store.raw(raw).unwrap().is_none(), "raw request {raw} kept");
    }
    assert!(store.raw(&store.appeal(&other).unwrap().unwrap().raw_request_id).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_under_load_restores_every_appeal_acknowledged_before_it_began() {
    let host = std::sync::Arc::new(Host::start());
    host.import_directory().await;
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let load = {
        let (host, running) = (host.clone(), running.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                let answer =
                    host.telegram(&telegram_update(700_000 + n, 7_000 + n, "Хочу вернуть заказ")).await;
                assert_eq!(answer.status, 200);
                n += 1;
            }
            n
        })
    };
    while host.api.get_json("/healthz").await.unwrap()["appeals"].as_u64().unwrap() < 150 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<String> = host.all_appeals().await.into_iter().map(|a| a.id).collect();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("clienthub.backup");
    let (backup_host, path) = (host.clone(), archive.to_str().unwrap().to_string());
    let out =
        tokio::task::spawn_blocking(move || cli(&backup_host, &["backup", "--to", &path])).await.unwrap();
    assert!(out.contains("backup:"), "{out}");
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let sent = load.await.unwrap();
    assert!(sent as usize > before.len(), "the load went on during the backup");

    let restore = |file: &std::path::Path, into: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_clienthub"))
            .arg("restore")
            .arg(file)
            .arg("--data-dir")
            .arg(into)
            .output()
            .unwrap()
    };
    // A damaged archive is refused before anything is written.
    let mut damaged = std::fs::read(&archive).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x55;
    std::fs::write(dir.path().join("damaged"), &damaged).unwrap();
    let refused = restore(&dir.path().join("damaged"), &dir.path().join("nowhere"));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("damaged"), "{refused:?}");
    assert!(!dir.path().join("nowhere").exists());

    let restored_dir = dir.path().join("restored");
    let restored = restore(&archive, &restored_dir);
    assert!(restored.status.success(), "{restored:?}");
    let again = restore(&archive, &restored_dir);
    assert!(!again.status.success(), "never over an existing data directory");
    let restored = Host::builder().dir(&restored_dir).start();
    let ids: std::collections::BTreeSet<String> =
        restored.all_appeals().await.into_iter().map(|a| a.id).collect();
    let missing: Vec<&String> = before.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(missing.is_empty(), "{} acknowledged appeals missing: {missing:?}", missing.len());
    // Indexes, counters and search are rebuilt on the restored directory.
    let health = restored.api.get_json("/healthz").await.unwrap();
    assert_eq!(health["appeals"].as_u64(), Some(ids.len() as u64));
    assert_eq!(restored.appeals("&status=routed").await.len().min(before.len()), before.len().min(500));
    eventually("the search index is rebuilt", async || {
        found(&restored, "q=%D0%B2%D0%B5%D1%80%D0%BD%D1%83%D1%82%D1%8C&limit=10").await.len() >= 10
    })
    .await;
}
