//! One event of an appeal onto its deal or lead (WIT `crm-sync`): the owner
//! (`ASSIGNED_BY_ID`), the stage of the new state in the record's funnel, and a timeline
//! comment — together in one `batch`. A comment with files goes as its own call (`FILES`, the
//! files in base64). Every comment ends with the event's id (`ClientHub · 01J…:7`): when the
//! host hands an update over again after a crash, the timeline is searched for it first, so a
//! comment is never written twice. With Open Lines, the customer's messages also go into the
//! line, and the delivery of a reply written there is confirmed.

use super::rest::{batch, call, id};
use super::{Config, webhook};
use base64::Engine as _;
use clienthub_sdk::{Appeal, CrmError, CrmRecord, CrmState, CrmUpdate};
use serde_json::{Value, json};

/// Applies `update` to `record`; idempotent.
pub fn apply(
    config: &Config,
    record: &CrmRecord,
    appeal: &Appeal,
    update: &CrmUpdate,
) -> Result<(), CrmError> {
    let webhook = webhook(config)?;
    let entity = record.entity.as_str();
    let mut fields = serde_json::Map::new();
    if let Some(user) = update.owner.as_ref().and_then(|o| o.crm_user_id.as_deref()) {
        fields.insert("ASSIGNED_BY_ID".into(), json!(user));
    }
    if let Some(state) = update.state {
        let funnel = if entity == "lead" { "lead".to_string() } else { config.funnel(appeal).0.to_string() };
        if let Some(stage) = config.stage_for(&funnel, state_name(state)) {
            fields.insert(if entity == "lead" { "STATUS_ID" } else { "STAGE_ID" }.into(), json!(stage));
        }
    }
    let text = match (&update.comment, &update.customer_message) {
        (Some(comment), _) => Some(comment.clone()),
        (None, Some(message)) => Some(format!("Клиент ({}): {message}", appeal.channel)),
        (None, None) => None,
    };
    if let Some(message) = &update.customer_message {
        super::openlines::push(config, appeal, &update.event_id, message)?;
    }
    if let Some(origin) = update.reply_origin.as_deref().filter(|_| update.stage == "reply_sent") {
        super::openlines::delivered(config, origin)?;
    }
    let marker = format!("ClientHub · {}", update.event_id);
    let comment = match text {
        Some(text) if !(update.retried && commented(webhook, record, &marker)?) => {
            Some(format!("{text}\n\n{marker}"))
        }
        _ => None,
    };
    let mut commands = Vec::new();
    if !fields.is_empty() {
        commands.push((
            "update",
            format!("crm.{entity}.update"),
            json!({ "id": record.id, "fields": fields }),
        ));
    }
    match comment {
        Some(comment) if !update.files.is_empty() => {
            // Files go in the request body, not in a batch command's query string.
            let files: Vec<Value> = update
                .files
                .iter()
                .map(|f| json!([f.file_name, base64::engine::general_purpose::STANDARD.encode(&f.body)]))
                .collect();
            let fields =
                json!({ "ENTITY_ID": record.id, "ENTITY_TYPE": entity, "COMMENT": comment, "FILES": files });
            call(webhook, "crm.timeline.comment.add", &json!({ "fields": fields }))?;
        }
        Some(comment) => commands.push((
            "comment",
            "crm.timeline.comment.add".into(),
            json!({ "fields": { "ENTITY_ID": record.id, "ENTITY_TYPE": entity, "COMMENT": comment } }),
        )),
        None => {}
    }
    match commands.as_slice() {
        [] => Ok(()),
        [(_, method, params)] => call(webhook, method, params).map(drop),
        _ => {
            let commands: Vec<(&str, &str, Value)> = commands
                .iter()
                .map(|(name, method, params)| (*name, method.as_str(), params.clone()))
                .collect();
            batch(webhook, &commands).map(drop)
        }
    }
}

/// Whether the record's timeline already has a comment carrying `marker` (its newest 50).
fn commented(webhook: &str, record: &CrmRecord, marker: &str) -> Result<bool, CrmError> {
    let found = call(
        webhook,
        "crm.timeline.comment.list",
        &json!({
            "filter": { "ENTITY_ID": record.id, "ENTITY_TYPE": record.entity },
            "select": ["ID", "COMMENT"],
            "order": { "ID": "DESC" },
        }),
    )?;
    Ok(found.as_array().is_some_and(|list| {
        list.iter()
            .any(|c| id(&c["ID"]).is_some() && c["COMMENT"].as_str().is_some_and(|t| t.ends_with(marker)))
    }))
}

/// The configuration's name of a state.
pub fn state_name(state: CrmState) -> &'static str {
    match state {
        CrmState::New => "new",
        CrmState::InWork => "in_work",
        CrmState::Paused => "paused",
        CrmState::Resolved => "resolved",
        CrmState::Reopened => "reopened",
        CrmState::Overdue => "overdue",
    }
}
