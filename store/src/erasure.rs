//! Erasure of a person's data on request (152-ФЗ art. 21, GDPR art. 17): every appeal of a
//! contact is anonymised in place (name, phone, e-mail, platform ids, texts, attachments and
//! their file names, metadata, history details, replies), its raw requests are deleted, its conversation,
//! idempotency and contact keys and its queued CRM notes and replies are removed; the search
//! index follows the rewritten records (an appeal write marks it). What stays: the appeals'
//! ids, channels, times, statuses and routing, so reports and SLA figures still add up; and a
//! record that an erasure happened (when, by whom, how many appeals), never what was erased.

use super::tx::{TreeId, Tx};
use super::{Store, pair_key, record};
use crate::appeal::{Appeal, Contact, ReplyState};
use crate::event::{Actor, Event};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// What an erasure removed, and the record kept of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Erasure {
    /// When (ms since the epoch).
    pub at: u64,
    /// Who asked for it (the token's holder).
    pub by: String,
    /// Appeals anonymised.
    pub appeals: usize,
    /// Raw requests deleted.
    pub raw_requests: usize,
    /// Queued CRM notes removed.
    pub crm_notes: usize,
    /// Attachments' files forgotten.
    #[serde(default)]
    pub files: usize,
    /// The files no appeal holds any more, for the caller to delete from the attachment store.
    #[serde(skip)]
    pub orphan_files: Vec<String>,
}

/// How long around an appeal its follow-ups' raw requests may have arrived.
const SLACK_MS: u64 = 60_000;
const ERASURE_PREFIX: &str = "erasure/";

impl Store {
    /// The contact a person is known as: a contact id, a phone as anyone types it, an e-mail,
    /// or `channel:user id`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn find_contact(&self, who: &str) -> Result<Option<String>> {
        let who = who.trim();
        if who.is_empty() {
            return Ok(None);
        }
        if self.tree(TreeId::ContactAppeals).scan_prefix(pair_key(who, "")).next().is_some() {
            return Ok(Some(who.to_string()));
        }
        let mut identities = vec![who.to_string(), format!("email:{}", who.to_lowercase())];
        identities.extend(crate::normalize::phone_e164(who).map(|p| format!("phone:{p}")));
        for identity in identities {
            if let Some(contact) = self.tree(TreeId::Contacts).get(identity.as_bytes())? {
                return Ok(Some(String::from_utf8_lossy(&contact).into_owned()));
            }
        }
        Ok(None)
    }

    /// Erases contact `contact`'s personal data everywhere the host keeps it; `by` is
    /// recorded with the counts.
    ///
    /// # Errors
    /// On storage failure (what was erased before stays erased; running it again finishes).
    pub fn erase_contact(&self, contact: &str, by: &Actor) -> Result<Erasure> {
        let now = self.now_ms();
        let prefix = pair_key(contact, "");
        let ids: Vec<String> = self
            .tree(TreeId::ContactAppeals)
            .scan_prefix(&prefix)
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?[prefix.len()..]).into_owned()))
            .collect::<Result<_>>()?;
        let mut erasure = Erasure {
            at: now,
            by: by.key().to_string(),
            appeals: 0,
            raw_requests: 0,
            crm_notes: 0,
            files: 0,
            orphan_files: Vec::new(),
        };
        for id in &ids {
            let before = self.write(|tx| anonymise_in(tx, contact, id, now, by))?;
            let Some(before) = before else { continue };
            erasure.appeals += 1;
            erasure.raw_requests += self.erase_raw(&before)?;
            erasure.crm_notes += self.erase_notes(id)?;
            erasure.files += before.attachments.len();
            erasure.orphan_files.extend(self.erase_files(id, "erased on request")?);
            let identities = super::appeals::contact_identities(&before);
            self.write(|tx| {
                for identity in &identities {
                    if tx.get(TreeId::Contacts, identity.as_bytes())?.as_deref() == Some(contact.as_bytes()) {
                        tx.remove(TreeId::Contacts, identity.as_bytes());
                    }
                }
                Ok(())
            })?;
        }
        let key = format!("{ERASURE_PREFIX}{}", self.fresh_id());
        self.write_blind(vec![(TreeId::Settings, key.into_bytes(), Some(serde_json::to_vec(&erasure)?))])?;
        Ok(erasure)
    }

    /// Every erasure recorded, oldest first.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn erasures(&self) -> Result<Vec<Erasure>> {
        self.tree(TreeId::Settings)
            .scan_prefix(ERASURE_PREFIX)
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Deletes the raw requests an appeal came from (its first message and the follow-ups,
    /// duplicates and triage that name it); how many.
    fn erase_raw(&self, appeal: &Appeal) -> Result<usize> {
        let last = appeal.history.iter().map(|e| e.at).max().unwrap_or(appeal.received_at);
        let range = super::appeals::id_at(appeal.received_at.saturating_sub(SLACK_MS))
            ..super::appeals::id_at(last.saturating_add(SLACK_MS));
        let mut writes = Vec::new();
        for entry in self.tree(TreeId::RawOutcomes).range(range) {
            let (raw_id, outcome) = entry?;
            if raw_id.as_ref() == appeal.raw_request_id.as_bytes()
                || String::from_utf8_lossy(&outcome).contains(appeal.id.as_str())
            {
                writes.push((TreeId::Raw, raw_id.to_vec(), None));
                writes.push((TreeId::RawOutcomes, raw_id.to_vec(), Some(b"erased".to_vec())));
            }
        }
        let erased = writes.len() / 2;
        self.write_blind(writes)?;
        Ok(erased)
    }

    /// Removes the CRM updates (and notes) queued for an appeal; how many.
    fn erase_notes(&self, appeal_id: &str) -> Result<usize> {
        let prefix = pair_key(appeal_id, "");
        let mut writes = Vec::new();
        // Updates are keyed by the appeal; notes of earlier versions name it in their value.
        for entry in self.tree(TreeId::CrmNotes).iter() {
            let (key, value) = entry?;
            if key.starts_with(&prefix) || value.starts_with(&prefix) {
                writes.push((TreeId::CrmNotes, key.to_vec(), None));
            }
        }
        let removed = writes.len();
        // And what says whether they (or the appeal's delivery) were handed over before.
        for key in self.tree(TreeId::CrmTried).scan_prefix(&prefix).keys() {
            writes.push((TreeId::CrmTried, key?.to_vec(), None));
        }
        writes.push((TreeId::CrmTried, appeal_id.as_bytes().to_vec(), None));
        self.write_blind(writes)?;
        Ok(removed)
    }
}

