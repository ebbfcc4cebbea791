//! Secondary indexes of appeals and the counters `/healthz` reads. They are kept inside the
//! very write that changes an appeal record ([`super::tx::Batch::apply`]), whatever
//! the write path, on one machine or on each node of a cluster applying the same batch; so
//! they cannot disagree with the records, even after a crash.
//!
//! An index entry is `field \0 value \0 appeal id` (ids are ULIDs: time order), for status,
//! channel, queue, department, region, assignee, topic, contact, overdue (`yes` once a
//! deadline was missed), number (the short one), open (`yes` while open) and unassigned (`yes`
//! while it waits for an employee) and unowned (`yes` while open with no department); its value is a fingerprint of all the appeal's terms. A list with
//! filters walks the entries of its rarest term newest first (every term has a maintained
//! counter), passes over those whose fingerprint lacks another term, and looks the rest up
//! under the other terms, so a page costs what the rarest term holds down to the page's last
//! match, not what the history costs. The indexes are rebuilt from the records
//! at start when they were built by an older version (or never).

use super::engine::{Tree, Write};
use super::record::Head;
use super::tx::{TreeId, Trees};
use crate::appeal::Appeal;
use anyhow::Result;

/// Version of the index layout; a data dir with another is reindexed at start.
const VERSION: &[u8] = b"6";
const VERSION_KEY: &[u8] = b"index-version";
/// The counter of all appeals.
const ALL: &[u8] = b"appeals";

/// The fields an appeal list can be filtered by.
pub const FIELDS: [&str; 14] = [
    "status",
    "channel",
    "queue",
    "department",
    "region",
    "assignee",
    "topic",
    "priority",
    "contact",
    "overdue",
    "number",
    "open",
    "unassigned",
    "unowned",
];

/// The (field, value) pairs an appeal is found under.
pub fn terms(appeal: &Appeal) -> Vec<(&'static str, String)> {
    let decision = appeal.decision.as_ref();
    let work = &appeal.work;
    let mut terms = vec![("status", appeal.status.name().to_string()), ("channel", appeal.channel.clone())];
    let mut add = |field: &'static str, value: Option<&String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            terms.push((field, value.clone()));
        }
    };
    add("queue", work.queue.as_ref().or(decision.map(|d| &d.queue)));
    add("department", work.department.as_ref().or(decision.and_then(|d| d.department.as_ref())));
    add("region", work.region.as_ref().or(decision.and_then(|d| d.region.as_ref())));
    add("assignee", work.assignee.as_ref());
    add("priority", decision.map(|d| &d.priority));
    add("topic", decision.and_then(|d| d.topic.as_ref()));
    add("contact", appeal.contact_id.as_ref());
    if work.reaction_overdue_at.is_some() || work.resolution_overdue_at.is_some() {
        terms.push(("overdue", "yes".to_string()));
    }
    if appeal.number > 0 {
        terms.push(("number", appeal.number.to_string()));
    }
    // The console's views: what is still to do, and what nobody holds.
    if appeal.status.is_open() {
        terms.push(("open", "yes".to_string()));
    }
    if appeal.is_waiting() {
        terms.push(("unassigned", "yes".to_string()));
    }
    // Open work no department owns: an admin is warned of it.
    if appeal.status.is_open() && work.department.is_none() && decision.is_none_or(|d| d.department.is_none())
    {
        terms.push(("unowned", "yes".to_string()));
    }
    terms
}

/// `field \0 value \0`: where one term's entries start.
pub fn prefix(field: &str, value: &str) -> Vec<u8> {
    [field.as_bytes(), &[0], value.as_bytes(), &[0]].concat()
}

fn counter_key(field: &str, value: &str) -> Vec<u8> {
    [b"count\0", field.as_bytes(), &[0], value.as_bytes()].concat()
}

fn decoded(bytes: Option<&[u8]>) -> Option<Head> {
    bytes.and_then(|b| super::record::decode_head(b).ok())
}

/// The trees derived from appeal records, inside the write that changes one.
pub struct Derived<'a, 'w> {
    /// The write in progress.
    pub write: &'a mut Write<'w>,
    /// The trees it writes to.
    pub trees: &'a Trees,
}

