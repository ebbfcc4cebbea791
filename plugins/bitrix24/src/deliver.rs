//! One appeal into Bitrix24: look it up by `ORIGIN_ID`, else create the contact (deals) and
//! the deal or lead, then a timeline comment with the attachments.

use super::rest::{call, id};
use super::{Config, ORIGINATOR};
use clienthub_sdk::{Appeal, CrmAssignee, CrmError, CrmRecord};
use serde_json::{Map, Value, json};

/// Delivers `appeal`; idempotent.
pub fn deliver(
    config: &Config,
    appeal: &Appeal,
    assignee: Option<&CrmAssignee>,
) -> Result<CrmRecord, CrmError> {
    let webhook = config
        .webhook_url
        .as_deref()
        .ok_or_else(|| CrmError::Failed("webhook_url is not configured".into()))?;
    let entity = config.entity();
    let found = call(
        webhook,
        &format!("crm.{entity}.list"),
        &json!({ "filter": { "ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": appeal.id }, "select": ["ID"] }),
    )?;
    if let Some(existing) = found.as_array().and_then(|list| list.first()).and_then(|r| id(&r["ID"])) {
        return Ok(record(webhook, entity, existing));
    }
    let mut fields = common_fields(config, appeal, assignee);
    if entity == "lead" {
        fields.insert("NAME".into(), json!(appeal.contact.name.clone().unwrap_or_default()));
        fields.extend(communications(appeal));
        if let Some(stage) = &config.stage_id {
            fields.insert("STATUS_ID".into(), json!(stage));
        }
    } else {
        fields.insert("CATEGORY_ID".into(), json!(config.category_id.unwrap_or(0)));
        if let Some(stage) = &config.stage_id {
            fields.insert("STAGE_ID".into(), json!(stage));
        }
        if let Some(contact) = contact(webhook, appeal, &fields)? {
            fields.insert("CONTACT_ID".into(), json!(contact));
        }
    }
    let created = call(
        webhook,
        &format!("crm.{entity}.add"),
        &json!({ "fields": fields, "params": { "REGISTER_SONET_EVENT": "Y" } }),
    )?;
    let created = id(&created).ok_or_else(|| CrmError::Failed(format!("crm.{entity}.add answered no id")))?;
    if !appeal.attachments.is_empty() {
        let lines: Vec<String> = appeal
            .attachments
            .iter()
            .map(|a| {
                let name = a.file_name.as_deref().unwrap_or("");
                let size = a.size.map(|s| format!(", {s} bytes")).unwrap_or_default();
                format!("- {:?} {name}{size}: {}", a.kind, a.reference)
            })
            .collect();
        let comment = format!("Attachments of ClientHub appeal {}:\n{}", appeal.id, lines.join("\n"));
        // The record exists; a failed comment must not make the host create it again.
        if let Err(e) = call(
            webhook,
            "crm.timeline.comment.add",
            &json!({ "fields": { "ENTITY_ID": created, "ENTITY_TYPE": entity, "COMMENT": comment } }),
        ) {
            clienthub_sdk::log::warn(&format!("the attachments comment of {} failed: {e:?}", appeal.id));
        }
    }
    Ok(record(webhook, entity, created))
}

fn record(webhook: &str, entity: &str, id: String) -> CrmRecord {
    // https://company.bitrix24.ru/rest/1/abc/ → https://company.bitrix24.ru/crm/deal/details/7/
    let portal = webhook.split("/rest/").next().unwrap_or(webhook);
    CrmRecord { entity: entity.into(), url: Some(format!("{portal}/crm/{entity}/details/{id}/")), id }
}

/// The fields deals and leads share.
fn common_fields(config: &Config, appeal: &Appeal, assignee: Option<&CrmAssignee>) -> Map<String, Value> {
    let mut fields = Map::new();
    let first_line: String = appeal.text.lines().next().unwrap_or("").chars().take(80).collect();
    let title = appeal.subject.clone().filter(|s| !s.is_empty()).unwrap_or(first_line);
    fields.insert("TITLE".into(), json!(format!("{}: {title}", appeal.channel)));
    fields.insert("COMMENTS".into(), json!(appeal.text));
    fields.insert("ORIGINATOR_ID".into(), json!(ORIGINATOR));
    fields.insert("ORIGIN_ID".into(), json!(appeal.id));
    fields.insert(
        "SOURCE_DESCRIPTION".into(),
        json!(format!("ClientHub appeal {} via {}", appeal.id, appeal.channel)),
    );
    if let Some(source) = config.source_ids.get(&appeal.channel).or(config.source_ids.get("*")) {
        fields.insert("SOURCE_ID".into(), json!(source));
    }
    if let Some(user) = assignee.and_then(|a| a.crm_user_id.as_deref()) {
        fields.insert("ASSIGNED_BY_ID".into(), json!(user));
    }
    for (field, from) in &config.fields {
        let value = match from.as_str() {
            "channel" => Some(appeal.channel.clone()),
            "appeal_id" => Some(appeal.id.clone()),
            key => appeal.meta(key).map(str::to_string),
        };
        if let Some(value) = value {
            fields.insert(field.clone(), json!(value));
        }
    }
    fields
}

/// `PHONE` and `EMAIL` multi-fields.
fn communications(appeal: &Appeal) -> Map<String, Value> {
    let mut fields = Map::new();
    if let Some(phone) = &appeal.contact.phone {
        fields.insert("PHONE".into(), json!([{ "VALUE": phone, "VALUE_TYPE": "WORK" }]));
    }
    if let Some(email) = &appeal.contact.email {
        fields.insert("EMAIL".into(), json!([{ "VALUE": email, "VALUE_TYPE": "WORK" }]));
    }
    fields
}

/// The deal's contact: the one Bitrix24 knows by phone or e-mail, else a new one; none when
/// the appeal has neither.
fn contact(webhook: &str, appeal: &Appeal, deal: &Map<String, Value>) -> Result<Option<String>, CrmError> {
    let mut lookups = Vec::new();
    if let Some(phone) = &appeal.contact.phone {
        lookups.push(("PHONE", phone));
    }
    if let Some(email) = &appeal.contact.email {
        lookups.push(("EMAIL", email));
    }
    if lookups.is_empty() {
        return Ok(None);
    }
    for (kind, value) in &lookups {
        let found = call(
            webhook,
            "crm.duplicate.findbycomm",
            &json!({ "entity_type": "CONTACT", "type": kind, "values": [value] }),
        )?;
        if let Some(existing) = found["CONTACT"].as_array().and_then(|ids| ids.first()).and_then(id) {
            return Ok(Some(existing));
        }
    }
    let mut fields = communications(appeal);
    fields.insert("NAME".into(), json!(appeal.contact.name.clone().unwrap_or_else(|| "—".into())));
    fields.insert("ORIGINATOR_ID".into(), json!(ORIGINATOR));
    if let Some(source) = deal.get("SOURCE_ID") {
        fields.insert("SOURCE_ID".into(), source.clone());
    }
    let created = call(webhook, "crm.contact.add", &json!({ "fields": fields }))?;
    Ok(id(&created))
}

/// A timeline comment on the record.
pub fn note(config: &Config, record: &CrmRecord, text: &str) -> Result<(), CrmError> {
    let webhook = config
        .webhook_url
        .as_deref()
        .ok_or_else(|| CrmError::Failed("webhook_url is not configured".into()))?;
    let fields =
        json!({ "fields": { "ENTITY_ID": record.id, "ENTITY_TYPE": record.entity, "COMMENT": text } });
    call(webhook, "crm.timeline.comment.add", &fields).map(|_| ())
}
