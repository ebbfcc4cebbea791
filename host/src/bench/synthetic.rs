//! A year of a chain's appeals, made up but realistic: appeal `i` is the `i`-th newest, from one
//! of 300 k contacts, in one of 40 regions, 12 departments and 20 topics, with the open work in
//! the last two weeks; written straight through the store's own write path with a raw request
//! each.

use crate::appeal::{Appeal, Contact, Decision, Status};
use crate::clock::SystemClock;
use crate::event::{Actor, Event, Strategy};
use crate::store::{RawRequest, Store};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;

pub(super) const DAY_MS: u64 = 86_400_000;
pub(super) const REGIONS: u64 = 40;
pub(super) const DEPARTMENTS: u64 = 12;
pub(super) const EMPLOYEES: u64 = 250;
pub(super) const TOPICS: u64 = 20;
pub(super) const CONTACTS: u64 = 300_000;
pub(super) const TEXTS: [&str; 8] = [
    "Хочу вернуть заказ, не подошёл размер",
    "Где мой заказ? Доставка опаздывает третий день",
    "Курьер не приехал, верните деньги",
    "Товар пришёл с браком, нужен обмен",
    "Не могу оплатить картой на сайте",
    "Спасибо продавцу, всё отлично",
    "Когда будет поступление в магазин?",
    "Списали деньги дважды, разберитесь",
];
pub(super) const CHANNELS: [&str; 6] = ["telegram", "vk", "whatsapp", "webform", "email", "ok"];