impl Derived<'_, '_> {
    /// Moves appeal `id`'s index entries, counters and figures from the record it had (`old`)
    /// to the one it gets (`new`; `None` removes it).
    ///
    /// # Errors
    /// On storage failure.
    pub fn maintain(self, id: &[u8], old: Option<&[u8]>, new: Option<&[u8]>) -> Result<()> {
        let (old, new) = (decoded(old), decoded(new));
        let before = old.as_ref().map(|h| terms(&h.appeal)).unwrap_or_default();
        let after = new.as_ref().map(|h| terms(&h.appeal)).unwrap_or_default();
        let (index, counters) = (self.trees.get(TreeId::AppealIndex), self.trees.get(TreeId::Counters));
        for (field, value) in before.iter().filter(|t| !after.contains(t)) {
            self.write.remove(index, &[prefix(field, value).as_slice(), id].concat());
            add(self.write, counters, &counter_key(field, value), -1)?;
        }
        // Every entry carries the fingerprint of all the terms: when one changes, all are rewritten.
        let set = fingerprint_of(&after);
        let same_set = set == fingerprint_of(&before);
        for (field, value) in &after {
            let added = !before.contains(&(*field, value.clone()));
            if added || !same_set {
                self.write.insert(index, &[prefix(field, value).as_slice(), id].concat(), &set);
            }
            if added {
                add(self.write, counters, &counter_key(field, value), 1)?;
            }
        }
        super::figures::maintain(self.write, self.trees.get(TreeId::DayFigures), old.as_ref(), new.as_ref())?;
        match (old.is_some(), new.is_some()) {
            (false, true) => add(self.write, counters, ALL, 1),
            (true, false) => add(self.write, counters, ALL, -1),
            _ => Ok(()),
        }
    }
}

fn add(write: &mut Write, counters: &Tree, key: &[u8], delta: i64) -> Result<()> {
    let now = write.get(counters, key)?.map_or(0, |v| read_u64(&v));
    write.insert(counters, key, &now.saturating_add_signed(delta).to_be_bytes());
    Ok(())
}

fn read_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map_or(0, u64::from_be_bytes)
}

/// Appeals stored.
pub fn count(trees: &Trees) -> u64 {
    trees.get(TreeId::Counters).get(ALL).ok().flatten().map_or(0, |v| read_u64(&v))
}

/// Appeals stored under a term (`status` = `routed`).
pub fn count_term(trees: &Trees, field: &str, value: &str) -> u64 {
    let key = counter_key(field, value);
    trees.get(TreeId::Counters).get(key).ok().flatten().map_or(0, |v| read_u64(&v))
}

/// Rebuilds the indexes, counters and figures from the records, whatever version built them.
///
/// # Errors
/// On storage failure.
pub fn rebuild(trees: &Trees) -> Result<()> {
    trees.get(TreeId::Counters).remove(VERSION_KEY)?;
    ensure(trees)
}

