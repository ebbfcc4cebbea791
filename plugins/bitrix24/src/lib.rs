//! Bitrix24 CRM connector.
//!
//! **Delivery** ([`deliver`]): each routed appeal becomes a deal (or a lead) through the inbound
//! webhook REST URL: the funnel of its topic or department (`funnels`, else `category_id`),
//! the stage of its state (`state_stages`, else `stage_id`), the assignee as responsible
//! (`ASSIGNED_BY_ID` from the directory's CRM user id), `SOURCE_ID` per channel, the text in
//! `COMMENTS`, configured `UF_CRM_*` fields, and for a deal a contact: found by phone or
//! e-mail, or by the messenger identity, else created with `PHONE`/`EMAIL` or an `IM`
//! multi-field. The appeal id is the record's `ORIGIN_ID` (with `ORIGINATOR_ID` = `clienthub`),
//! looked up first when the host tried the appeal before, so a repeated delivery never makes a
//! second record.
//!
//! **Updates** ([`sync`], WIT `crm-sync`): the owner after a take, hand-off or escalation, the
//! stage of the new state, and timeline comments (replies with their author, pauses with the
//! reason, resolutions, SLA breaches, failed replies, notes, the customer's later messages,
//! files). `QUERY_LIMIT_EXCEEDED` (503) and outages are `retry`; other errors `failed`.
//!
//! **Open Lines** ([`openlines`]): the customer's messages go into a Bitrix24 Open Line, the
//! operators' answers there leave through the appeal's own channel and are confirmed.
//!
//! **Events** ([`events`]): Bitrix24's outgoing webhooks / event handlers post
//! `application/x-www-form-urlencoded` events with `auth[application_token]`, checked in
//! constant time. `ONCRMTIMELINECOMMENTADD` of a comment starting with the reply prefix
//! (`/reply Ваш заказ готов`) becomes a reply through the appeal's own channel;
//! `ONCRMDEALUPDATE`/`ONCRMLEADUPDATE` to a stage listed in `stage_statuses` changes the
//! appeal's status.

use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Channel, CrmAssignee, CrmError, CrmEventOutput, CrmOutput,
    CrmRecord, CrmUpdate, HttpRequest, HttpResponse, ReplyCommand,
};
use serde::Deserialize;
use std::collections::HashMap;

mod deliver;
mod events;
mod openlines;
mod rest;
mod sync;

/// The Bitrix24 connector.
pub struct Bitrix24;

/// Admin configuration.
#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    category_id: Option<u32>,
    #[serde(default)]
    stage_id: Option<String>,
    #[serde(default)]
    source_ids: HashMap<String, String>,
    #[serde(default)]
    fields: HashMap<String, String>,
    #[serde(default)]
    application_token: Option<String>,
    #[serde(default)]
    reply_prefix: Option<String>,
    #[serde(default)]
    stage_statuses: HashMap<String, String>,
    /// Topic or department id → the funnel its appeals' deals go to.
    #[serde(default)]
    funnels: HashMap<String, Funnel>,
    /// Funnel (`CATEGORY_ID`, `lead` for leads, `*` for any) → ClientHub state → stage.
    #[serde(default)]
    state_stages: HashMap<String, HashMap<String, String>>,
    /// Bitrix24 Open Lines: the line, the local application's OAuth credentials.
    #[serde(default)]
    open_lines: Option<openlines::OpenLines>,
}

/// A deal funnel and its first stage.
#[derive(Debug, Default, Deserialize)]
struct Funnel {
    category_id: u32,
    #[serde(default)]
    stage_id: Option<String>,
}

impl Config {
    fn entity(&self) -> &str {
        self.entity.as_deref().unwrap_or("deal")
    }

    /// The funnel and first stage of an appeal's deal: by its topic, else its department, else
    /// the connector's default.
    fn funnel(&self, appeal: &Appeal) -> (u32, Option<String>) {
        ["route_topic", "route_department"]
            .iter()
            .filter_map(|key| appeal.meta(key))
            .find_map(|value| self.funnels.get(value))
            .map_or_else(
                || (self.category_id.unwrap_or(0), self.stage_id.clone()),
                |f| (f.category_id, f.stage_id.clone()),
            )
    }

    /// The stage of `state` in `funnel`.
    fn stage_for(&self, funnel: &str, state: &str) -> Option<String> {
        [funnel, "*"].iter().find_map(|f| self.state_stages.get(*f)?.get(state).cloned())
    }
}

/// The inbound webhook URL.
fn webhook(config: &Config) -> Result<&str, CrmError> {
    config.webhook_url.as_deref().ok_or_else(|| CrmError::Failed("webhook_url is not configured".into()))
}

/// `ORIGINATOR_ID` of every record ClientHub creates.
const ORIGINATOR: &str = "clienthub";

impl Channel for Bitrix24 {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        // The host sends this connector's webhooks to `handle_event`; a plain call gets the
        // same verification and no events.
        let output = Self::handle_event(request)?;
        Ok(AdapterOutput { response: output.response, events: Vec::new() })
    }

    fn crm_name() -> Option<String> {
        let config: Config = clienthub_sdk::config::get().ok()?;
        config.webhook_url.map(|_| "bitrix24".to_string())
    }

    fn deliver(appeal: Appeal, assignee: Option<CrmAssignee>) -> Result<CrmRecord, CrmError> {
        let config: Config = clienthub_sdk::config::get().map_err(CrmError::Failed)?;
        deliver::deliver(&config, &appeal, assignee.as_ref())
    }

    fn add_note(record: CrmRecord, appeal: Appeal, text: String) -> Result<(), CrmError> {
        let update = CrmUpdate {
            event_id: format!("{}:note", appeal.id),
            retried: false,
            stage: "note".into(),
            owner: None,
            state: None,
            comment: Some(text),
            customer_message: None,
            files: Vec::new(),
            reply_origin: None,
        };
        Self::apply_update(record, appeal, update)
    }

    fn apply_update(record: CrmRecord, appeal: Appeal, update: CrmUpdate) -> Result<(), CrmError> {
        let config: Config = clienthub_sdk::config::get().map_err(CrmError::Failed)?;
        sync::apply(&config, &record, &appeal, &update)
    }

    fn handle_event(request: HttpRequest) -> Result<CrmOutput, AdapterError> {
        let output = Self::read_event(request)?;
        let replies = output
            .replies
            .into_iter()
            .map(|r| ReplyCommand { appeal_id: r.appeal_id, text: r.text, author: r.author })
            .collect();
        Ok(CrmOutput { response: output.response, replies, status_changes: output.status_changes })
    }

    fn read_event(request: HttpRequest) -> Result<CrmEventOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        events::handle(&config, &request)
    }
}

clienthub_sdk::export_channel!(Bitrix24);

/// An empty `200 OK` for Bitrix24.
fn ok() -> HttpResponse {
    HttpResponse::text("ok")
}

#[cfg(test)]
mod tests;
