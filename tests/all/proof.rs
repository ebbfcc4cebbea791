//! The promise under load: plugin faults mixed into the traffic fail their own calls only, and
//! `kill -9` at random moments loses nothing, duplicates nothing and delivers to the CRM once.
//! Sizes are small by default; `CLIENTHUB_PROOF_APPEALS` scales them for the README's long
//! runs. Each test prints its figures (`-- --nocapture`).

use crate::support::*;
use clienthub::client::Client;
use clienthub_artifacts::fixtures;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `CLIENTHUB_PROOF_APPEALS`, else `default`.
fn appeals_to_offer(default: usize) -> usize {
    std::env::var("CLIENTHUB_PROOF_APPEALS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Fault markers the chaos-router obeys, with the error each must leave in triage.
const FAULTS: [(&str, &str); 4] =
    [("#trap", "trapped"), ("#loop", "timed out"), ("#alloc", "out of memory"), ("#giant", "over the cap")];

#[tokio::test(flavor = "multi_thread")]
async fn faults_mixed_into_load_fail_their_own_calls_and_every_appeal_is_kept() {
    let host = Arc::new(Host::start());
    assert_eq!(host.upload(fixtures::CHAOS_ROUTER).await.status, 201);
    host.activate("chaos-router", "0.1.0").await;
    let total = appeals_to_offer(400);
    let started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(16));
    let mut requests = Vec::new();
    for i in 0..total {
        let fault = (i % 10 == 5).then(|| FAULTS[(i / 10) % FAULTS.len()]);
        let text = format!("Где мой заказ? {}", fault.map_or("", |f| f.0));
        let (host, permit) = (host.clone(), permits.clone().acquire_owned().await.unwrap());
        requests.push(tokio::spawn(async move {
            let answer = host.telegram(&telegram_update(i as i64 + 1, i as i64 + 1, &text)).await;
            drop(permit);
            (answer.status, answer.header("x-clienthub-appeal").map(str::to_string), fault)
        }));
    }
    let mut expected = HashMap::new();
    for request in requests {
        let (status, id, fault) = request.await.unwrap();
        assert_eq!(status, 200, "every webhook is acknowledged, faulty or not");
        expected.insert(id.unwrap(), fault.map(|f| f.1));
    }
    let elapsed = started.elapsed();

    let stored = host.all_appeals().await;
    // The indexes and counters, moved in each appeal's own transaction, agree with the
    // records after every crash: each filter lists what a scan of all appeals finds.
    let health = host.api.get_json("/healthz").await.unwrap();
    assert_eq!(health["appeals"].as_u64(), Some(total as u64), "the counter after the crashes");
    for status in [Status::Routed, Status::New, Status::Triage] {
        let expected: HashSet<&str> =
            stored.iter().filter(|a| a.status == status).map(|a| a.id.as_str()).collect();
        let listed = host.all_appeals_where(&format!("&status={}", status.name())).await;
        let listed: HashSet<&str> = listed.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(listed, expected, "the {} index after the crashes", status.name());
    }
    assert_eq!(stored.len(), total, "every appeal is kept");
    let mut triaged = 0;
    for appeal in &stored {
        let id = appeal.id.as_str();
        match expected[id] {
            Some(error) => {
                triaged += 1;
                assert_eq!(appeal.status.name(), "triage", "{appeal:?}");
                assert!(appeal.error.as_deref().unwrap().contains(error), "{error}: {appeal:?}");
                assert!(appeal.error.as_deref().unwrap().len() < 20_000, "no giant output is stored");
            }
            None => assert_eq!(appeal.status.name(), "routed", "{appeal:?}"),
        }
    }
    let health = host.api.get_json("/healthz").await.unwrap();
    assert_eq!(health["router"], "chaos-router@0.1.0", "no auto-rollback was asked for: {health}");
    println!(
        "plugin faults under load: {total} appeals ({triaged} faulty: trap, 500 ms loop, 1 GiB \
         allocation, 32 MiB decision) in {:.1} s; 0 failed requests; {total}/{total} kept, \
         {triaged} in triage",
        elapsed.as_secs_f64()
    );
}

/// A small xorshift generator: random kill moments without another dependency.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

/// Offers the queued updates on 16 connections until the queue is empty or `stop` is set;
/// an update that is not acknowledged goes back into the queue, as a platform retries it.
async fn offer_until_stopped(
    base: String,
    queue: Arc<Mutex<VecDeque<i64>>>,
    acked: Arc<Mutex<HashSet<i64>>>,
    stop: Arc<AtomicBool>,
    resent: Arc<AtomicUsize>,
    secret: String,
) {
    let client = Client::new(&base, None);
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (client, queue, acked, stop, resent, secret) =
            (client.clone(), queue.clone(), acked.clone(), stop.clone(), resent.clone(), secret.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Some(update) = queue.lock().unwrap().pop_front() else { return };
                let body = telegram_update(update, update, "Где мой заказ? Доставка опаздывает");
                let header = [("x-telegram-bot-api-secret-token", secret.as_str())];
                let answer = client
                    .request("POST", "/hooks/telegram", &header, Some(("application/json", body)))
                    .await;
                if answer.is_ok_and(|a| a.status == 200) {
                    acked.lock().unwrap().insert(update);
                } else {
                    queue.lock().unwrap().push_back(update);
                    resent.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_at_random_moments_loses_nothing_duplicates_nothing_and_delivers_once() {
    let total = appeals_to_offer(2_000) as i64;
    let temp = tempfile::tempdir().unwrap();
    let mut host = Host::builder().dir(temp.path()).start();
    let (_portal_server, portal) = crate::bitrix::bitrix(&host).await;
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut moments = Moments(seed | 1);
    let queue = Arc::new(Mutex::new((1..=total).collect::<VecDeque<i64>>()));
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let resent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut kills = 0;
    let secret = host.telegram_secret().await;
    while !queue.lock().unwrap().is_empty() {
        let stop = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn(offer_until_stopped(
            host.base.clone(),
            queue.clone(),
            acked.clone(),
            stop.clone(),
            resent.clone(),
            secret.clone(),
        ));
        let moment = Duration::from_millis(moments.next_millis(200, 1_500));
        if tokio::time::timeout(moment, async {
            while !load.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .is_err()
        {
            host.kill();
            kills += 1;
            stop.store(true, Ordering::Relaxed);
            load.await.unwrap();
            host = host.relaunch();
        }
    }
    let load_time = started.elapsed();

    // Deliveries go on after the load (and across one more crash) until each appeal has a deal.
    let deadline = Instant::now() + Duration::from_secs(60) + Duration::from_millis(total as u64 * 20);
    let delivered = || portal.lock().unwrap().deals.len();
    host.kill();
    host = host.relaunch();
    let wait = deadline.saturating_duration_since(Instant::now());
    eventually_within(&format!("{total} deals after the load"), wait, async || delivered() >= total as usize)
        .await;
    host.kill();
    host = host.relaunch();
    // After one more crash, two rounds of the CRM worker: a delivery resent by mistake would
    // show as a second deal.
    host.rounds_pass("crm").await;

    let stored = host.all_appeals().await;
    let platform_ids: HashSet<String> = stored.iter().map(|a| a.platform_id.as_str().to_string()).collect();
    let acked = acked.lock().unwrap();
    assert_eq!(acked.len(), total as usize);
    assert_eq!(stored.len(), total as usize, "one stored appeal per acknowledged update");
    assert_eq!(platform_ids.len(), total as usize, "no update stored twice");
    assert!(acked.iter().all(|u| platform_ids.contains(&u.to_string())), "every acknowledged update is kept");
    let portal = portal.lock().unwrap();
    let origins: HashSet<&Value> = portal.deals.iter().map(|d| &d["ORIGIN_ID"]).collect();
    assert_eq!(portal.deals.len(), total as usize, "one deal per appeal, none twice");
    assert_eq!(origins.len(), total as usize);
    assert!(
        stored.iter().all(|a| origins.contains(&Value::from(a.id.as_str()))),
        "every appeal reached the CRM"
    );
    println!(
        "crash loop: {total} appeals, {kills} kill -9 during the load + 2 during deliveries, {} \
         requests resent after a crash, load done in {:.1} s; acknowledged {}, stored {}, \
         duplicates 0, lost 0; CRM deals {} (each appeal once)",
        resent.load(Ordering::Relaxed),
        load_time.as_secs_f64(),
        acked.len(),
        stored.len(),
        portal.deals.len()
    );
}