/// Writes appeals `from..to` (in two threads), with a progress bar.
pub(super) fn load(data: &Path, from: u64, to: u64, now: u64, cache_mib: u64) -> Result<()> {
    let store = Store::open(data, Arc::new(SystemClock), cache_mib << 20)?;
    // Nobody works the bursts' appeals, which stay open; a chain's staff would have resolved
    // them long before its history grew this much, so they are resolved here and the open work
    // stays that of the last two weeks (the dispatcher keeps a little for each open appeal).
    let mut open = store.waiting()?;
    open.extend(store.holdings()?.into_iter().map(|(_, appeal)| appeal));
    for id in open {
        if store.appeal(&id)?.is_some_and(|appeal| appeal.received_at > now) {
            crate::work::actions::apply(
                &store,
                &id,
                &crate::work::actions::Action::Resolve,
                Some(&Actor::Service("bench".into())),
            )
            .with_context(|| format!("resolving {id}"))?;
        }
    }
    let bar = indicatif::ProgressBar::new(to - from);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "loading {bar:40} {pos}/{len} {per_sec} eta {eta}",
    )?);
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let (store, bar) = (&store, &bar);
                scope.spawn(move || -> Result<()> {
                    for i in (from + worker..to).step_by(2) {
                        let (mut appeal, mut raw) = synthetic(i, now);
                        store.insert_appeal(&mut appeal)?;
                        store.keep_raw(&mut raw, format!("appeal {}", appeal.id))?;
                        bar.inc(1);
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker.join().map_err(|_| anyhow::anyhow!("a loader panicked"))??;
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    // Notices about a year of past events went out long ago: their marks go, as the notices
    // worker would have taken them, so that neither host starts with millions pending.
    loop {
        let pending = store.notices_pending(10_000)?;
        if pending.is_empty() {
            break;
        }
        for (appeal, index, _) in pending {
            store.notice_progress(&appeal, index, None)?;
        }
    }
    store.flush_now()?;
    let sizes = store.tree_sizes()?;
    let total: u64 = sizes.iter().map(|s| s.2).sum();
    let mut line =
        format!("records: {:.2} KiB per appeal of keys and values:", total as f64 / 1024.0 / to as f64);
    for (name, entries, bytes) in sizes.into_iter().filter(|s| s.2 * 100 > total) {
        line += &format!(" {name} {:.0} B ({entries})", bytes as f64 / to as f64);
    }
    println!("{line}");
    Ok(())
}

/// Appeals a year: the chain of the issue, a 700-store chain's million.
pub(super) const PER_YEAR: u64 = 1_000_000;
/// Days an appeal may stay open: older ones are resolved or dropped, as at a chain whose
/// deadlines are hours and days.
pub(super) const OPEN_DAYS: u64 = 14;

/// Appeal `i`, the `i`-th newest: received [`PER_YEAR`] a year before the newest, from one of
/// 300 k contacts, in a realistic state: the last [`OPEN_DAYS`] hold the open work, older
/// appeals are resolved (96 %) or dropped.
pub(super) fn synthetic(i: u64, now: u64) -> (Appeal, RawRequest) {
    let mix = splitmix(i);
    let pick = |n: u64, salt: u64| splitmix(i ^ salt.wrapping_mul(0xa076_1d64_78bd_642f)) % n;
    // Newest first at a steady rate, so a larger history reaches further back in time: 500 k
    // is the latest half-year, 1 M the whole year, and the open work is the same at both.
    let received_at = now - 60_000 - i * (365 * DAY_MS / PER_YEAR);
    let closed = now - received_at > OPEN_DAYS * DAY_MS;
    let id = ulid::Ulid::from_parts(received_at, u128::from(mix) << 40 | u128::from(i)).to_string();
    let contact = pick(CONTACTS, 1);
    let channel = CHANNELS[pick(CHANNELS.len() as u64, 2) as usize];
    let status = match pick(100, 3) {
        93..=96 => Status::Dropped,
        _ if closed => Status::Resolved,
        0..=84 => Status::Resolved,
        85..=89 => Status::InWork,
        90..=92 => Status::Routed,
        97..=98 => Status::Triage,
        _ => Status::Paused,
    };
    let (region, department) =
        (format!("r-{:02}", pick(REGIONS, 4)), format!("d-{:02}", pick(DEPARTMENTS, 5)));
    let employee = format!("e-{:03}", pick(EMPLOYEES, 6));
    let text = format!("{} (магазин {})", TEXTS[pick(TEXTS.len() as u64, 7) as usize], 100 + pick(700, 8));
    let mut appeal = Appeal {
        id,
        channel: channel.into(),
        platform_id: format!("h{i}"),
        conversation_key: format!("c{contact}"),
        received_at,
        contact: Contact {
            name: Some(format!("Клиент {contact}")),
            phone: Some(format!("+7912{contact:07}")),
            email: (contact % 3 == 0).then(|| format!("client{contact}@example.ru")),
            platform_user_id: Some(format!("u{contact}")),
        },
        text,
        status,
        raw_request_id: format!("raw-{i}"),
        metadata: vec![("store".into(), format!("{}", 100 + pick(700, 8)))],
        ..Appeal::default()
    };
    appeal.record(received_at, None, Event::Received { raw_request: format!("raw-{i}") });
    if matches!(status, Status::Dropped) {
        let dropped = Event::Dropped { reason: "contest noise".into() };
        appeal.record(received_at, Some("contest-filter@0.1.0".into()), dropped);
    }
    if !matches!(status, Status::Dropped | Status::Triage) {
        appeal.decision = Some(Decision {
            queue: department.clone(),
            region: Some(region.clone()),
            department: Some(department.clone()),
            topic: Some(format!("t-{:02}", pick(TOPICS, 9))),
            candidates: Vec::new(),
            strategy: "least-loaded".into(),
            priority: "normal".into(),
            reaction_minutes: None,
            reason: "keywords".into(),
        });
        let routed = Event::Routed {
            queue: department.clone(),
            topic: appeal.decision.as_ref().and_then(|d| d.topic.clone()),
            region: Some(region.clone()),
            department: Some(department.clone()),
            reason: "topic by keywords".into(),
        };
        appeal.work.department = Some(department);
        appeal.work.region = Some(region);
        appeal.work.assignee = Some(employee.clone());
        appeal.record(received_at + 50, Some("rules-router@0.1.1".into()), routed);
        let assigned =
            Event::Assigned { employee: employee.clone(), strategy: Strategy::LeastLoaded, open: 0 };
        appeal.record(received_at + 60, None, assigned);
    }
    if matches!(status, Status::Resolved | Status::InWork | Status::Paused) {
        let reaction = (5 + pick(240, 10)) * 60_000;
        appeal.work.taken_at = Some(received_at + reaction);
        appeal.work.reaction_ms = Some(reaction);
        appeal.record(
            received_at + reaction,
            None,
            Event::Taken { employee: Some(employee.clone()), by: None },
        );
    }
    if status == Status::Resolved {
        let resolution = (60 + pick(4_000, 11)) * 60_000;
        appeal.work.resolved_at = Some(received_at + resolution);
        appeal.work.resolution_ms = Some(resolution);
        appeal.record(received_at + resolution, None, Event::Resolved { by: None });
    }
    if status == Status::Triage {
        appeal.error = Some("adapter trapped".into());
    }
    let body = format!(
        r#"{{"update_id":{i},"message":{{"message_id":{i},"date":{},"text":"{}","from":{{"id":{contact},"is_bot":false,"first_name":"Клиент"}},"chat":{{"id":{contact},"type":"private"}}}}}}"#,
        received_at / 1_000,
        appeal.text
    );
    let raw = RawRequest {
        id: appeal.raw_request_id.clone(),
        channel: channel.into(),
        received_at,
        method: "POST".into(),
        path: format!("/hooks/{channel}"),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        outcome: String::new(),
        body: body.into_bytes(),
    };
    (appeal, raw)
}

/// A well-mixed 64-bit hash (splitmix64), so the fields of an appeal do not correlate.
pub(super) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
