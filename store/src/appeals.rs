//! Appeals and the indexes kept in step with them: idempotency and conversation keys,
//! contacts and their appeals, replies by platform message id, the appeals waiting for an
//! employee and the open appeals each employee holds.

use super::record::Head;
use super::tx::{TreeId, Tx};
use super::{Claim, Store, keys_of, pair_key};
use crate::appeal::{Appeal, Status};
use anyhow::Result;

impl Store {
    // --- appeals ------------------------------------------------------------------------

    /// Writes an appeal whole, new or over a stored one, in a transaction (its indexes,
    /// counters and marks follow as for any change); for an appeal no message claims (a kept
    /// request in triage) and for tests. A message's appeal is [`Store::insert_appeal`]ed.
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_appeal(&self, appeal: &Appeal) -> Result<()> {
        self.write(|tx| match super::record::load(tx, &appeal.id)? {
            Some((_, stored)) => super::record::save(tx, appeal, stored),
            None => {
                let numbered = numbered(tx, appeal.clone())?;
                super::record::save(tx, &numbered, Default::default())
            }
        })
    }

    /// An appeal by id.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn appeal(&self, id: &str) -> Result<Option<Appeal>> {
        self.tree(TreeId::Appeals)
            .get(id.as_bytes())?
            .map(|v| super::record::read(&self.trees, &v))
            .transpose()
    }

    /// A fresh id for an appeal or a raw request: a ULID on the store's clock, so ids sort as
    /// they were received and a time range is a range of ids.
    pub fn fresh_id(&self) -> String {
        let mut random = [0u8; 16];
        // Without the system's randomness no id can be unique; nothing sensible goes on.
        getrandom::fill(&mut random).expect("the operating system's random generator");
        ulid::Ulid::from_parts(self.now_ms(), u128::from_be_bytes(random)).to_string()
    }

    /// Appeals newest first that match `query`, below `before` (an appeal id, the previous
    /// page's last), at most `limit`: read from the indexes, at a cost that grows with the page.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn list_appeals(
        &self,
        query: &AppealQuery,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Appeal>> {
        if query.any_of.is_empty() {
            return self.list_matching(query, &query.terms, before, limit);
        }
        // Each alternative of the scope is a page of its own, newest first; the newest
        // `limit` of all of them (an appeal may be in several) make the page.
        let mut pages = Vec::new();
        for alternative in &query.any_of {
            let terms: Vec<(String, String)> = query.terms.iter().chain(alternative).cloned().collect();
            pages.extend(self.list_matching(query, &terms, before, limit)?);
        }
        pages.sort_by(|a, b| b.id.cmp(&a.id));
        pages.dedup_by(|a, b| a.id == b.id);
        pages.truncate(limit);
        Ok(pages)
    }

    /// How many appeals match `query`'s terms and scope, counting up to `cap` (a view's count:
    /// the ids from the indexes, no record read).
    ///
    /// # Errors
    /// On storage failure.
    pub fn count_appeals(&self, query: &AppealQuery, cap: usize) -> Result<usize> {
        if query.any_of.is_empty() {
            return Ok(super::index::matching(&self.trees, &query.terms, None, None, cap)?.len());
        }
        let mut ids = std::collections::HashSet::new();
        for alternative in &query.any_of {
            let terms: Vec<(String, String)> = query.terms.iter().chain(alternative).cloned().collect();
            ids.extend(super::index::matching(&self.trees, &terms, None, None, cap)?);
            if ids.len() >= cap {
                return Ok(cap);
            }
        }
        Ok(ids.len())
    }

    /// Up to `limit` appeals with every one of `terms`, in the query's time range, newest
    /// first, before the id `before`.
    fn list_matching(
        &self,
        query: &AppealQuery,
        terms: &[(String, String)],
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Appeal>> {
        // Ids carry the time they were made, a moment after the request was received: the id
        // range is the received range widened by a minute, then checked on the records.
        let top = query.to.map(|to| id_at(to.saturating_add(ID_SLACK_MS)));
        let floor = query.from.map(id_at);
        let mut cursor = match (before.map(|b| b.as_bytes().to_vec()), top) {
            (Some(b), Some(t)) => Some(b.min(t)),
            (b, t) => b.or(t),
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let ids = super::index::matching(&self.trees, terms, cursor.as_deref(), floor.as_deref(), limit)?;
            let Some(last) = ids.last().cloned() else { break };
            for id in &ids {
                let Some(bytes) = self.tree(TreeId::Appeals).get(id)? else { continue };
                let appeal = super::record::read(&self.trees, &bytes)?;
                if query.received(&appeal) && out.len() < limit {
                    out.push(appeal);
                }
            }
            if ids.len() < limit {
                break;
            }
            cursor = Some(last);
        }
        Ok(out)
    }

    /// Calls `visit` with the head (the appeal without its history) of every appeal received
    /// in `[from, to)` (ms since the epoch), reading only that range of ids.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn appeals_received(&self, from: u64, to: u64, mut visit: impl FnMut(Head)) -> Result<()> {
        let range = id_at(from)..id_at(to.saturating_add(ID_SLACK_MS));
        for entry in self.tree(TreeId::Appeals).range(range) {
            let (_, bytes) = entry?;
            let head = super::record::decode_head(&bytes)?;
            if (from..to).contains(&head.appeal.received_at) {
                visit(head);
            }
        }
        Ok(())
    }

    /// Calls `visit` with the per-day figures of `dimension` for each value on each UTC day
    /// in `days`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn day_figures(
        &self,
        dimension: &str,
        days: std::ops::Range<u32>,
        mut visit: impl FnMut(String, super::figures::Figures),
    ) -> Result<()> {
        use super::figures::{day_prefix, read};
        let range = day_prefix(dimension, days.start)..day_prefix(dimension, days.end);
        for entry in self.tree(TreeId::DayFigures).range(range) {
            let (key, bytes) = entry?;
            let value = String::from_utf8_lossy(&key[dimension.len() + 5..]).into_owned();
            visit(value, read(Some(&bytes)));
        }
        Ok(())
    }

    /// Up to `limit` appeals marked for the search index since it last caught up: (id, mark).
    ///
    /// # Errors
    /// On storage failure.
    pub fn search_pending(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        self.tree(TreeId::SearchPending)
            .iter()
            .take(limit)
            .map(|entry| {
                let (id, mark) = entry?;
                Ok((String::from_utf8_lossy(&id).into_owned(), mark.to_vec()))
            })
            .collect()
    }

    /// Clears an appeal's search mark, unless a later write marked it again.
    ///
    /// # Errors
    /// On storage failure.
    pub fn search_done(&self, id: &str, mark: &[u8]) -> Result<()> {
        self.tree(TreeId::SearchPending).remove_if(id, mark)?;
        Ok(())
    }

    /// Marks every stored appeal for the search index (a new or rebuilt index); how many.
    ///
    /// # Errors
    /// On storage failure.
    pub fn mark_all_for_search(&self) -> Result<u64> {
        let pending = self.tree(TreeId::SearchPending);
        let mut bulk = self.db.bulk();
        let mut marked = 0;
        for id in self.tree(TreeId::Appeals).iter().keys() {
            bulk.insert(pending, &id?, &[])?;
            marked += 1;
        }
        bulk.finish()?;
        Ok(marked)
    }

    /// Number of appeals stored (a maintained counter).
    pub fn appeal_count(&self) -> u64 {
        super::index::count(&self.trees)
    }

    /// Number of appeals stored with `status` (a maintained counter).
    pub fn status_count(&self, status: Status) -> u64 {
        super::index::count_term(&self.trees, "status", status.name())
    }

    /// The appeal that already has `channel`+`platform_id`, if any.
    ///
    /// # Errors
    /// On storage failure.
    pub fn seen(&self, channel: &str, platform_id: &str) -> Result<Option<String>> {
        Ok(self
            .tree(TreeId::Idempotency)
            .get(pair_key(channel, platform_id))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The id a new appeal for `channel`+`platform_id` gets: a fresh ULID on one machine; in a
    /// cluster the one claimed for that message in the idempotency bucket, so every node that
    /// processes the same message agrees on it.
    ///
    /// # Errors
    /// When the cluster's bucket cannot be reached.
    pub fn appeal_id_for(&self, channel: &str, platform_id: &str) -> Result<String> {
        let fresh = self.fresh_id();
        self.backend.claim_id(&pair_key(channel, platform_id), &fresh)
    }

    /// Stores a new appeal, its idempotency key (channel + platform id), its conversation (unless
    /// it is dropped) and its contact, atomically — unless another appeal claimed the key first.
    /// The contact is
    /// the one any of the appeal's identities (E.164 phone, e-mail, the channel's user id)
    /// already belongs to, else a new one; `appeal.contact_id` is set to it. While a CRM is active
    /// ([`Store::set_crm_active`]), a routed appeal enters the CRM outbox in the same transaction.
    ///
    /// # Errors
    /// On storage failure.
    pub fn insert_appeal(&self, appeal: &mut Appeal) -> Result<Claim> {
        let key = pair_key(&appeal.channel, &appeal.platform_id);
        let conversation = pair_key(&appeal.channel, &appeal.conversation_key);
        let identities = contact_identities(appeal);
        let fresh_contact = ulid::Ulid::new().to_string();
        let (claim, contact, number) = self.write(|tx| {
            if let Some(owner) = tx.get(TreeId::Idempotency, &key)? {
                return Ok((Claim::Seen(String::from_utf8_lossy(&owner).into_owned()), None, 0));
            }
            let mut known = None;
            for identity in &identities {
                if let Some(id) = tx.get(TreeId::Contacts, identity.as_bytes())? {
                    known = Some(String::from_utf8_lossy(&id).into_owned());
                    break;
                }
            }
            let contact = known.unwrap_or_else(|| fresh_contact.clone());
            for identity in &identities {
                if tx.get(TreeId::Contacts, identity.as_bytes())?.is_none() {
                    tx.insert(TreeId::Contacts, identity.as_bytes(), contact.as_bytes());
                }
            }
            let stored = numbered(tx, Appeal { contact_id: Some(contact.clone()), ..appeal.clone() })?;
            super::record::save(tx, &stored, super::record::Stored::default())?;
            super::media::queue(tx, &appeal.id, 0, appeal.attachments.len(), &appeal.raw_request_id);
            tx.insert(TreeId::Idempotency, key.as_slice(), appeal.id.as_bytes());
            // A dropped appeal (contest noise, a dropped follow-up) is never a conversation's head.
            if stored.status != Status::Dropped {
                tx.insert(TreeId::Conversations, conversation.as_slice(), appeal.id.as_bytes());
            }
            tx.insert(TreeId::ContactAppeals, pair_key(&contact, &appeal.id), []);
            if stored.is_waiting() {
                tx.insert(TreeId::Waiting, appeal.id.as_bytes(), []);
            }
            Ok((Claim::New, Some(contact), stored.number))
        })?;
        if number > 0 {
            appeal.number = number;
        }
        if contact.is_some() {
            appeal.contact_id = contact;
        }
        Ok(claim)
    }

    /// Ids of a contact's appeals, newest first, at most `limit`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn contact_appeals(&self, contact_id: &str, limit: usize) -> Result<Vec<String>> {
        let prefix = pair_key(contact_id, "");
        self.tree(TreeId::ContactAppeals)
            .scan_prefix(&prefix)
            .keys()
            .rev()
            .take(limit)
            .map(|k| Ok(String::from_utf8_lossy(&k?[prefix.len()..]).into_owned()))
            .collect()
    }

    /// Changes a stored appeal atomically (read, `change`, write), and with `claim`, also
    /// claims that (channel, platform id) for it — unless another appeal has it — and queues
    /// the files of the attachments `change` added, from that message's raw request (the
    /// claim's third part). `None` when there is no such appeal.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn update_appeal(
        &self,
        id: &str,
        claim: Option<(&str, &str, &str)>,
        change: impl Fn(&mut Appeal),
    ) -> Result<Option<Claim>> {
        let key = claim.map(|(channel, platform_id, _)| pair_key(channel, platform_id));
        self.write(|tx| {
            if let Some(key) = &key
                && let Some(owner) = tx.get(TreeId::Idempotency, key)?
            {
                return Ok(Some(Claim::Seen(String::from_utf8_lossy(&owner).into_owned())));
            }
            let had = std::cell::Cell::new(0);
            let Some(appeal) = change_in(tx, id, &|a: &mut Appeal| {
                had.set(a.attachments.len());
                change(a);
            })?
            else {
                return Ok(None);
            };
            if let Some((_, _, raw_request)) = claim {
                super::media::queue(tx, id, had.get(), appeal.attachments.len(), raw_request);
            }
            if let Some(key) = &key {
                tx.insert(TreeId::Idempotency, key.as_slice(), id.as_bytes());
            }
            Ok(Some(Claim::New))
        })
    }

    // --- replies ------------------------------------------------------------------------

    /// Changes an appeal in one transaction that keeps every index derived from it in step:
    /// the reply outbox (a queued reply is in it, any other is not), replies by platform
    /// message id ([`Store::reply_by_message`]), the appeals waiting for an employee
    /// ([`Store::waiting`]) and the open appeals each employee holds ([`Store::holdings`]). The
    /// changed appeal, or `None` when there is no such appeal.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn change_appeal(&self, appeal_id: &str, change: impl Fn(&mut Appeal)) -> Result<Option<Appeal>> {
        self.write(|tx| change_in(tx, appeal_id, &change))
    }

    /// As [`Store::change_appeal`] for a change that adds a reply written in the CRM, once per
    /// `origin` (the CRM's id of the message, which it may send again): `None` when a reply of
    /// that origin was added to this appeal before (nothing is written). The origin is kept
    /// for the reply ([`Store::reply_origin`]).
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn add_crm_reply(
        &self,
        appeal_id: &str,
        origin: &str,
        change: impl Fn(&mut Appeal),
    ) -> Result<Option<Option<Appeal>>> {
        let seen_key = [pair_key(CRM_ORIGIN, appeal_id), vec![0], origin.as_bytes().to_vec()].concat();
        self.write(|tx| {
            if tx.get(TreeId::ReplyMessages, &seen_key)?.is_some() {
                return Ok(None);
            }
            let changed = change_in(tx, appeal_id, &change)?;
            if let Some(reply) = changed.as_ref().and_then(|a| a.replies.last()) {
                tx.insert(TreeId::ReplyMessages, seen_key.clone(), reply.id.as_bytes());
                tx.insert(TreeId::ReplyMessages, pair_key(CRM_REPLY, &reply.id), origin.as_bytes());
            }
            Ok(Some(changed))
        })
    }

    /// The origin in the CRM of reply `reply_id`, when it was written there.
    ///
    /// # Errors
    /// On storage failure.
    pub fn reply_origin(&self, reply_id: &str) -> Result<Option<String>> {
        let value = self.tree(TreeId::ReplyMessages).get(pair_key(CRM_REPLY, reply_id))?;
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Appeals waiting for an employee, oldest first.
    ///
    /// # Errors
    /// On storage failure.
    pub fn waiting(&self) -> Result<Vec<String>> {
        keys_of(self.tree(TreeId::Waiting))
    }

    /// (employee id, appeal id) of every open appeal an employee holds.
    ///
    /// # Errors
    /// On storage failure.
    pub fn holdings(&self) -> Result<Vec<(String, String)>> {
        self.tree(TreeId::Holding)
            .iter()
            .keys()
            .map(|k| {
                let key = String::from_utf8_lossy(&k?).into_owned();
                let (employee, appeal) = key.split_once('\0').unwrap_or((&key, ""));
                Ok((employee.to_string(), appeal.to_string()))
            })
            .collect()
    }
}

