//! One conformance suite for both store backends: every case runs against sled on a temp dir
//! and against a node of a cluster on a real `nats-server`, through the same `Store` API the
//! host uses, and must see the same results (as Spin tests each key-value backend with the same
//! cases).

use super::cluster::Nats;
use clienthub::appeal::{Appeal, Reply, ReplyState, Status};
use clienthub::clock::SystemClock;
use clienthub::directory::Directory;
use clienthub::event::{Actor, Event, Strategy};
use clienthub::store::crm_updates::Queued;
use clienthub::store::{Claim, ClusterOptions, Store};
use std::sync::Arc;

/// One case: its name and what it checks on a fresh store.
type Case = (&'static str, fn(&Store));

/// The cases.
const CASES: &[Case] = &[
    ("a message is stored once under its idempotency key", idempotency),
    ("a follow-up claims its message id or finds who has it", follow_up_claims),
    ("an appeal's indexes follow its changes", indexes_follow_changes),
    ("replies enter and leave the outbox with their state", reply_outbox),
    ("the CRM outbox and its notes drain", crm_outbox),
    ("raw requests keep their outcome", raw_requests),
    ("plugins, binaries and activations are control records", control_records),
    ("the directory and its change log", directory),
    ("each plugin has its own key-value namespace", plugin_kv),
    ("revoking a token that does not exist removes nothing", revoke_unknown_token),
    ("a people record changed in parallel loses no change", people_counter),
];

fn people_counter(store: &Store) {
    store.put_people(vec![("account/olga".into(), Some(serde_json::json!({"failures": 0})))]).unwrap();
    std::thread::scope(|threads| {
        for _ in 0..4 {
            threads.spawn(|| {
                for _ in 0..10 {
                    store
                        .change_person("account/olga", |a: &mut serde_json::Value| {
                            a["failures"] = (a["failures"].as_u64().unwrap() + 1).into();
                            true
                        })
                        .unwrap();
                }
            });
        }
    });
    let counted: serde_json::Value = store.person("account/olga").unwrap().unwrap();
    assert_eq!(counted["failures"], 40, "every failure counted");
    assert!(store.change_person("account/nobody", |_: &mut serde_json::Value| true).unwrap().is_none());
}

fn routed(id: &str, platform_id: &str) -> Appeal {
    Appeal {
        id: id.into(),
        channel: "telegram".into(),
        platform_id: platform_id.into(),
        conversation_key: format!("chat:{platform_id}"),
        status: Status::Routed,
        text: format!("appeal {id}"),
        ..Default::default()
    }
}

fn idempotency(store: &Store) {
    let mut first = routed("01A", "m1");
    assert_eq!(store.insert_appeal(&mut first).unwrap(), Claim::New);
    let mut again = routed("01B", "m1");
    assert_eq!(store.insert_appeal(&mut again).unwrap(), Claim::Seen("01A".into()));
    assert!(store.appeal("01B").unwrap().is_none(), "the loser wrote nothing");
    assert_eq!(store.seen("telegram", "m1").unwrap().as_deref(), Some("01A"));
    assert_eq!(store.conversation("telegram", "chat:m1").unwrap().as_deref(), Some("01A"));
    let id = store.appeal_id_for("telegram", "m9").unwrap();
    assert_eq!(store.appeal_id_for("telegram", "m9").unwrap().len(), id.len());
}

fn follow_up_claims(store: &Store) {
    store.insert_appeal(&mut routed("01A", "m1")).unwrap();
    let claimed = store
        .update_appeal("01A", Some(("telegram", "m2", "raw-2")), |a| a.text.push_str(" + more"))
        .unwrap();
    assert_eq!(claimed, Some(Claim::New));
    let again = store
        .update_appeal("01A", Some(("telegram", "m2", "raw-2")), |a| a.text.push_str(" + twice"))
        .unwrap();
    assert_eq!(again, Some(Claim::Seen("01A".into())));
    assert_eq!(store.appeal("01A").unwrap().unwrap().text, "appeal 01A + more");
    assert_eq!(store.update_appeal("01NONE", None, |_| {}).unwrap(), None);
}

fn indexes_follow_changes(store: &Store) {
    store.insert_appeal(&mut routed("01A", "m1")).unwrap();
    assert_eq!(store.waiting().unwrap(), vec!["01A".to_string()]);
    store.change_appeal("01A", |a| a.work.assignee = Some("e-1".into())).unwrap();
    assert!(store.waiting().unwrap().is_empty(), "an assigned appeal waits for nobody");
    assert_eq!(store.holdings().unwrap(), vec![("e-1".to_string(), "01A".to_string())]);
    store.change_appeal("01A", |a| a.work.assignee = Some("e-2".into())).unwrap();
    assert_eq!(store.holdings().unwrap(), vec![("e-2".to_string(), "01A".to_string())]);
    store.change_appeal("01A", |a| a.status = Status::Resolved).unwrap();
    assert!(store.holdings().unwrap().is_empty(), "a resolved appeal is nobody's load");
    let contact = store.appeal("01A").unwrap().unwrap().contact_id.unwrap();
    assert_eq!(store.contact_appeals(&contact, 10).unwrap(), vec!["01A".to_string()]);
}

fn reply_outbox(store: &Store) {
    store.insert_appeal(&mut routed("01A", "m1")).unwrap();
    let reply = Reply {
        id: "R1".into(),
        text: "Заказ в пути".into(),
        state: ReplyState::Queued,
        ..Default::default()
    };
    store.change_appeal("01A", |a| a.replies.push(reply.clone())).unwrap();
    assert_eq!(store.queued_replies().unwrap(), vec![("R1".to_string(), "01A".to_string())]);
    store
        .change_appeal("01A", |a| {
            let sent = a.reply_mut("R1").unwrap();
            sent.state = ReplyState::Sent;
            sent.platform_message_id = Some("555".into());
        })
        .unwrap();
    assert!(store.queued_replies().unwrap().is_empty(), "a sent reply left the outbox");
    assert_eq!(
        store.reply_by_message("telegram", "555").unwrap(),
        Some(("01A".to_string(), "R1".to_string()))
    );
}

fn crm_outbox(store: &Store) {
    // No CRM: nothing is queued for one.
    store.insert_appeal(&mut routed("01Z", "m0")).unwrap();
    assert!(store.crm_queue().unwrap().is_empty());
    store.set_crm_active(true);
    store.insert_appeal(&mut routed("01A", "m1")).unwrap();
    assert_eq!(store.crm_queue().unwrap(), vec!["01A".to_string()]);
    // What happens before delivery waits for the record.
    let message = Event::Message { text: "ещё вопрос".into(), attachments: 0 };
    store.update_appeal("01A", None, |a| a.record(2, None, message.clone())).unwrap();
    let assigned = Event::Assigned { employee: "e-1".into(), strategy: Strategy::RoundRobin, open: 0 };
    store.update_appeal("01A", None, |a| a.record(3, None, assigned.clone())).unwrap();
    assert!(!store.crm_delivery_was_tried("01A").unwrap());
    store
        .crm_delivered("01A", |a| {
            a.crm = Some(clienthub::appeal::CrmLink { id: "7".into(), ..Default::default() });
        })
        .unwrap();
    assert!(store.crm_queue().unwrap().is_empty());
    let taken = Event::Taken { employee: Some("e-1".into()), by: Some(Actor::Employee("e-1".into())) };
    store.update_appeal("01A", None, |a| a.record(4, None, taken.clone())).unwrap();
    let updates = store.crm_updates().unwrap();
    let events: Vec<u32> = updates
        .iter()
        .map(|u| match u {
            Queued::Event { appeal, index, .. } if appeal == "01A" => *index,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(events, [0, 1, 2], "the message, the assignment and the take, in order");
    for update in &updates {
        store.crm_update_done(update).unwrap();
    }
    assert!(store.crm_updates().unwrap().is_empty());
    assert_eq!(store.crm_queue_len(), 0);
    // An appeal routed later (reprocessed out of triage) is queued then.
    let mut triage = routed("01T", "m2");
    triage.status = Status::Triage;
    store.insert_appeal(&mut triage).unwrap();
    assert!(store.crm_queue().unwrap().is_empty());
    store.update_appeal("01T", None, |a| a.status = Status::Routed).unwrap();
    assert_eq!(store.crm_queue().unwrap(), vec!["01T".to_string()]);
    store.set_crm_active(false);
}

fn raw_requests(store: &Store) {
    let mut raw = clienthub::store::RawRequest {
        id: "01RAW".into(),
        channel: "telegram".into(),
        received_at: 1,
        method: "POST".into(),
        path: "/hooks/telegram".into(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        outcome: String::new(),
        body: b"{\"update_id\":1}".to_vec(),
    };
    store.keep_raw(&mut raw, "appeal 01A".into()).unwrap();
    let kept = store.raw("01RAW").unwrap().unwrap();
    assert_eq!((kept.body, kept.outcome), (raw.body.clone(), "appeal 01A".to_string()));
    // A repeated delivery keeps only its outcome, not a second copy of the body.
    let mut again = clienthub::store::RawRequest { id: "01RAW2".into(), ..raw.clone() };
    store.note_raw_outcome(&mut again, "duplicate of 01A".into()).unwrap();
    assert!(store.raw("01RAW2").unwrap().is_none());
}

fn control_records(store: &Store) {
    assert!(store.is_fresh());
    let record = serde_json::json!({ "name": "probe", "version": "0.1.0" });
    store.put_plugin("probe@0.1.0", &record, "abc123", b"\0asm-bytes").unwrap();
    assert_eq!(store.plugin::<serde_json::Value>("probe@0.1.0").unwrap(), Some(record));
    assert_eq!(store.blob("abc123").unwrap().as_deref(), Some(&b"\0asm-bytes"[..]));
    store.put_activation("probe", &serde_json::json!({ "name": "probe", "active": "0.1.0" })).unwrap();
    let activations: Vec<serde_json::Value> = store.activations().unwrap();
    assert_eq!(activations[0]["active"], "0.1.0");
    assert!(!store.is_fresh());
}

fn directory(store: &Store) {
    let directory: Directory = serde_json::from_value(serde_json::json!({
        "regions": [{ "id": "kazan", "name": "Казань", "cities": ["Казань"] }]
    }))
    .unwrap();
    store.put_directory_by(directory.validated().unwrap(), "Ольга").unwrap();
    assert_eq!(store.directory().regions[0].name, "Казань");
    let log = store.directory_changes(10).unwrap();
    assert_eq!(log[0].by, "Ольга");
}

fn plugin_kv(store: &Store) {
    let (a, b) = (store.plugin_kv("a"), store.plugin_kv("b"));
    a.set("counter", b"1").unwrap();
    a.set("counter:x", b"2").unwrap();
    assert_eq!(a.get("counter").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(b.get("counter").unwrap(), None, "b cannot see a's keys");
    assert_eq!(a.list("counter", 10).unwrap(), vec!["counter".to_string(), "counter:x".to_string()]);
    a.delete("counter").unwrap();
    assert_eq!(a.get("counter").unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_passes_every_case() {
    for (name, case) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(dir.path(), Arc::new(SystemClock), clienthub::store::DEFAULT_CACHE_BYTES).unwrap();
        tokio::task::block_in_place(|| case(&store));
        store.commit().await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_node_passes_every_case() {
    let nats = Nats::start();
    for (n, (name, case)) in CASES.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        // A cluster of its own per case, so each starts empty.
        let options = ClusterOptions {
            url: nats.url.clone(),
            name: format!("conformance-{}-{n}", ulid::Ulid::new()),
            replicas: 1,
            snapshot_every: 100_000,
        };
        let store =
            Store::join(dir.path(), &options, Arc::new(SystemClock), clienthub::store::DEFAULT_CACHE_BYTES)
                .await
                .unwrap();
        tokio::task::block_in_place(|| case(&store));
        store.commit().await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn revoke_unknown_token(store: &Store) {
    assert_eq!(store.revoke_token("0123456789ab").unwrap(), 0);
}
