//! Appeals and the indexes kept in step with them: idempotency and conversation keys,
//! contacts and their appeals, replies by platform message id, the appeals waiting for an
//! employee and the open appeals each employee holds.

use super::tx::{TreeId, Tx};
use super::{Claim, Store, get_json, keys_of, pair_key};
use crate::appeal::{Appeal, Status};
use anyhow::{Context, Result};

impl Store {
    // --- appeals ------------------------------------------------------------------------

    /// Writes an appeal (insert or replace).
    ///
    /// # Errors
    /// On storage failure.
    pub fn put_appeal(&self, appeal: &Appeal) -> Result<()> {
        self.write_blind(vec![(
            TreeId::Appeals,
            appeal.id.as_bytes().to_vec(),
            Some(serde_json::to_vec(appeal)?),
        )])
    }

    /// An appeal by id.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn appeal(&self, id: &str) -> Result<Option<Appeal>> {
        get_json(self.tree(TreeId::Appeals), id.as_bytes())
    }

    /// Appeals newest first, optionally filtered, starting after `cursor` (an appeal id).
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn list_appeals(
        &self,
        status: Option<Status>,
        channel: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Appeal>> {
        let appeals = self.tree(TreeId::Appeals);
        let range = match before {
            Some(cursor) => appeals.range(..cursor.as_bytes().to_vec()),
            None => appeals.range::<Vec<u8>, _>(..),
        };
        let mut out = Vec::new();
        for entry in range.rev() {
            let (_, bytes) = entry?;
            let appeal: Appeal = serde_json::from_slice(&bytes)?;
            if status.is_some_and(|s| s != appeal.status) || channel.is_some_and(|c| c != appeal.channel) {
                continue;
            }
            out.push(appeal);
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Calls `visit` with every appeal received in `[from, to)` (ms since the epoch).
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn appeals_received(&self, from: u64, to: u64, mut visit: impl FnMut(Appeal)) -> Result<()> {
        for entry in self.tree(TreeId::Appeals).iter() {
            let (_, bytes) = entry?;
            let appeal: Appeal = serde_json::from_slice(&bytes)?;
            if (from..to).contains(&appeal.received_at) {
                visit(appeal);
            }
        }
        Ok(())
    }

    /// Number of appeals stored.
    pub fn appeal_count(&self) -> usize {
        self.tree(TreeId::Appeals).len()
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
        let fresh = ulid::Ulid::new().to_string();
        self.backend.claim_id(&pair_key(channel, platform_id), &fresh)
    }

    /// Stores a new appeal, its idempotency key (channel + platform id), its conversation and
    /// its contact, atomically — unless another appeal claimed the key first. The contact is
    /// the one any of the appeal's identities (E.164 phone, e-mail, the channel's user id)
    /// already belongs to, else a new one; `appeal.contact_id` is set to it. With `to_crm`, the
    /// appeal enters the CRM outbox in the same transaction.
    ///
    /// # Errors
    /// On storage failure.
    pub fn insert_appeal(&self, appeal: &mut Appeal, to_crm: bool) -> Result<Claim> {
        let key = pair_key(&appeal.channel, &appeal.platform_id);
        let conversation = pair_key(&appeal.channel, &appeal.conversation_key);
        let identities = contact_identities(appeal);
        let fresh_contact = ulid::Ulid::new().to_string();
        let (claim, contact) = self.write(|tx| {
            if let Some(owner) = tx.get(TreeId::Idempotency, &key)? {
                return Ok((Claim::Seen(String::from_utf8_lossy(&owner).into_owned()), None));
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
            let stored = Appeal { contact_id: Some(contact.clone()), ..appeal.clone() };
            tx.insert(TreeId::Appeals, appeal.id.as_bytes(), serde_json::to_vec(&stored)?);
            tx.insert(TreeId::Idempotency, key.as_slice(), appeal.id.as_bytes());
            tx.insert(TreeId::Conversations, conversation.as_slice(), appeal.id.as_bytes());
            tx.insert(TreeId::ContactAppeals, pair_key(&contact, &appeal.id), []);
            if to_crm {
                tx.insert(TreeId::CrmOutbox, appeal.id.as_bytes(), []);
            }
            if stored.is_waiting() {
                tx.insert(TreeId::Waiting, appeal.id.as_bytes(), []);
            }
            Ok((Claim::New, Some(contact)))
        })?;
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
    /// claims that (channel, platform id) for it — unless another appeal has it. `None` when
    /// there is no such appeal.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn update_appeal(
        &self,
        id: &str,
        claim: Option<(&str, &str)>,
        change: impl Fn(&mut Appeal),
    ) -> Result<Option<Claim>> {
        let key = claim.map(|(channel, platform_id)| pair_key(channel, platform_id));
        self.write(|tx| {
            if let Some(key) = &key
                && let Some(owner) = tx.get(TreeId::Idempotency, key)?
            {
                return Ok(Some(Claim::Seen(String::from_utf8_lossy(&owner).into_owned())));
            }
            if change_in(tx, id, &change)?.is_none() {
                return Ok(None);
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
        self.write(|tx| {
            let Some(bytes) = tx.get(TreeId::Appeals, appeal_id.as_bytes())? else {
                return Ok(None);
            };
            let before: Appeal = serde_json::from_slice(&bytes).context("corrupt appeal record")?;
            let mut appeal = before.clone();
            change(&mut appeal);
            tx.insert(TreeId::Appeals, appeal_id.as_bytes(), serde_json::to_vec(&appeal)?);
            for reply in &appeal.replies {
                let queued = before.replies.iter().any(|r| r.id == reply.id && r.is_queued());
                match (reply.is_queued(), queued) {
                    (true, false) => {
                        tx.insert(TreeId::ReplyOutbox, reply.id.as_bytes(), appeal_id.as_bytes())
                    }
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
        })
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

/// The keys a contact is recognised by across channels.
fn contact_identities(appeal: &Appeal) -> Vec<String> {
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

/// Reads, changes and writes back one appeal inside a transaction; `None` when it is absent.
pub(super) fn change_in(tx: &mut Tx, id: &str, change: &impl Fn(&mut Appeal)) -> Result<Option<Appeal>> {
    let Some(bytes) = tx.get(TreeId::Appeals, id.as_bytes())? else {
        return Ok(None);
    };
    let mut appeal: Appeal = serde_json::from_slice(&bytes).context("corrupt appeal record")?;
    change(&mut appeal);
    tx.insert(TreeId::Appeals, id.as_bytes(), serde_json::to_vec(&appeal)?);
    Ok(Some(appeal))
}