/// Key prefixes in the replies-by-message tree for replies written in the CRM: seen origins
/// per appeal, and each such reply's origin.
const CRM_ORIGIN: &str = "\u{1}crm-origin";
const CRM_REPLY: &str = "\u{1}crm-reply";

/// Inside a transaction: the one way a stored appeal changes. Reads it, applies `change`,
/// writes it back (its record, its new events and their marks for notices and the CRM), and
/// keeps every tree derived from it in step: the reply outbox (a queued reply is in it, any
/// other is not), replies by platform message id, the appeals waiting for an employee and the
/// open appeals each employee holds. (The indexes, counters and per-day figures follow the
/// record in the batch itself: `tx`.) The appeal as changed, `None` when there is none.
///
/// # Errors
/// On storage failure or a corrupt record.
pub(super) fn change_in(
    tx: &mut Tx,
    appeal_id: &str,
    change: &impl Fn(&mut Appeal),
) -> Result<Option<Appeal>> {
    let Some((before, stored)) = super::record::load(tx, appeal_id)? else {
        return Ok(None);
    };
    let mut appeal = before.clone();
    change(&mut appeal);
    super::record::save(tx, &appeal, stored)?;
    for reply in &appeal.replies {
        let queued = before.replies.iter().any(|r| r.id == reply.id && r.is_queued());
        match (reply.is_queued(), queued) {
            (true, false) => tx.insert(TreeId::ReplyOutbox, reply.id.as_bytes(), appeal_id.as_bytes()),
            (false, true) => tx.remove(TreeId::ReplyOutbox, reply.id.as_bytes()),
            _ => {}
        }
        let known = before
            .replies
            .iter()
            .any(|r| r.id == reply.id && r.platform_message_id == reply.platform_message_id);
        if let Some(message) = &reply.platform_message_id
            && !known
        {
            tx.insert(
                TreeId::ReplyMessages,
                pair_key(&appeal.channel, message),
                pair_key(appeal_id, &reply.id),
            );
        }
    }
    if appeal.is_waiting() != before.is_waiting() {
        match appeal.is_waiting() {
            true => tx.insert(TreeId::Waiting, appeal_id.as_bytes(), []),
            false => tx.remove(TreeId::Waiting, appeal_id.as_bytes()),
        }
    }
    if before.holder() != appeal.holder() {
        if let Some(old) = before.holder() {
            tx.remove(TreeId::Holding, pair_key(old, appeal_id));
        }
        if let Some(new) = appeal.holder() {
            tx.insert(TreeId::Holding, pair_key(new, appeal_id), []);
        }
    }
    Ok(Some(appeal))
}

