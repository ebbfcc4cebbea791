//! Three `clienthub` nodes on a real `nats-server` with JetStream (Debian's package, installed
//! by `tests/cluster/setup`; `.ci/run` starts one and exports `CLIENTHUB_TEST_NATS`, otherwise
//! each test starts its own on a free port). Webhooks are spread over the nodes with no balancer, one
//! node is killed mid-load, and every acknowledged update must be stored once, processed once
//! and delivered to the Bitrix24 stand-in once. An activation made on one node must reach the
//! others.

use crate::platform::Platform;
use crate::support::*;
use clienthub::client::Client;
use clienthub_artifacts::fixtures;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A NATS server with JetStream for one test: the one `.ci/run` started, or a new one.
pub(super) struct Nats {
    pub(super) url: String,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Nats {
    pub(super) fn start() -> Self {
        if let Ok(url) = std::env::var("CLIENTHUB_TEST_NATS") {
            return Self { url, child: None, _dir: None };
        }
        let find = || {
            ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"]
                .into_iter()
                .find(|b| Command::new(b).arg("--version").output().is_ok())
        };
        let binary = find()
            .or_else(|| {
                let setup = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cluster/setup");
                let installed = Command::new(setup).status().expect("running tests/cluster/setup");
                assert!(installed.success(), "tests/cluster/setup could not install nats-server");
                find()
            })
            .expect("nats-server is not installed (tests/cluster/setup)");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = dir.path().join("nats.conf");
        std::fs::write(
            &config,
            format!(
                "listen: 127.0.0.1:{port}\nmax_payload: 8MB\njetstream {{ store_dir: {:?} }}\n",
                dir.path().join("js")
            ),
        )
        .unwrap();
        let child = Command::new(binary)
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { url: format!("nats://127.0.0.1:{port}"), child: Some(child), _dir: Some(dir) }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A cluster name of its own for each test, so tests can share one NATS server.
fn cluster_name(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{test}-{}", nanos % 1_000_000_000)
}

/// Polls until `check` holds; panics after `limit`. How long it took.
async fn eventually(what: &str, limit: Duration, check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    eventually_within(what, limit, check).await;
    started.elapsed()
}

/// Offers Telegram updates to the nodes in turn, like a platform spreading webhooks over
/// several addresses; an update a node does not acknowledge (down, or 5xx) goes to the next.
async fn offer(
    bases: Vec<String>,
    queue: Arc<Mutex<VecDeque<i64>>>,
    acked: Arc<Mutex<HashSet<i64>>>,
    resent: Arc<AtomicUsize>,
    secret: String,
) {
    let mut workers = Vec::new();
    for worker in 0..12 {
        let clients: Vec<Client> = bases.iter().map(|b| Client::new(b, None)).collect();
        let (queue, acked, resent, secret) = (queue.clone(), acked.clone(), resent.clone(), secret.clone());
        workers.push(tokio::spawn(async move {
            let mut turn = worker;
            loop {
                let Some(update) = queue.lock().unwrap().pop_front() else { return };
                let body = telegram_update(update, update, "Где мой заказ? Доставка опаздывает");
                loop {
                    turn += 1;
                    let client = &clients[turn % clients.len()];
                    let header = [("x-telegram-bot-api-secret-token", secret.as_str())];
                    let answer = client
                        .request("POST", "/hooks/telegram", &header, Some(("application/json", body.clone())))
                        .await;
                    if answer.is_ok_and(|a| a.status == 200) {
                        acked.lock().unwrap().insert(update);
                        break;
                    }
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
async fn three_nodes_take_any_webhook_and_a_killed_node_loses_nothing_and_the_crm_gets_each_once() {
    let total: i64 =
        std::env::var("CLIENTHUB_CLUSTER_APPEALS").ok().and_then(|v| v.parse().ok()).unwrap_or(600);
    let nats = Nats::start();
    let name = cluster_name("load");
    let a = Host::builder().node(&nats.url, &name).start();
    let mut b = Host::builder().node(&nats.url, &name).start();
    let c = Host::builder().node(&nats.url, &name).start();
    // Configured on one node (directory, connector settings, outbound hosts)…
    let (_portal_server, portal) = crate::bitrix::bitrix(&a).await;
    // …seen by the others.
    for node in [&b, &c] {
        eventually(
            "the CRM connector's configuration reaches every node",
            Duration::from_secs(10),
            async || {
                node.api.get_json("/healthz").await.unwrap()["crm"]
                    == format!("bitrix24@{}", crate::bitrix::CONNECTOR_VERSION)
                    && node.api.get_json("/api/directory").await.unwrap()["employees"][0]["crm_user_id"]
                        == "17"
            },
        )
        .await;
    }

    let queue = Arc::new(Mutex::new((1..=total).collect::<VecDeque<i64>>()));
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let resent = Arc::new(AtomicUsize::new(0));
    let bases = vec![a.base.clone(), b.base.clone(), c.base.clone()];
    let started = Instant::now();
    let secret = a.telegram_secret().await;
    let load = tokio::spawn(offer(bases, queue.clone(), acked.clone(), resent.clone(), secret));
    // Node b dies (kill -9) a third of the way through the load.
    while (acked.lock().unwrap().len() as i64) < total / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    b.kill();
    let killed_at = acked.lock().unwrap().len();
    load.await.unwrap();
    let load_time = started.elapsed();

    // The survivors process what b had taken but not finished, and deliver everything.
    let delivered = || portal.lock().unwrap().deals.len();
    eventually("every appeal is delivered to the CRM", Duration::from_secs(120), async || {
        delivered() >= total as usize
    })
    .await;
    // Each survivor's CRM worker has looked since: no duplicate comes after this.
    for node in [&a, &c] {
        node.rounds_pass("crm").await;
    }

    let acknowledged = acked.lock().unwrap().clone();
    each_survivor_stores_each_update_once(&[&a, &c], total, &acknowledged).await;
    let deals = portal.lock().unwrap().deals.clone();
    let origins: HashSet<&Value> = deals.iter().map(|d| &d["ORIGIN_ID"]).collect();
    assert_eq!(deals.len(), total as usize, "one deal per appeal, none twice");
    assert_eq!(origins.len(), total as usize);

    // Whoever ran the dispatcher, one survivor runs it now (the lease outlives its holder by 5 s).
    eventually("one surviving node holds the dispatcher's lease", Duration::from_secs(15), async || {
        let mut leaders = 0;
        for node in [&a, &c] {
            leaders +=
                usize::from(node.api.get_json("/healthz").await.unwrap()["cluster"]["dispatcher"] == true);
        }
        leaders == 1
    })
    .await;

    // The killed node comes back with its old view and catches up.
    b = b.relaunch();
    let caught_up = eventually("the relaunched node catches up", Duration::from_secs(60), async || {
        b.all_appeals().await.len() == total as usize
    })
    .await;
    // A new node on an empty data directory builds its view from JetStream before it listens.
    let joining = Instant::now();
    let d = Host::builder().node(&nats.url, &name).start();
    let joined = joining.elapsed();
    assert_eq!(d.all_appeals().await.len(), total as usize, "a new node sees every appeal");
    let health = d.api.get_json("/healthz").await.unwrap();
    assert_eq!(
        health["crm"],
        format!("bitrix24@{}", crate::bitrix::CONNECTOR_VERSION),
        "a new node runs the cluster's plugins: {health}"
    );
    assert_eq!(health["appeals"], total, "{health}");
    println!(
        "cluster: 3 nodes, {total} updates spread over them, node b killed after {killed_at} \
         acknowledged; {} offers resent to another node; load done in {:.1} s; stored {total} on \
         every node, each processed once; CRM deals {} (each appeal once); relaunched b caught \
         up in {:.1} s; a fourth node on an empty directory was serving with all {total} after \
         {:.1} s",
        resent.load(Ordering::Relaxed),
        load_time.as_secs_f64(),
        deals.len(),
        caught_up.as_secs_f64(),
        joined.as_secs_f64()
    );
}

/// Every acknowledged update is stored on every node, once, and was processed once.
async fn each_survivor_stores_each_update_once(nodes: &[&Host], total: i64, acked: &HashSet<i64>) {
    for node in nodes {
        let stored = node.all_appeals().await;
        assert_eq!(stored.len(), total as usize, "one stored appeal per acknowledged update");
        let platform_ids: HashSet<String> = stored.iter().map(|s| s.platform_id.clone()).collect();
        assert_eq!(platform_ids.len(), total as usize, "no update stored twice");
        assert!(
            acked.iter().all(|u| platform_ids.contains(&u.to_string())),
            "every acknowledged update is kept"
        );
        for appeal in &stored {
            let received = stages(appeal).iter().filter(|s| s.starts_with("received")).count();
            let routed = stages(appeal).iter().filter(|s| s.starts_with("routed")).count();
            assert_eq!((received, routed), (1, 1), "processed once: {appeal:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn activation_rollback_replies_and_the_dispatcher_across_three_nodes() {
    let nats = Nats::start();
    let name = cluster_name("swap");
    let nodes = [
        Host::builder().node(&nats.url, &name).start(),
        Host::builder().node(&nats.url, &name).start(),
        Host::builder().node(&nats.url, &name).start(),
    ];
    nodes[0].import_directory().await;
    an_upload_reaches_and_compiles_on_every_node(&nodes).await;
    activation_and_rollback_anywhere_route_everywhere(&nodes).await;
    replies_written_on_each_node_leave_once(&nodes).await;
    one_node_runs_the_dispatcher(&nodes, &name).await;
}

/// Components compiled or loaded from the cache by a node so far.
async fn components(node: &Host) -> u64 {
    let health = node.api.get_json("/healthz").await.unwrap();
    health["plugins_compiled"].as_u64().unwrap() + health["plugins_loaded_from_cache"].as_u64().unwrap()
}

/// Every node has the new version, and compiled it, before the switch.
async fn an_upload_reaches_and_compiles_on_every_node(nodes: &[Host; 3]) {
    let mut before = Vec::new();
    for node in nodes {
        before.push(components(node).await);
    }
    assert_eq!(nodes[0].upload(fixtures::ROUTER_V2).await.status, 201);
    for (node, before) in nodes.iter().zip(before) {
        eventually("the upload reaches every node", Duration::from_secs(30), async || {
            node.api.get_json("/api/plugins/rules-router").await.unwrap()["versions"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v["version"] == "0.2.0"))
        })
        .await;
        eventually("every node compiles it ahead of the switch", Duration::from_secs(30), async || {
            components(node).await > before
        })
        .await;
    }
}

/// An activation on node 1 and a rollback on node 2 reach every node's pipeline, and appeals
/// entering anywhere are routed by the version now active.
async fn activation_and_rollback_anywhere_route_everywhere(nodes: &[Host; 3]) {
    let mut propagation = HashMap::new();
    let mut update = 0;
    for (by, version, queue) in [(1, "0.2.0", "priority-desk"), (2, "0.1.1", "general")] {
        let switched = Instant::now();
        match version {
            "0.2.0" => {
                nodes[by].activate("rules-router", version).await;
            }
            _ => {
                let rolled =
                    nodes[by].api.send("POST", "/api/plugins/rules-router/rollback", None).await.unwrap();
                assert_eq!(rolled.status, 200);
            }
        }
        let label = format!("rules-router@{version}");
        for (i, node) in nodes.iter().enumerate() {
            // What the node's own pipeline runs (`/healthz` reports the live snapshot).
            let took = eventually("the switch reaches every node", Duration::from_secs(10), async || {
                node.api.get_json("/healthz").await.unwrap()["router"] == label.as_str()
            })
            .await;
            propagation.insert((version, i), switched.elapsed().max(took));
        }
        for node in nodes {
            update += 1;
            assert_eq!(node.telegram(&telegram_update(update, update, "hi")).await.status, 200);
            let platform_id = update.to_string();
            let mut appeal = Appeal::default();
            eventually("the appeal is routed", Duration::from_secs(10), async || {
                appeal = node
                    .appeals("&channel=telegram")
                    .await
                    .into_iter()
                    .find(|a| a.platform_id == platform_id.as_str())
                    .unwrap_or_default();
                appeal.status == Status::Routed
            })
            .await;
            assert_eq!(appeal.decision.as_ref().unwrap().queue, queue, "{appeal:?}");
            assert!(stages(&appeal).contains(&format!("routed {label}")), "{appeal:?}");
        }
    }
    println!(
        "activation on node 1 → running on nodes 0, 1, 2 after {:?}; rollback on node 2 → after {:?}",
        (0..3).map(|i| propagation[&("0.2.0", i)]).collect::<Vec<_>>(),
        (0..3).map(|i| propagation[&("0.1.1", i)]).collect::<Vec<_>>()
    );
}

/// One reply written on each node: each leaves through Telegram exactly once (whichever node
/// claims it from the outbox stream), and every node shows it sent.
async fn replies_written_on_each_node_leave_once(nodes: &[Host; 3]) {
    let api = Platform::start(
        vec![],
        json!({"ok": true, "result": {"message_id": 7701, "chat": {"id": 1, "type": "private"}, "date": 1763900100}}),
    )
    .await;
    crate::platform::telegram_through(&nodes[0], &api).await;
    // Any node may send any reply: every node's pipeline needs the configuration first (it is
    // rebuilt moments after the bucket's change is applied).
    for node in nodes {
        eventually("the telegram configuration reaches the node", Duration::from_secs(10), async || {
            let plugin = node.api.get_json("/api/plugins/telegram").await.unwrap();
            plugin["config"]["api_base"] == api.base.as_str()
        })
        .await;
    }
    // The bucket is applied before the pipeline is rebuilt from it; there is no signal of the
    // rebuild itself, so a moment's grace.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut appeals = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let appeal =
            node.all_appeals().await.into_iter().find(|a| a.platform_id == (i + 1).to_string().as_str());
        let id = appeal.expect("an appeal of the first round").id;
        crate::replies::reply(node, &id, &format!("Ответ с узла {i}")).await;
        appeals.push(id);
    }
    for node in nodes {
        for id in &appeals {
            eventually("the reply is sent and every node shows it", Duration::from_secs(30), async || {
                node.appeal(id).await.replies.first().is_some_and(|r| r.state == ReplyState::Sent)
            })
            .await;
        }
    }
    // Each node's reply sender has looked since: no second send comes after this.
    for node in nodes {
        node.rounds_pass("replies").await;
    }
    let mut sent: Vec<String> =
        api.received().iter().map(|c| c.json()["text"].as_str().unwrap().to_string()).collect();
    sent.sort();
    let expected: Vec<String> = (0..3).map(|i| format!("Ответ с узла {i}")).collect();
    assert_eq!(sent, expected, "each reply sent once");
}

/// Exactly one node holds the dispatcher's lease.
async fn one_node_runs_the_dispatcher(nodes: &[Host; 3], name: &str) {
    let mut leaders = 0;
    for node in nodes {
        let health = node.api.get_json("/healthz").await.unwrap();
        assert_eq!(health["cluster"]["name"], name);
        leaders += usize::from(health["cluster"]["dispatcher"] == true);
    }
    assert_eq!(leaders, 1, "exactly one node holds the dispatcher's lease");
}

/// What a node answers about its appeals: ids, counts, a filter, a search and a report.
async fn answers(node: &Host) -> Value {
    let ids: Vec<String> = node.all_appeals().await.into_iter().map(|a| a.id).collect();
    let get = async |path: &str| node.api.get_json(path).await.unwrap();
    json!({
        "ids": ids,
        "count": get("/healthz").await["appeals"],
        "routed": get("/api/appeals?status=routed&channel=telegram&limit=500").await["items"].as_array().map(Vec::len),
        "search": get("/api/appeals?q=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B0&limit=500").await["items"]
            .as_array()
            .map(Vec::len),
        "report": get("/api/reports/appeals?by=topic").await,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_joined_from_a_snapshot_answers_as_the_node_that_replayed_everything() {
    let nats = Nats::start();
    let name = cluster_name("snapshot");
    let first = Host::builder().node(&nats.url, &name).args(&["--snapshot-every", "60"]).start();
    first.import_directory().await;
    let secret = first.telegram_secret().await;
    let send = async |range: std::ops::Range<i64>| {
        for n in range {
            let body = telegram_update(880_000 + n, 880_000 + n, "Где мой заказ? Доставка опаздывает");
            let header = [("x-telegram-bot-api-secret-token", secret.as_str())];
            let answer = first.hook("telegram", &header, "application/json", &body).await;
            assert_eq!(answer.status, 200);
        }
    };
    send(0..80).await;
    eventually("a snapshot", Duration::from_secs(30), async || {
        first.api.get_json("/healthz").await.unwrap()["cluster"]["snapshot_end"].as_u64() > Some(0)
    })
    .await;
    // The tail after the snapshot, then a fresh node.
    send(80..100).await;
    let joined = Host::builder().node(&nats.url, &name).args(&["--snapshot-every", "60"]).start();
    let health = joined.api.get_json("/healthz").await.unwrap();
    assert!(health["cluster"]["snapshot_end"].as_u64() > Some(0), "it joined from the snapshot: {health}");
    assert_eq!(health["appeals"], 100);
    eventually("the same answers", Duration::from_secs(30), async || {
        answers(&first).await == answers(&joined).await
    })
    .await;
    let answer = answers(&joined).await;
    assert_eq!(answer["routed"], 100, "{answer}");
    assert_eq!(answer["search"], 100, "the search index was built from the snapshot: {answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_the_leader_fetched_is_served_by_every_node_from_the_object_store() {
    let nats = Nats::start();
    let name = cluster_name("media");
    let nodes =
        [Host::builder().node(&nats.url, &name).start(), Host::builder().node(&nats.url, &name).start()];
    let photo: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let served = photo.clone();
    let bot_api =
        Platform::serve(Arc::new(move |r: &crate::platform::Received| match r.path.ends_with("/getFile") {
            true => (
                200,
                vec![],
                json!({"ok": true, "result": {"file_id": "AgACAgIAAxkBAAIC", "file_path": "photos/p.jpg"}}),
            ),
            false => {
                (200, vec![("content-type", "image/jpeg".to_string())], crate::platform::file_body(&served))
            }
        }))
        .await;
    crate::platform::telegram_through(&nodes[0], &bot_api).await;
    let update = json!({"update_id": 9901, "message": {"message_id": 1, "date": 1763900000, "caption": "фото чека",
        "from": {"id": 9901, "is_bot": false, "first_name": "Олег"}, "chat": {"id": 9901, "type": "private"},
        "photo": [{"file_id": "AgACAgIAAxkBAAIC", "file_unique_id": "u1", "width": 800, "height": 600}]}});
    let secret = nodes[0].telegram_secret().await;
    let body = update.to_string();
    let headers = [("x-telegram-bot-api-secret-token", secret.as_str())];
    assert_eq!(nodes[0].hook("telegram", &headers, "application/json", body.as_bytes()).await.status, 200);
    eventually("the appeal stored", Duration::from_secs(30), async || {
        !nodes[1].all_appeals().await.is_empty()
    })
    .await;
    let appeal_id = nodes[1].all_appeals().await[0].id.clone();
    for node in &nodes {
        eventually("the file stored, seen by every node", Duration::from_secs(30), async || {
            node.appeal_json(&appeal_id).await["files"][0]["state"] == "stored"
        })
        .await;
        let got =
            node.api.send("GET", &format!("/api/appeals/{appeal_id}/attachments/1"), None).await.unwrap();
        assert_eq!(
            (got.status, got.body.len()),
            (200, photo.len()),
            "{}",
            String::from_utf8_lossy(&got.body)
        );
        assert_eq!(&got.body[..], &photo[..]);
    }
    let fetched = bot_api.received().iter().filter(|r| !r.path.ends_with("/getFile")).count();
    assert_eq!(fetched, 1, "one node fetched it; the other read the object store");
}
