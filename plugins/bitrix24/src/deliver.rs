//! One appeal into Bitrix24: the deal (or lead) in the funnel of its topic or department, at
//! the stage of its state, owned by its assignee, with a contact for every customer — found
//! by phone or e-mail (`crm.duplicate.findbycomm`), or by the messenger identity ClientHub
//! gave it (`ORIGIN_ID` `telegram:501`, remembered in the connector's key-value store), else
//! created with `PHONE`/`EMAIL` or an `IM` multi-field. The contact and the deal go in one `batch`. When the host handed the appeal
//! over before (`crm_retried`), the deal is looked up by `ORIGIN_ID` first, so a crash between
//! Bitrix24's answer and the host's record never makes a second deal.

use super::rest::{batch, call, id};
use super::{Config, ORIGINATOR, webhook};
use clienthub_sdk::{Appeal, CrmAssignee, CrmError, CrmRecord};
use serde_json::{Map, Value, json};

/// Delivers `appeal`; idempotent.
pub fn deliver(
    config: &Config,
    appeal: &Appeal,
    assignee: Option<&CrmAssignee>,
) -> Result<CrmRecord, CrmError> {
    let webhook = webhook(config)?;
    let entity = config.entity();
    if appeal.meta("crm_retried").is_some() {
        let found = call(
            webhook,
            &format!("crm.{entity}.list"),
            &json!({ "filter": { "ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": appeal.id }, "select": ["ID"] }),
        )?;
        if let Some(existing) = found.as_array().and_then(|list| list.first()).and_then(|r| id(&r["ID"])) {
            // The earlier attempt may have stopped before the message reached the line.
            open_line(config, appeal)?;
            return Ok(record(webhook, entity, existing));
        }
    }
    let mut fields = common_fields(config, appeal, assignee);
    let state = appeal.meta("crm_state").unwrap_or("new");
    if entity == "lead" {
        fields.insert("NAME".into(), json!(appeal.contact.name.clone().unwrap_or_default()));
        fields.extend(communications(appeal));
        if let Some(stage) = config.stage_for("lead", state).or(config.stage_id.clone()) {
            fields.insert("STATUS_ID".into(), json!(stage));
        }
        let created = call(
            webhook,
            "crm.lead.add",
            &json!({ "fields": fields, "params": { "REGISTER_SONET_EVENT": "Y" } }),
        )?;
        let created = id(&created).ok_or_else(|| CrmError::Failed("crm.lead.add answered no id".into()))?;
        open_line(config, appeal)?;
        return Ok(record(webhook, entity, created));
    }
    let (category, first_stage) = config.funnel(appeal);
    fields.insert("CATEGORY_ID".into(), json!(category));
    if let Some(stage) = config.stage_for(&category.to_string(), state).or(first_stage) {
        fields.insert("STAGE_ID".into(), json!(stage));
    }
    let mut commands = Vec::new();
    match contact(webhook, appeal)? {
        Contact::Known(known) => {
            fields.insert("CONTACT_ID".into(), json!(known));
        }
        Contact::New(contact) => {
            let mut contact = contact;
            if let Some(source) = fields.get("SOURCE_ID") {
                contact.insert("SOURCE_ID".into(), source.clone());
            }
            if let Some(owner) = fields.get("ASSIGNED_BY_ID") {
                contact.insert("ASSIGNED_BY_ID".into(), owner.clone());
            }
            commands.push(("contact", "crm.contact.add", json!({ "fields": contact })));
            fields.insert("CONTACT_ID".into(), json!("$result[contact]"));
        }
        Contact::None => {}
    }
    commands.push((
        "deal",
        "crm.deal.add",
        json!({ "fields": fields, "params": { "REGISTER_SONET_EVENT": "Y" } }),
    ));
    let results = batch(webhook, &commands)?;
    let created = results
        .get("deal")
        .and_then(id)
        .ok_or_else(|| CrmError::Failed("crm.deal.add answered no id".into()))?;
    if let (Some(contact), Some(key)) = (results.get("contact").and_then(id), messenger_key(appeal)) {
        // Remembered so the customer's next appeal finds the contact without a call.
        let _ = clienthub_sdk::kv::set(&key, contact.as_bytes());
    }
    open_line(config, appeal)?;
    Ok(record(webhook, entity, created))
}

