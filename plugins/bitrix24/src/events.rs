//! Bitrix24's outgoing events (`application/x-www-form-urlencoded`: `event`,
//! `data[FIELDS][ID]`, `auth[application_token]`, …) into replies and status changes; an Open
//! Lines operator's message (`ONIMCONNECTORMESSAGEADD`) into a reply with its origin.

use super::rest::{call, id};
use super::{Config, ORIGINATOR, ok};
use clienthub_sdk::{AdapterError, CrmEventOutput, CrmReply, CrmStatus, CrmStatusChange, HttpRequest};
use serde_json::{Value, json};

/// Verifies and reads one event.
pub fn handle(config: &Config, request: &HttpRequest) -> Result<CrmEventOutput, AdapterError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(&request.body).into_owned().collect();
    let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let expected = config.application_token.as_deref().ok_or_else(|| {
        AdapterError::Unauthorized("set application_token to accept Bitrix24 events".into())
    })?;
    let given = field("auth[application_token]").unwrap_or("");
    if !clienthub_sdk::auth::secret_matches(given, expected) {
        return Err(AdapterError::Unauthorized("auth[application_token] is missing or wrong".into()));
    }
    let mut output = CrmEventOutput { response: ok(), replies: Vec::new(), status_changes: Vec::new() };
    if field("event").is_some_and(|e| e.eq_ignore_ascii_case("ONIMCONNECTORMESSAGEADD")) {
        output.replies = super::openlines::replies(config, &|key| field(key).map(str::to_string));
        return Ok(output);
    }
    let (Some(event), Some(record)) = (field("event"), field("data[FIELDS][ID]")) else {
        return Ok(output); // Not an event ClientHub reads: acknowledged.
    };
    let webhook = config
        .webhook_url
        .as_deref()
        .ok_or_else(|| AdapterError::Malformed("webhook_url is not configured".into()))?;
    let rest = |method: &str, params: Value| {
        call(webhook, method, &params)
            .map_err(|e| AdapterError::Malformed(format!("reading the event's record failed: {e:?}")))
    };
    match event.to_ascii_uppercase().as_str() {
        "ONCRMTIMELINECOMMENTADD" => {
            let comment = rest("crm.timeline.comment.get", json!({ "id": record }))?;
            let text = comment["COMMENT"].as_str().unwrap_or("");
            let prefix = config.reply_prefix.as_deref().unwrap_or("/reply");
            let Some(reply) = text.strip_prefix(prefix).map(str::trim).filter(|t| !t.is_empty()) else {
                return Ok(output);
            };
            let entity = comment["ENTITY_TYPE"].as_str().unwrap_or(config.entity()).to_ascii_lowercase();
            let owner = id(&comment["ENTITY_ID"])
                .ok_or_else(|| AdapterError::Malformed("the comment has no ENTITY_ID".into()))?;
            if let Some(appeal_id) = appeal_of(&rest(&format!("crm.{entity}.get"), json!({ "id": owner }))?) {
                let author = id(&comment["AUTHOR_ID"]).map(|user| format!("Bitrix24 user {user}"));
                output.replies.push(CrmReply { appeal_id, text: reply.to_string(), author, origin: None });
            }
        }
        "ONCRMDEALUPDATE" | "ONCRMLEADUPDATE" => {
            let entity = if event.eq_ignore_ascii_case("ONCRMLEADUPDATE") { "lead" } else { "deal" };
            let fetched = rest(&format!("crm.{entity}.get"), json!({ "id": record }))?;
            let stage = fetched["STAGE_ID"].as_str().or(fetched["STATUS_ID"].as_str()).unwrap_or("");
            let status = config.stage_statuses.get(stage).and_then(|s| status(s));
            if let (Some(appeal_id), Some(status)) = (appeal_of(&fetched), status) {
                output.status_changes.push(CrmStatusChange {
                    appeal_id,
                    status,
                    detail: format!("{entity} {record} moved to stage {stage}"),
                });
            }
        }
        _ => {}
    }
    Ok(output)
}

/// The appeal a ClientHub-made record stands for.
fn appeal_of(record: &Value) -> Option<String> {
    (record["ORIGINATOR_ID"].as_str() == Some(ORIGINATOR))
        .then(|| record["ORIGIN_ID"].as_str().map(str::to_string))
        .flatten()
}

fn status(name: &str) -> Option<CrmStatus> {
    match name {
        "in_work" => Some(CrmStatus::InWork),
        "paused" => Some(CrmStatus::Paused),
        "resolved" => Some(CrmStatus::Resolved),
        "reopened" => Some(CrmStatus::Reopened),
        _ => None,
    }
}
