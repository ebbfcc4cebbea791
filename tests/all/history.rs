//! An appeal's typed history through the real store: every kind of event is written, survives
//! a restart of the store, and reads back as it was written, in words for people on the way.

use clienthub::appeal::{Appeal, AttachmentKind, ReplyState, Status};
use clienthub::clock::SystemClock;
use clienthub::event::{
    Actor, Clock, Event, FileProblem, NoticeKind, NoticeOutcome, Origin, Place, RouteChange, RouteField,
    Strategy, Unavailable, WaitReason,
};
use clienthub::store::Store;
use clienthub::text::{Lang, NoNames, render};
use std::sync::Arc;

/// One event of every kind, in the order of [`kind`].
fn every_kind() -> Vec<Event> {
    let olga = || Some(Actor::Employee("olga".into()));
    vec![
        Event::Received { raw_request: "R1".into() },
        Event::Kept,
        Event::Tagged { tags: vec!["vip".into()] },
        Event::Dropped { reason: "contest hashtag #конкурс".into() },
        Event::FilterFailed { error: "trap".into() },
        Event::Unrouted,
        Event::Routed {
            queue: "returns".into(),
            topic: Some("refund".into()),
            region: Some("kzn".into()),
            department: Some("returns".into()),
            reason: "keyword вернуть".into(),
        },
        Event::Triage { error: "malformed payload".into() },
        Event::Message { text: "Номер заказа 42".into(), attachments: 1 },
        Event::ReplyRequested { author: Some("Иван из CRM".into()), text: "Едем".into() },
        Event::ReplyQueued { reply: "R1".into(), by: olga(), again: false },
        Event::ReplySent { reply: "R1".into(), message: Some("9001".into()), attempt: 1 },
        Event::ReplyRetry { reply: "R1".into(), attempt: 1, error: "Telegram 429".into(), next_in_ms: 1500 },
        Event::ReplyFailed { reply: "R1".into(), attempt: 5, error: "blocked".into(), gave_up: true },
        Event::DeliveryStatus { reply: "R1".into(), state: ReplyState::Read, detail: None },
        Event::CrmDelivered { entity: "deal".into(), id: "7".into() },
        Event::CrmRetry { error: "503".into() },
        Event::CrmFailed { error: "deleted".into(), update: true },
        Event::Assigned { employee: "olga".into(), strategy: Strategy::LeastLoaded, open: 3 },
        Event::Waiting {
            queue: "returns".into(),
            reason: WaitReason::NobodyFree(vec![("olga".into(), Unavailable::Away)]),
        },
        Event::Taken { employee: Some("olga".into()), by: olga() },
        Event::HandedOff {
            from: Some(Place::Employee("olga".into())),
            to: Place::Department("service".into()),
            by: olga(),
            reason: Some("нужен мастер: срочно".into()),
        },
        Event::Escalated {
            from: Some("returns".into()),
            to: "heads".into(),
            by: None,
            reason: None,
            after_minutes: Some(20),
        },
        Event::Paused { by: olga(), reason: Some("ждём фото".into()) },
        Event::Resumed { by: olga() },
        Event::Resolved { by: Some(Actor::Plugin("bitrix24@0.2.0".into())) },
        Event::Reopened { by: Some(Actor::Customer) },
        Event::Reclassified {
            changes: vec![RouteChange { field: RouteField::Topic, from: None, to: "refund".into() }],
            by: Some(Actor::Service("admin".into())),
            reason: None,
        },
        Event::Note { by: olga(), text: "Перезвонить после 18:00".into() },
        Event::ChecklistDone {
            item: "photo".into(), text: "Фото до ремонта".into(), by: olga()
        },
        Event::ChecklistUndone {
            item: "photo".into(), text: "Фото до ремонта".into(), by: olga()
        },
        Event::Overdue { clock: Clock::Resolution, late_minutes: 12 },
        Event::OverdueNotice {
            outcome: NoticeOutcome::Failed {
                channel: "webhook".into(),
                recipient: "x".into(),
                error: "HTTP 500".into(),
            },
        },
        Event::Notice {
            kind: NoticeKind::New,
            outcome: NoticeOutcome::Sent { channel: "telegram".into(), recipient: "-100777".into() },
        },
        Event::Rated { score: 5 },
        Event::RatedLow { score: 2 },
        Event::Erased { by: Some(Actor::Service("admin".into())) },
        Event::Created { origin: Origin::Phone, by: olga() },
        Event::Reprocessed { by: None, appeals: vec!["01B".into()] },
        Event::ReprocessFailed { error: "still refuses it".into() },
        Event::FileStored { attachment: 0, kind: AttachmentKind::Photo, size: 48 * 1024 },
        Event::FileFailed {
            attachment: 1,
            kind: AttachmentKind::Document,
            problem: FileProblem::TooLarge(1 << 20),
        },
        Event::Legacy { stage: "crm_status".into(), detail: "stage moved".into() },
        Event::Returned { from: "olga".into(), minutes: 16 },
    ]
}