/// The appeal's first message into the Open Line, when one is configured. The record exists
/// by now: a refusal is logged, not made the delivery's (the deal shows the text).
fn open_line(config: &Config, appeal: &Appeal) -> Result<(), CrmError> {
    match super::openlines::push(config, appeal, &format!("{}:first", appeal.id), &appeal.text) {
        Err(CrmError::Failed(error)) => {
            clienthub_sdk::log::warn(&format!("the Open Line refused appeal {}: {error}", appeal.id));
            Ok(())
        }
        other => other,
    }
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
        json!(format!("Обращение ClientHub {} ({})", appeal.id, appeal.channel)),
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

/// The `IM` multi-field of a messenger customer, as Bitrix24 types them (`TELEGRAM`, `VK`;
/// WhatsApp and Odnoklassniki are `OTHER` with a link).
fn messenger(appeal: &Appeal) -> Option<Value> {
    let user = appeal.contact.platform_user_id.as_deref()?;
    let (value, kind) = match appeal.channel.as_str() {
        "telegram" => (user.to_string(), "TELEGRAM"),
        "vk" => (format!("https://vk.com/id{user}"), "VK"),
        "whatsapp" => (format!("https://wa.me/{}", user.trim_start_matches('+')), "OTHER"),
        "ok" => (format!("https://ok.ru/profile/{user}"), "OTHER"),
        _ => return None,
    };
    Some(json!([{ "VALUE": value, "VALUE_TYPE": kind }]))
}

/// The contact's `ORIGIN_ID` (and this connector's key-value key) for a messenger customer.
fn messenger_key(appeal: &Appeal) -> Option<String> {
    messenger(appeal)?;
    Some(format!("{}:{}", appeal.channel, appeal.contact.platform_user_id.as_deref()?))
}

/// The deal's contact.
enum Contact {
    /// Bitrix24 knows the customer.
    Known(String),
    /// A contact to create with these fields.
    New(Map<String, Value>),
    /// Nothing to know the customer by.
    None,
}

/// The contact Bitrix24 knows by phone or e-mail, or by the messenger identity ClientHub gave
/// it; else the fields of a new one.
fn contact(webhook: &str, appeal: &Appeal) -> Result<Contact, CrmError> {
    let mut lookups = Vec::new();
    if let Some(phone) = &appeal.contact.phone {
        lookups.push(("PHONE", phone));
    }
    if let Some(email) = &appeal.contact.email {
        lookups.push(("EMAIL", email));
    }
    for (kind, value) in &lookups {
        let found = call(
            webhook,
            "crm.duplicate.findbycomm",
            &json!({ "entity_type": "CONTACT", "type": kind, "values": [value] }),
        )?;
        if let Some(existing) = found["CONTACT"].as_array().and_then(|ids| ids.first()).and_then(id) {
            return Ok(Contact::Known(existing));
        }
    }
    let mut fields = communications(appeal);
    let messenger_key = if lookups.is_empty() { messenger_key(appeal) } else { None };
    if let Some(key) = &messenger_key {
        // The contacts this connector made are remembered; Bitrix24 is asked only when that
        // memory may be short (a crash right after the creation: the appeal was tried before).
        let remembered = clienthub_sdk::kv::get(key);
        if let Ok(Some(known)) = &remembered {
            return Ok(Contact::Known(String::from_utf8_lossy(known).into_owned()));
        }
        let ask = remembered.is_err() || appeal.meta("crm_retried").is_some();
        let found = if ask {
            call(
                webhook,
                "crm.contact.list",
                &json!({ "filter": { "ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": key }, "select": ["ID"] }),
            )?
        } else {
            Value::Null
        };
        if let Some(existing) = found.as_array().and_then(|list| list.first()).and_then(|c| id(&c["ID"])) {
            let _ = clienthub_sdk::kv::set(key, existing.as_bytes());
            return Ok(Contact::Known(existing));
        }
        fields.insert("IM".into(), messenger(appeal).unwrap_or_default());
        fields.insert("ORIGIN_ID".into(), json!(key));
    }
    if fields.is_empty() {
        return Ok(Contact::None);
    }
    fields.insert("NAME".into(), json!(appeal.contact.name.clone().unwrap_or_else(|| "—".into())));
    fields.insert("ORIGINATOR_ID".into(), json!(ORIGINATOR));
    Ok(Contact::New(fields))
}