/// In one transaction: anonymises appeal `id` of `contact` and removes the keys that lead to
/// the person; the appeal as it was, `None` when it is gone.
fn anonymise_in(tx: &mut Tx, contact: &str, id: &str, now: u64, by: &Actor) -> Result<Option<Appeal>> {
    tx.remove(TreeId::ContactAppeals, pair_key(contact, id));
    let Some((before, _)) = record::load(tx, id)? else { return Ok(None) };
    let conversation = pair_key(&before.channel, &before.conversation_key);
    if tx.get(TreeId::Conversations, &conversation)?.as_deref() == Some(id.as_bytes()) {
        tx.remove(TreeId::Conversations, conversation);
    }
    let idempotency = pair_key(&before.channel, &before.platform_id);
    if tx.get(TreeId::Idempotency, &idempotency)?.as_deref() == Some(id.as_bytes()) {
        tx.remove(TreeId::Idempotency, idempotency);
    }
    for reply in &before.replies {
        if reply.is_queued() {
            tx.remove(TreeId::ReplyOutbox, reply.id.as_bytes());
        }
        if let Some(message) = &reply.platform_message_id {
            tx.remove(TreeId::ReplyMessages, pair_key(&before.channel, message));
        }
    }
    let mut appeal = before.clone();
    anonymise(&mut appeal, now, by);
    // Every event again (their details are blanked), not only the new one.
    record::rewrite(tx, &appeal, 0);
    Ok(Some(before))
}

/// Blanks everything in an appeal that is the person's or may quote them.
fn anonymise(a: &mut Appeal, now: u64, by: &Actor) {
    let erased = format!("erased:{}", a.id);
    a.contact = Contact::default();
    a.contact_id = None;
    a.platform_id.clone_from(&erased);
    a.conversation_key = erased;
    a.subject = None;
    a.text = String::new();
    a.attachments.clear();
    a.metadata.clear();
    a.error = a.error.as_ref().map(|_| String::new());
    if let Some(decision) = &mut a.decision {
        decision.reason.clear();
    }
    for event in &mut a.history {
        event.event.erase_words();
    }
    for reply in &mut a.replies {
        reply.text.clear();
        reply.error = None;
        reply.platform_message_id = None;
        if reply.is_queued() {
            reply.state = ReplyState::Failed;
            reply.next_attempt_at = None;
            reply.error = Some("contact erased".into());
        }
    }
    a.record(now, None, Event::Erased { by: Some(by.clone()) });
}
