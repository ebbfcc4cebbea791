//! Bitrix24 CRM connector.
//!
//! **Delivery** ([`deliver`]): each routed appeal becomes a deal (or a lead) through the inbound
//! webhook REST URL: funnel (`CATEGORY_ID`), stage, responsible (`ASSIGNED_BY_ID` from the
//! directory's CRM user id), `SOURCE_ID` per channel, the text in `COMMENTS`, configured
//! `UF_CRM_*` fields, and for a deal a contact with `PHONE`/`EMAIL` multi-fields (found by
//! `crm.duplicate.findbycomm` or created); attachments go into a timeline comment. The appeal id
//! is the record's `ORIGIN_ID` (with `ORIGINATOR_ID` = `clienthub`) and is looked up first, so a
//! repeated delivery never makes a second record. The conversation and each later message of
//! the customer are added as timeline comments ([`deliver::note`]). `QUERY_LIMIT_EXCEEDED` (503) and outages
//! are `retry`; other errors `failed`.
//!
//! **Events** ([`events`]): Bitrix24's outgoing webhooks / event handlers post
//! `application/x-www-form-urlencoded` events with `auth[application_token]`, checked in
//! constant time. `ONCRMTIMELINECOMMENTADD` of a comment starting with the reply prefix
//! (`/reply Ваш заказ готов`) becomes a reply through the appeal's own channel;
//! `ONCRMDEALUPDATE`/`ONCRMLEADUPDATE` to a stage listed in `stage_statuses` changes the
//! appeal's status.

use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Channel, CrmAssignee, CrmError, CrmOutput, CrmRecord, HttpRequest,
    HttpResponse,
};
use serde::Deserialize;
use std::collections::HashMap;

mod deliver;
mod events;
mod rest;

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
}

impl Config {
    fn entity(&self) -> &str {
        self.entity.as_deref().unwrap_or("deal")
    }
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

    fn add_note(record: CrmRecord, _: Appeal, text: String) -> Result<(), CrmError> {
        let config: Config = clienthub_sdk::config::get().map_err(CrmError::Failed)?;
        deliver::note(&config, &record, &text)
    }

    fn handle_event(request: HttpRequest) -> Result<CrmOutput, AdapterError> {
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
