//! Site-form channel adapter: JSON or `application/x-www-form-urlencoded` submissions.
//!
//! Tilda's field names are recognised (`Name`, `Phone`, `Email`, case-insensitively, plus the
//! common comment fields); every other field goes into metadata under its lower-cased name.
//! `tranid` is the platform id (Tilda's transaction id); without it, `id` or a hash of the
//! body stands in, so a re-sent submission is still one appeal. Tilda's webhook check
//! (`test=test`) is answered `ok` with no appeal. With `api_key` configured, each request must
//! carry it in the `X-Api-Key` header or an `api_key` field.

use clienthub_sdk::{
    AdapterError, AdapterOutput, Channel, Contact, Event, HttpRequest, HttpResponse, InboundMessage,
    MetaEntry,
};
use serde::Deserialize;

/// The site-form adapter.
pub struct Webform;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    api_key: Option<String>,
}

/// Fields whose value is the message itself.
const TEXT_FIELDS: &[&str] = &["comments", "comment", "message", "text", "question", "textarea"];
/// Fields that are plumbing, not content.
const SKIPPED_FIELDS: &[&str] = &["api_key", "cookies", "test"];

impl Channel for Webform {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        if request.method != "POST" {
            return Err(AdapterError::Malformed("this hook takes POST only".into()));
        }
        let fields = parse_fields(&request);
        // With a key configured, a request proves itself first: one that does not parse cannot
        // carry the key, and is refused, not kept as a broken form.
        if let Some(expected) = &config.api_key {
            let in_body = fields.as_ref().ok().and_then(|f| field(f, "api_key"));
            let given = request.header("x-api-key").or(in_body).unwrap_or("");
            if !clienthub_sdk::auth::secret_matches(given, expected) {
                return Err(AdapterError::Unauthorized("api key missing or wrong".into()));
            }
        }
        let fields = fields?;
        let ok = AdapterOutput { response: HttpResponse::text("ok"), events: vec![] };
        if field(&fields, "test") == Some("test") && fields.len() <= 2 {
            return Ok(ok); // Tilda's "check the webhook" request.
        }
        if fields.is_empty() {
            return Err(AdapterError::Malformed("the form has no fields".into()));
        }
        Ok(AdapterOutput { events: vec![Event::NewAppeal(to_message(&fields, &request.body))], ..ok })
    }
}

clienthub_sdk::export_channel!(Webform);

/// The form's fields in order, names as sent.
fn parse_fields(request: &HttpRequest) -> Result<Vec<(String, String)>, AdapterError> {
    match request.media_type().as_str() {
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(&request.body)
                .map_err(|e| AdapterError::Malformed(format!("invalid JSON: {e}")))?;
            let serde_json::Value::Object(map) = value else {
                return Err(AdapterError::Malformed("a JSON form must be an object".into()));
            };
            Ok(map.into_iter().map(|(k, v)| (k, flatten(v))).collect())
        }
        "application/x-www-form-urlencoded" | "" => {
            Ok(form_urlencoded::parse(&request.body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        }
        other => Err(AdapterError::Malformed(format!(
            "unsupported content-type {other}: send application/json or application/x-www-form-urlencoded"
        ))),
    }
}

fn flatten(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(items) => items.into_iter().map(flatten).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.trim().is_empty()).map(|(_, v)| v.trim())
}

fn to_message(fields: &[(String, String)], body: &[u8]) -> InboundMessage {
    let contact = Contact {
        name: field(fields, "name").map(str::to_string),
        phone: field(fields, "phone").map(str::to_string),
        email: field(fields, "email").map(str::to_string),
        platform_user_id: None,
    };
    let platform_id = field(fields, "tranid")
        .or_else(|| field(fields, "id"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("body-{}", clienthub_sdk::text::content_id(body)));
    let text = TEXT_FIELDS.iter().filter_map(|name| field(fields, name)).collect::<Vec<_>>().join("\n");
    let recognised = ["name", "phone", "email", "tranid"];
    let metadata = fields
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.to_lowercase(), v))
        .filter(|(k, _)| {
            !recognised.contains(&k.as_str())
                && !TEXT_FIELDS.contains(&k.as_str())
                && !SKIPPED_FIELDS.contains(&k.as_str())
        })
        .map(|(k, v)| MetaEntry::new(k, v.trim()))
        .collect();
    let conversation_key = contact
        .phone
        .clone()
        .or_else(|| contact.email.clone())
        .map(|c| format!("contact:{c}"))
        .unwrap_or_else(|| format!("form:{platform_id}"));
    InboundMessage {
        platform_id,
        conversation_key,
        sent_at: None,
        contact,
        subject: field(fields, "formname").map(str::to_string),
        text,
        attachments: Vec::new(),
        metadata,
    }
}

#[cfg(test)]
mod tests;