/// Rebuilds the indexes and counters from the records when they were built by another
/// version of the layout (or never): once, at start, before anything is served.
///
/// # Errors
/// On storage failure.
pub fn ensure(trees: &Trees) -> Result<()> {
    let counters = trees.get(TreeId::Counters);
    if counters.get(VERSION_KEY)?.as_deref() == Some(VERSION) {
        return Ok(());
    }
    let index = trees.get(TreeId::AppealIndex);
    let figures_tree = trees.get(TreeId::DayFigures);
    index.clear()?;
    counters.clear()?;
    figures_tree.clear()?;
    let mut total = 0u64;
    let mut by_term = std::collections::HashMap::<(&'static str, String), u64>::new();
    let mut figures = std::collections::HashMap::<Vec<u8>, super::figures::Figures>::new();
    let mut bulk = trees.db().bulk();
    for entry in trees.get(TreeId::Appeals).iter() {
        let (id, bytes) = entry?;
        let Some(head) = decoded(Some(&bytes)) else { continue };
        for part in super::figures::parts(&head.appeal, head.dropped_by.as_deref()) {
            figures.entry(part.key.clone()).or_default().add(&part, 1);
        }
        let terms = terms(&head.appeal);
        let set = fingerprint_of(&terms);
        for (field, value) in terms {
            bulk.insert(index, &[prefix(field, &value).as_slice(), &id].concat(), &set)?;
            *by_term.entry((field, value)).or_default() += 1;
        }
        total += 1;
    }
    for ((field, value), n) in by_term {
        bulk.insert(counters, &counter_key(field, &value), &n.to_be_bytes())?;
    }
    for (key, value) in figures {
        bulk.insert(figures_tree, &key, &super::figures::encode(&value))?;
    }
    bulk.insert(counters, ALL, &total.to_be_bytes())?;
    bulk.finish()?;
    // Last, so a rebuild cut short is done again.
    counters.insert(VERSION_KEY, VERSION)?;
    if total > 0 {
        tracing::info!(appeals = total, "appeal indexes rebuilt");
    }
    Ok(())
}

/// Ids of the appeals having every term, newest first, below `before`, not below `floor`,
/// at most `limit`. The entries of the rarest term (by its counter) are walked newest first;
/// an entry whose [`fingerprint`] lacks another term is passed over without a read, and the
/// rest are looked up under the other terms. So a page costs the rarest term's entries down
/// to the page's last match, never the history.
///
/// # Errors
/// On storage failure.
pub fn matching(
    trees: &Trees,
    terms: &[(String, String)],
    before: Option<&[u8]>,
    floor: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Vec<u8>>> {
    let index = trees.get(TreeId::AppealIndex);
    let mut ordered: Vec<(u64, &str, &str)> =
        terms.iter().map(|(f, v)| (count_term(trees, f, v), f.as_str(), v.as_str())).collect();
    ordered.sort();
    let others: Vec<Vec<u8>> = ordered.iter().skip(1).map(|(_, f, v)| prefix(f, v)).collect();
    let wanted = fingerprint(ordered.iter().skip(1).map(|(_, f, v)| (*f, *v)));
    let (walked, start) = match ordered.first() {
        Some((_, field, value)) => (index, prefix(field, value)),
        None => (trees.get(TreeId::Appeals), Vec::new()),
    };
    let top = match before {
        Some(id) => [start.as_slice(), id].concat(),
        None => [start.as_slice(), &[0xff]].concat(),
    };
    let bottom = [start.as_slice(), floor.unwrap_or_default()].concat();
    let mut out = Vec::new();
    for entry in walked.range(bottom..top).rev() {
        let (key, set) = entry?;
        let id = &key[start.len()..];
        if others.is_empty() || ((read_u64(&set) & wanted) == wanted && under_all(index, &others, id)?) {
            out.push(id.to_vec());
            if out.len() == limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Whether appeal `id` has an entry under every one of `prefixes`.
fn under_all(index: &Tree, prefixes: &[Vec<u8>], id: &[u8]) -> Result<bool> {
    for prefix in prefixes {
        if !index.contains_key([prefix.as_slice(), id].concat())? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A set of terms in 64 bits, two bits per term, kept as the value of each of an appeal's
/// index entries. A term whose bits are missing is certainly not the appeal's; one whose bits
/// are there may be (with ten terms, about 7 % of absent terms pass), so it is looked up.
fn fingerprint<'a>(terms: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    use sha2::{Digest, Sha256};
    terms.into_iter().fold(0, |set, (field, value)| {
        let digest = Sha256::new().chain_update(field).chain_update([0]).chain_update(value).finalize();
        set | 1 << (digest[0] & 63) | 1 << (digest[1] & 63)
    })
}

/// The fingerprint of an appeal's terms.
fn fingerprint_of(terms: &[(&'static str, String)]) -> [u8; 8] {
    fingerprint(terms.iter().map(|(f, v)| (*f, v.as_str()))).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use crate::appeal::{Appeal, Decision, Status};
    use crate::clock::SystemClock;
    use crate::{AppealQuery, DEFAULT_CACHE_BYTES, Store};
    use std::sync::Arc;

    /// A small deterministic generator (xorshift), so a failure can be replayed.
    struct Dice(u64);

    impl Dice {
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            from[(self.0 % from.len() as u64) as usize]
        }
    }

    fn reshape(appeal: &mut Appeal, dice: &mut Dice) {
        let status = dice.pick(&["0", "1", "2", "3", "4", "5", "6"]).parse::<usize>().unwrap();
        appeal.status = Status::ALL[status];
        appeal.channel = dice.pick(&["telegram", "vk", "webform"]).into();
        appeal.work.department =
            Some(dice.pick(&["returns", "delivery", ""])).filter(|d| !d.is_empty()).map(Into::into);
        appeal.work.region = Some(dice.pick(&["msk", "spb", "kzn"]).into());
        appeal.work.assignee = Some(dice.pick(&["e-1", "e-2", "-"])).filter(|a| *a != "-").map(Into::into);
        let minutes = |d: &mut Dice| d.pick(&["5", "20", "90", "600"]).parse::<u64>().unwrap() * 60_000;
        appeal.work.reaction_ms =
            matches!(appeal.status, Status::InWork | Status::Resolved).then(|| minutes(dice));
        appeal.work.resolution_ms = (appeal.status == Status::Resolved).then(|| minutes(dice));
        appeal.decision = Some(Decision {
            queue: dice.pick(&["returns", "general"]).into(),
            region: None,
            department: None,
            topic: Some(dice.pick(&["refund", "shipping"]).into()),
            candidates: Vec::new(),
            strategy: "round-robin".into(),
            priority: "normal".into(),
            reaction_minutes: None,
            reason: String::new(),
        });
    }

    fn brute(all: &[Appeal], query: &AppealQuery) -> Vec<String> {
        let mut ids: Vec<String> = all
            .iter()
            .filter(|a| {
                let terms = super::terms(a);
                let has = |(f, v): &(String, String)| terms.iter().any(|(tf, tv)| tf == f && tv == v);
                query.terms.iter().all(has)
                    && (query.any_of.is_empty() || query.any_of.iter().any(|all| all.iter().all(has)))
            })
            .map(|a| a.id.clone())
            .collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids
    }

    fn listed(store: &Store, query: &AppealQuery, page: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let items = store.list_appeals(query, before.as_deref(), page).unwrap();
            out.extend(items.iter().map(|a| a.id.clone()));
            if items.len() < page {
                return out;
            }
            before = items.last().map(|a| a.id.clone());
        }
    }

    #[test]
    fn filters_match_a_brute_force_scan_through_changes_and_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(SystemClock), DEFAULT_CACHE_BYTES).unwrap();
        let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
        let mut ids = Vec::new();
        for _ in 0..2_000 {
            let day = dice.pick(&["0", "1", "2", "3"]).parse::<u64>().unwrap();
            let received_at = 1_700_000_000_000 + day * 86_400_000;
            let mut appeal = Appeal { id: store.fresh_id(), received_at, ..Appeal::default() };
            reshape(&mut appeal, &mut dice);
            store.put_appeal(&appeal).unwrap();
            ids.push(appeal.id);
        }
        // Changes through the transactional path: status, assignee, department move.
        for id in ids.iter().step_by(3) {
            let seed = dice.0;
            store.change_appeal(id, |a| reshape(a, &mut Dice(seed))).unwrap();
            dice.pick(&["x"]);
        }
        let all: Vec<Appeal> = ids.iter().map(|id| store.appeal(id).unwrap().unwrap()).collect();
        let queries: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![("status", "routed")],
            vec![("channel", "vk"), ("department", "returns")],
            vec![("status", "in_work"), ("region", "msk"), ("assignee", "e-1"), ("channel", "telegram")],
            vec![("topic", "refund"), ("queue", "general"), ("department", "delivery"), ("region", "kzn")],
            vec![("assignee", "nobody")],
        ];
        let check = |store: &Store| {
            for terms in &queries {
                let query = AppealQuery {
                    terms: terms.iter().map(|(f, v)| (f.to_string(), v.to_string())).collect(),
                    ..AppealQuery::default()
                };
                assert_eq!(listed(store, &query, 37), brute(&all, &query), "{terms:?}");
            }
            // A person's scope (departments × regions, or assigned to them), alone and with a
            // filter: the merged pages are exactly the scope's appeals, newest first.
            let pair = |f: &str, v: &str| (f.to_string(), v.to_string());
            let scope = vec![
                vec![pair("department", "returns"), pair("region", "msk")],
                vec![pair("department", "returns"), pair("region", "kzn")],
                vec![pair("assignee", "e-1")],
            ];
            for terms in [vec![], vec![pair("status", "routed")], vec![pair("channel", "vk")]] {
                let query =
                    AppealQuery { terms: terms.clone(), any_of: scope.clone(), ..AppealQuery::default() };
                let expected = brute(&all, &query);
                assert!(!expected.is_empty());
                assert_eq!(listed(store, &query, 37), expected, "scoped {terms:?}");
            }
            assert_eq!(store.appeal_count(), 2_000);
            // Per-day figures add up to what the records say, day by day.
            let (mut figures, mut reaction_ms) = (Vec::new(), 0);
            store
                .day_figures("region", 0..u32::MAX, |region, f| {
                    reaction_ms += f.reaction.sum_ms;
                    figures.push((region, f.appeals));
                })
                .unwrap();
            let mut expected = std::collections::BTreeMap::<(String, u64), u64>::new();
            for a in &all {
                *expected.entry((a.work.region.clone().unwrap(), a.received_at)).or_default() += 1;
            }
            let mut expected: Vec<(String, u64)> = expected.into_iter().map(|((r, _), n)| (r, n)).collect();
            figures.sort();
            expected.sort();
            assert_eq!(figures, expected);
            assert_eq!(reaction_ms, all.iter().filter_map(|a| a.work.reaction_ms).sum::<u64>());
            let routed = all.iter().filter(|a| a.status == Status::Routed).count() as u64;
            assert_eq!(store.status_count(Status::Routed), routed);
        };
        check(&store);

        // Rebuilt from the records, the indexes are the same.
        let index: Vec<_> =
            store.trees.get(super::TreeId::AppealIndex).iter().keys().map(Result::unwrap).collect();
        store.trees.get(super::TreeId::Counters).remove(super::VERSION_KEY).unwrap();
        super::ensure(&store.trees).unwrap();
        let rebuilt: Vec<_> =
            store.trees.get(super::TreeId::AppealIndex).iter().keys().map(Result::unwrap).collect();
        assert_eq!(index, rebuilt);
        check(&store);
        let figures: Vec<_> =
            store.trees.get(super::TreeId::DayFigures).iter().keys().map(Result::unwrap).collect();
        assert!(!figures.is_empty());
    }
}
