//! Outboxes: replies waiting to leave through their channel, appeals waiting for the CRM
//! (their later updates: [`super::crm_updates`]). On one machine every item is this node's; in a cluster each node works on the items it
//! claimed from the outbox stream.

use super::appeals::change_in;
use super::tx::TreeId;
use super::{Store, pair_key};
use crate::appeal::Appeal;
use anyhow::Result;

impl Store {
    /// The outbox: (reply id, appeal id) of every queued reply, oldest first.
    ///
    /// # Errors
    /// On storage failure.
    pub fn queued_replies(&self) -> Result<Vec<(String, String)>> {
        self.outbox(TreeId::ReplyOutbox)?
            .into_iter()
            .map(|(key, value)| {
                Ok((String::from_utf8_lossy(&key).into_owned(), String::from_utf8_lossy(&value).into_owned()))
            })
            .collect()
    }

    /// The items of an outbox this node should work on, oldest first: all of them on one
    /// machine; in a cluster, those it claimed from the outbox stream.
    pub(super) fn outbox(&self, tree: TreeId) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let items = self.tree(tree);
        Ok(self
            .backend
            .outbox_keys(&self.trees, tree)?
            .into_iter()
            .filter_map(|k| Some((k.clone(), items.get(&k).ok()??.to_vec())))
            .collect())
    }

    /// The (appeal id, reply id) of the reply the platform knows as `message` on `channel`.
    ///
    /// # Errors
    /// On storage failure.
    pub fn reply_by_message(&self, channel: &str, message: &str) -> Result<Option<(String, String)>> {
        Ok(self.tree(TreeId::ReplyMessages).get(pair_key(channel, message))?.and_then(|v| {
            let text = String::from_utf8_lossy(&v).into_owned();
            text.split_once('\0').map(|(a, r)| (a.to_string(), r.to_string()))
        }))
    }

    // --- CRM outbox ---------------------------------------------------------------------

    /// Appeals waiting for delivery to the CRM, oldest first.
    ///
    /// # Errors
    /// On storage failure.
    pub fn crm_queue(&self) -> Result<Vec<String>> {
        Ok(self
            .outbox(TreeId::CrmOutbox)?
            .into_iter()
            .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
            .collect())
    }

    /// How many appeals and notes wait for the CRM.
    pub fn crm_queue_len(&self) -> usize {
        self.tree(TreeId::CrmOutbox).count() + self.tree(TreeId::CrmNotes).count()
    }

    /// Records the CRM delivery of an appeal (`change` sets its link and history) and takes it
    /// out of the CRM outbox, in one transaction.
    ///
    /// # Errors
    /// On storage failure or a corrupt record.
    pub fn crm_delivered(&self, appeal_id: &str, change: impl Fn(&mut Appeal)) -> Result<()> {
        self.write(|tx| {
            change_in(tx, appeal_id, &change)?;
            tx.remove(TreeId::CrmOutbox, appeal_id.as_bytes());
            tx.remove(TreeId::CrmTried, appeal_id.as_bytes());
            Ok(())
        })
    }

    /// Marks a queued appeal as handed to the connector: a later attempt (after a crash
    /// during the call) must look the appeal up in the CRM before creating it.
    ///
    /// # Errors
    /// On storage failure.
    pub async fn crm_delivery_tried(&self, appeal_id: &str) -> Result<()> {
        self.write_blind(vec![(TreeId::CrmTried, appeal_id.as_bytes().to_vec(), Some(Vec::new()))])?;
        self.commit().await
    }

    /// Whether a queued appeal was handed to the connector before.
    ///
    /// # Errors
    /// On storage failure.
    pub fn crm_delivery_was_tried(&self, appeal_id: &str) -> Result<bool> {
        Ok(self.tree(TreeId::CrmTried).contains_key(appeal_id.as_bytes())?)
    }
}