/// Each kind's place in [`every_kind`]; a kind added to the model and not to the list above
/// stops this from compiling.
fn kind(event: &Event) -> usize {
    match event {
        Event::Received { .. } => 0,
        Event::Kept => 1,
        Event::Tagged { .. } => 2,
        Event::Dropped { .. } => 3,
        Event::FilterFailed { .. } => 4,
        Event::Unrouted => 5,
        Event::Routed { .. } => 6,
        Event::Triage { .. } => 7,
        Event::Message { .. } => 8,
        Event::ReplyRequested { .. } => 9,
        Event::ReplyQueued { .. } => 10,
        Event::ReplySent { .. } => 11,
        Event::ReplyRetry { .. } => 12,
        Event::ReplyFailed { .. } => 13,
        Event::DeliveryStatus { .. } => 14,
        Event::CrmDelivered { .. } => 15,
        Event::CrmRetry { .. } => 16,
        Event::CrmFailed { .. } => 17,
        Event::Assigned { .. } => 18,
        Event::Waiting { .. } => 19,
        Event::Taken { .. } => 20,
        Event::HandedOff { .. } => 21,
        Event::Escalated { .. } => 22,
        Event::Paused { .. } => 23,
        Event::Resumed { .. } => 24,
        Event::Resolved { .. } => 25,
        Event::Reopened { .. } => 26,
        Event::Reclassified { .. } => 27,
        Event::Note { .. } => 28,
        Event::ChecklistDone { .. } => 29,
        Event::ChecklistUndone { .. } => 30,
        Event::Overdue { .. } => 31,
        Event::OverdueNotice { .. } => 32,
        Event::Notice { .. } => 33,
        Event::Rated { .. } => 34,
        Event::RatedLow { .. } => 35,
        Event::Erased { .. } => 36,
        Event::Created { .. } => 37,
        Event::Reprocessed { .. } => 38,
        Event::ReprocessFailed { .. } => 39,
        Event::FileStored { .. } => 40,
        Event::FileFailed { .. } => 41,
        Event::Legacy { .. } => 42,
        Event::Returned { .. } => 43,
    }
}

#[test]
fn every_kind_of_event_is_stored_survives_a_restart_and_reads_back() {
    let events = every_kind();
    assert_eq!(events.iter().map(kind).collect::<Vec<_>>(), (0..events.len()).collect::<Vec<_>>());
    let dir = tempfile::tempdir().unwrap();
    let open =
        || Store::open(dir.path(), Arc::new(SystemClock), clienthub::store::DEFAULT_CACHE_BYTES).unwrap();
    let mut appeal = Appeal {
        id: "01JHISTORYEVERYKIND0000000".into(),
        channel: "telegram".into(),
        platform_id: "m-1".into(),
        conversation_key: "chat:1".into(),
        status: Status::Routed,
        text: "Хочу вернуть заказ".into(),
        ..Appeal::default()
    };
    let (first, rest) = events.split_at(5);
    for (n, event) in first.iter().enumerate() {
        appeal.record(n as u64, Some("plugin@1.0.0".into()), event.clone());
    }
    {
        let store = open();
        store.insert_appeal(&mut appeal).unwrap();
        // The rest appended one change at a time, as the host does.
        for (n, event) in rest.iter().enumerate() {
            store.update_appeal(&appeal.id, None, |a| a.record(100 + n as u64, None, event.clone())).unwrap();
        }
        store.flush_now().unwrap();
    }
    let store = open();
    let read = store.appeal(&appeal.id).unwrap().expect("the appeal is there after a restart");
    let kinds: Vec<&Event> = read.history.iter().map(|e| &e.event).collect();
    assert_eq!(kinds, events.iter().collect::<Vec<_>>());
    assert_eq!(read.history[0].plugin.as_deref(), Some("plugin@1.0.0"));
    // Each reads in both languages, with no id the reader did not give a name for left empty.
    for event in &events {
        for lang in [Lang::Ru, Lang::En] {
            let words = render(event, lang, &NoNames);
            assert!(matches!(event, Event::Kept) || !words.is_empty(), "{event:?} in {lang:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_directory_of_the_previous_version_opens_and_shows_its_old_history() {
    use crate::support::Host;
    let dir = tempfile::tempdir().unwrap();
    let archive = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/compat/data-dir-2264caf.tgz");
    let unpacked =
        std::process::Command::new("tar").arg("xzf").arg(archive).arg("-C").arg(dir.path()).status();
    assert!(unpacked.unwrap().success(), "tar could not unpack {archive}");
    let host = Host::builder().dir(dir.path()).start();
    let id = "01M997H5TRTZZDF55552R8VWVY";
    let shown = host.api.get_json(&format!("/api/appeals/{id}?lang=ru")).await.unwrap();
    assert_eq!(shown["status"], "resolved", "{shown}");
    let stages: Vec<&str> =
        shown["history"].as_array().unwrap().iter().map(|e| e["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["received", "kept", "routed", "assigned", "taken", "note", "handed_off", "resolved"]);
    let entry = |stage: &str| {
        shown["history"].as_array().unwrap().iter().find(|e| e["stage"] == stage).unwrap().clone()
    };
    // Titles in the reader's language; the words of the entries read into typed events are
    // made again, the rest shown as written, whole — a reason with ": " in it included.
    assert_eq!(entry("handed_off")["title"], "Передано");
    assert!(entry("handed_off")["detail"].as_str().unwrap().contains("нужен курьер: срочно"), "{shown}");
    assert!(entry("note")["detail"].as_str().unwrap().contains("Клиент просит перезвонить после 18:00"));
    // The contact and search work on the old record; a change writes it again, typed, and
    // keeps what it held.
    crate::support::eventually("the old appeal is found by its words", async || {
        host.api.get_json("/api/appeals?q=вернуть").await.unwrap().to_string().contains(id)
    })
    .await;
    host.api.send_json("POST", &format!("/api/appeals/{id}/reopen"), &serde_json::json!({})).await.unwrap();
    let reopened = host.api.get_json(&format!("/api/appeals/{id}")).await.unwrap();
    let after: Vec<&str> =
        reopened["history"].as_array().unwrap().iter().map(|e| e["stage"].as_str().unwrap()).collect();
    assert_eq!(after.len(), 9, "{after:?}");
    assert_eq!(after.last(), Some(&"reopened"));
    assert_eq!(reopened["contact"]["phone"], "+79161234567");
}
