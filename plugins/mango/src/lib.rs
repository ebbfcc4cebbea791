//! Mango Office channel adapter: VPBX API events into appeals.
//!
//! Mango posts `application/x-www-form-urlencoded` fields `vpbx_api_key`, `sign` and `json` to
//! `<url>/events/<kind>`; here that is `/hooks/mango/events/<kind>`. With `api_key` and
//! `api_salt` configured, `vpbx_api_key` must match and `sign` must equal
//! `sha256_hex(vpbx_api_key + json + vpbx_api_salt)`.
//!
//! - `events/summary` of an incoming call (`call_direction` 1) becomes an appeal in the
//!   conversation `call:<entry_id>`: the caller's number, talk time, and `missed` when
//!   `entry_result` is 0 (kept, never dropped).
//! - `events/recording` with `recording_state` `Completed` joins that appeal with the
//!   recording (`mango:<recording_id>`, fetched with the API's `queries/recording/post`:
//!   [`media`]).
//! - Other events (`events/call` state changes, DTMF, SMS) are acknowledged with no event.

use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Attachment, AttachmentKind, Channel, Contact, Event, HttpRequest,
    HttpResponse, InboundMessage, MediaStep, MetaEntry,
};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

mod media;

/// The Mango Office adapter.
pub struct Mango;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    api_salt: Option<String>,
    /// The API server (`https://app.mango-office.ru` by default).
    #[serde(default)]
    api_base: Option<String>,
}

impl Channel for Mango {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        if request.method != "POST" {
            return Err(AdapterError::Malformed("this hook takes POST only".into()));
        }
        let fields: Vec<(String, String)> = form_urlencoded::parse(&request.body).into_owned().collect();
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let signed = config.api_key.is_some() && config.api_salt.is_some();
        let json = field("json").ok_or_else(|| match signed {
            // With the key and salt configured, an unsigned body is refused, not kept as broken.
            true => AdapterError::Unauthorized("no `json` field: not a signed Mango event".into()),
            false => AdapterError::Malformed("no `json` field: not a Mango event".into()),
        })?;
        let key = field("vpbx_api_key").unwrap_or("");
        if let (Some(expected_key), Some(salt)) = (&config.api_key, &config.api_salt) {
            let sign = hex::encode(Sha256::digest(format!("{key}{json}{salt}").as_bytes()));
            let key_ok = clienthub_sdk::auth::secret_matches(key, expected_key);
            let sign_ok = clienthub_sdk::auth::secret_matches(field("sign").unwrap_or(""), &sign);
            if !(key_ok && sign_ok) {
                return Err(AdapterError::Unauthorized("vpbx_api_key or sign does not match".into()));
            }
        }
        let event: Value = serde_json::from_str(json)
            .map_err(|e| AdapterError::Malformed(format!("the `json` field: {e}")))?;
        let kind = request.path.rsplit('/').next().unwrap_or("");
        let events = match kind {
            "summary" => summary(&event)?.map(Event::FollowUp).into_iter().collect(),
            "recording" => recording(&event).map(Event::FollowUp).into_iter().collect(),
            _ => Vec::new(),
        };
        Ok(AdapterOutput { response: HttpResponse::text("ok"), events })
    }

    fn fetch_media(
        _: Appeal,
        attachment: Attachment,
        _: Option<HttpRequest>,
        answers: Vec<HttpResponse>,
    ) -> MediaStep {
        match clienthub_sdk::config::get::<Config>() {
            Ok(config) => media::step(&config, &attachment, &answers),
            Err(e) => MediaStep::Failed(e),
        }
    }
}

clienthub_sdk::export_channel!(Mango);

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, key| v.get(key))?.as_str().filter(|s| !s.is_empty())
}

fn number(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(|x| x.as_i64().or_else(|| x.as_str()?.parse().ok()))
}

/// The appeal for a finished incoming call; `None` for outgoing and internal calls.
fn summary(event: &Value) -> Result<Option<InboundMessage>, AdapterError> {
    let entry = text(event, &["entry_id"])
        .ok_or_else(|| AdapterError::Malformed("summary without entry_id".into()))?;
    if number(event, "call_direction") != Some(1) {
        return Ok(None);
    }
    let caller = text(event, &["from", "number"]).unwrap_or("");
    let answered = number(event, "entry_result") == Some(1);
    let talk = match (number(event, "talk_time"), number(event, "end_time")) {
        (Some(talk), Some(end)) if talk > 0 && end >= talk => end - talk,
        _ => 0,
    };
    let mut metadata = vec![
        MetaEntry::new("call_id", entry),
        MetaEntry::new("direction", "incoming"),
        MetaEntry::new("duration_seconds", talk.to_string()),
    ];
    if let Some(line) = text(event, &["line_number"]).or(text(event, &["to", "line_number"])) {
        metadata.push(MetaEntry::new("line_number", line));
    }
    if let Some(extension) = text(event, &["to", "extension"]) {
        metadata.push(MetaEntry::new("extension", extension));
    }
    if let Some(reason) = number(event, "disconnect_reason") {
        metadata.push(MetaEntry::new("disconnect_reason", reason.to_string()));
    }
    if !answered {
        metadata.push(MetaEntry::new("missed", "true"));
    }
    let who = if caller.is_empty() { "a hidden number" } else { caller };
    let mut contact = Contact::unknown();
    if !caller.is_empty() {
        contact.phone = Some(if caller.len() >= 10 && caller.chars().all(|c| c.is_ascii_digit()) {
            format!("+{caller}")
        } else {
            caller.to_string()
        });
        contact.platform_user_id = Some(caller.to_string());
    }
    Ok(Some(InboundMessage {
        platform_id: format!("{entry}:summary"),
        conversation_key: format!("call:{entry}"),
        sent_at: number(event, "create_time").map(|t| (t.max(0) as u64).saturating_mul(1000)),
        contact,
        subject: None,
        text: if answered { format!("Call from {who}, {talk} s") } else { format!("Missed call from {who}") },
        attachments: Vec::new(),
        metadata,
    }))
}

/// The recording of a call, once it is complete.
fn recording(event: &Value) -> Option<InboundMessage> {
    if text(event, &["recording_state"]) != Some("Completed") {
        return None;
    }
    let entry = text(event, &["entry_id"])?;
    let id = text(event, &["recording_id"])?;
    Some(InboundMessage {
        platform_id: format!("{entry}:recording:{id}"),
        conversation_key: format!("call:{entry}"),
        sent_at: number(event, "timestamp").map(|t| (t.max(0) as u64).saturating_mul(1000)),
        contact: Contact::unknown(),
        subject: None,
        text: "Call recording".into(),
        attachments: vec![Attachment {
            kind: AttachmentKind::CallRecording,
            reference: format!("mango:{id}"),
            mime_type: Some("audio/mpeg".into()),
            size: None,
            file_name: None,
        }],
        metadata: vec![MetaEntry::new("call_id", entry)],
    })
}

#[cfg(test)]
mod tests;