/// What a list of appeals asks for: every `(field, value)` term must hold (fields of
/// [`super::index::FIELDS`]), and the appeal was received in `[from, to)`.
#[derive(Debug, Default, Clone)]
pub struct AppealQuery {
    /// (field, value) pairs, all required.
    pub terms: Vec<(String, String)>,
    /// Alternatives, one of which must hold whole (a caller's scope: see
    /// the host's `access::Scope::any_of`); empty for none.
    pub any_of: Vec<Vec<(String, String)>>,
    /// Received at or after (ms since the epoch).
    pub from: Option<u64>,
    /// Received before (ms since the epoch).
    pub to: Option<u64>,
}

impl AppealQuery {
    /// Whether `appeal` was received in the query's time range.
    pub fn received(&self, appeal: &Appeal) -> bool {
        (self.from.unwrap_or(0)..self.to.unwrap_or(u64::MAX)).contains(&appeal.received_at)
    }

    /// Whether `appeal` satisfies every term and the time range (for appeals found some other
    /// way than through the indexes, such as by search).
    pub fn admits(&self, appeal: &Appeal) -> bool {
        let terms = super::index::terms(appeal);
        let has = |(f, v): &(String, String)| terms.iter().any(|(tf, tv)| tf == f && tv == v);
        self.received(appeal)
            && self.terms.iter().all(has)
            && (self.any_of.is_empty() || self.any_of.iter().any(|all| all.iter().all(has)))
    }
}

/// How long after its request was received an appeal's id may have been made.
const ID_SLACK_MS: u64 = 60_000;

/// The smallest id made at `ms`.
pub(super) fn id_at(ms: u64) -> Vec<u8> {
    ulid::Ulid::from_parts(ms.min((1 << 48) - 1), 0).to_string().into_bytes()
}

/// The keys a contact is recognised by across channels.
pub(super) fn contact_identities(appeal: &Appeal) -> Vec<String> {
    let contact = &appeal.contact;
    let mut identities = Vec::new();
    if let Some(phone) = contact.phone.as_deref().filter(|p| p.starts_with('+')) {
        identities.push(format!("phone:{phone}"));
    }
    if let Some(email) = contact.email.as_deref().filter(|e| e.contains('@')) {
        identities.push(format!("email:{email}"));
    }
    if let Some(user) = &contact.platform_user_id {
        identities.push(format!("{}:{user}", appeal.channel));
    }
    identities
}

/// Where the last short number given is kept: beside the idempotency keys it is claimed
/// with, in the same replicated record tree (so a cluster's creations conflict on it and a
/// backup carries it on). No `channel \0 platform id` key starts with a zero byte.
const LAST_NUMBER: &[u8] = b"\0appeal-number";

/// Inside the transaction that creates `appeal`: gives it the next short number. The
/// transaction read the last one, so two creations at once (on two nodes of a cluster too)
/// conflict and one runs again: numbers are unique and without gaps.
fn numbered(tx: &mut Tx, mut appeal: Appeal) -> Result<Appeal> {
    let last = tx.get(TreeId::Idempotency, LAST_NUMBER)?.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok());
    appeal.number = last.map_or(0, u64::from_be_bytes) + 1;
    tx.insert(TreeId::Idempotency, LAST_NUMBER, appeal.number.to_be_bytes());
    Ok(appeal)
}
