//! Zadarma channel adapter: cloud-PBX call notifications into appeals.
//!
//! - `GET ?zd_echo=…` (the URL check when the notification URL is saved) is echoed back.
//! - `NOTIFY_END` of an incoming call becomes an appeal in the conversation `call:<pbx_call_id>`
//!   with the caller's number, duration, disposition and, when recorded, the recording as an
//!   attachment (`zadarma:<call_id_with_rec>`, fetched with the API's `pbx/record/request`:
//!   [`media`]).
//!   A call that was not answered is kept too, marked `missed`, never dropped.
//! - `NOTIFY_RECORD` joins the call's appeal with the recording.
//! - `NOTIFY_START`, `NOTIFY_INTERNAL`, `NOTIFY_ANSWER`, `NOTIFY_IVR` and outgoing-call events
//!   are acknowledged with no event.
//!
//! With `secret` configured each notification's `Signature` header must equal
//! `base64(hex(HMAC-SHA1(fields, secret)))` over the fields Zadarma documents per event
//! (`caller_id.called_did.call_start`; `pbx_call_id.call_id_with_rec` for `NOTIFY_RECORD`;
//! `internal.destination.call_start` for outgoing calls).
//!
//! Zadarma signs neither the call id nor the duration or recording of `NOTIFY_END`, so a
//! captured signature could be replayed with another call id to make new appeals. The first
//! signed `NOTIFY_START` binds its signed fields to its `pbx_call_id` (in the plugin's
//! key-value store; a later start with the same fields cannot rebind them), and a
//! `NOTIFY_END` whose call id is not the one bound to its signed fields is kept but marked
//! `unverified`.

use base64::Engine;
use clienthub_sdk::{
    AdapterError, AdapterOutput, Appeal, Attachment, AttachmentKind, Channel, Contact, Event, HttpRequest,
    HttpResponse, InboundMessage, MediaStep, MetaEntry,
};
use serde::Deserialize;

mod media;

/// The Zadarma adapter.
pub struct Zadarma;

#[derive(Debug, Default, Deserialize)]
struct Config {
    /// The API secret: verifies notifications and signs API calls.
    #[serde(default)]
    secret: Option<String>,
    /// The API key; fetching recordings needs it.
    #[serde(default)]
    api_key: Option<String>,
    /// The API server (`https://api.zadarma.com` by default).
    #[serde(default)]
    api_base: Option<String>,
}

type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

impl Channel for Zadarma {
    fn handle(request: HttpRequest) -> Result<AdapterOutput, AdapterError> {
        let config: Config = clienthub_sdk::config::get().map_err(AdapterError::Malformed)?;
        if request.method == "GET" {
            let query: Fields = form_urlencoded::parse(request.query.as_bytes()).into_owned().collect();
            let echo = field(&query, "zd_echo");
            return Ok(AdapterOutput { response: HttpResponse::text(echo), events: vec![] });
        }
        let fields: Fields = form_urlencoded::parse(&request.body).into_owned().collect();
        let event = field(&fields, "event").to_string();
        if event.is_empty() {
            // With a secret configured, an unsigned body is refused, not kept as a broken event.
            return Err(match config.secret {
                Some(_) => {
                    AdapterError::Unauthorized("no `event` field: not a signed Zadarma notification".into())
                }
                None => AdapterError::Malformed("no `event` field: not a Zadarma notification".into()),
            });
        }
        if let Some(secret) = &config.secret {
            verify(&request, &fields, &event, secret)?;
        }
        let signed = config.secret.is_some();
        let events = match event.as_str() {
            "NOTIFY_START" if signed => bind_call(&fields).map(|()| Vec::new())?,
            "NOTIFY_END" => {
                let mut call = call_ended(&fields)?;
                if signed && !bound_call(&fields)? {
                    call.metadata.push(MetaEntry::new(
                        "unverified",
                        "the call id is not the one a signed NOTIFY_START gave these signed fields",
                    ));
                }
                vec![Event::FollowUp(call)]
            }
            "NOTIFY_RECORD" => vec![Event::FollowUp(recording(&fields)?)],
            _ => Vec::new(),
        };
        Ok(AdapterOutput { response: HttpResponse::text(""), events })
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

clienthub_sdk::export_channel!(Zadarma);

fn verify(request: &HttpRequest, fields: &Fields, event: &str, secret: &str) -> Result<(), AdapterError> {
    let signed: Vec<&str> = match event {
        "NOTIFY_RECORD" => vec!["pbx_call_id", "call_id_with_rec"],
        "NOTIFY_OUT_START" | "NOTIFY_OUT_END" => vec!["internal", "destination", "call_start"],
        _ => vec!["caller_id", "called_did", "call_start"],
    };
    let data: String = signed.iter().map(|name| field(fields, name)).collect();
    let mac = clienthub_sdk::auth::hmac_sha1(secret.as_bytes(), data.as_bytes());
    // Zadarma's reference code: base64_encode(hash_hmac('sha1', …)) — base64 of the hex digest.
    let expected = base64::engine::general_purpose::STANDARD.encode(hex::encode(mac));
    let given = request.header("signature").unwrap_or("");
    if clienthub_sdk::auth::secret_matches(given.trim(), &expected) {
        Ok(())
    } else {
        Err(AdapterError::Unauthorized(format!("the Signature of {event} does not match")))
    }
}

/// The key binding a start's signed fields to the call id that came with them.
fn binding_key(fields: &Fields) -> String {
    let signed = ["caller_id", "called_did", "call_start"].map(|name| field(fields, name));
    format!("call-start:{}", signed.join("|"))
}

/// Binds a signed start's fields to its call id, unless a start already bound them.
fn bind_call(fields: &Fields) -> Result<(), AdapterError> {
    let call = field(fields, "pbx_call_id");
    let key = binding_key(fields);
    let stored = clienthub_sdk::kv::get(&key).map_err(AdapterError::Malformed)?;
    match stored {
        None if !call.is_empty() => {
            clienthub_sdk::kv::set(&key, call.as_bytes()).map_err(AdapterError::Malformed)
        }
        Some(bound) if bound != call.as_bytes() => {
            clienthub_sdk::log::warn("a NOTIFY_START tried to rebind a signed call start to another call id");
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether the call id of an end is the one its signed fields were bound to.
fn bound_call(fields: &Fields) -> Result<bool, AdapterError> {
    let stored = clienthub_sdk::kv::get(&binding_key(fields)).map_err(AdapterError::Malformed)?;
    Ok(stored.is_some_and(|bound| bound == field(fields, "pbx_call_id").as_bytes()))
}

/// Zadarma sends numbers in international format without `+`.
fn phone(number: &str) -> Option<String> {
    let digits = number.trim().trim_start_matches('+');
    match digits.len() {
        0 => None,
        n if n >= 10 && digits.chars().all(|c| c.is_ascii_digit()) => Some(format!("+{digits}")),
        _ => Some(digits.to_string()),
    }
}

fn required<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, AdapterError> {
    match field(fields, name) {
        "" => Err(AdapterError::Malformed(format!("the notification has no `{name}`"))),
        value => Ok(value),
    }
}

fn recording_attachment(id: &str) -> Attachment {
    Attachment {
        kind: AttachmentKind::CallRecording,
        reference: format!("zadarma:{id}"),
        mime_type: Some("audio/mpeg".into()),
        size: None,
        file_name: None,
    }
}

fn call_ended(fields: &Fields) -> Result<InboundMessage, AdapterError> {
    let call = required(fields, "pbx_call_id")?;
    let caller = field(fields, "caller_id");
    let disposition = field(fields, "disposition");
    let duration = field(fields, "duration");
    let answered = disposition == "answered";
    let mut metadata = vec![
        MetaEntry::new("call_id", call),
        MetaEntry::new("direction", "incoming"),
        MetaEntry::new("disposition", disposition),
        MetaEntry::new("duration_seconds", duration),
        MetaEntry::new("called_did", field(fields, "called_did")),
        MetaEntry::new("call_start", field(fields, "call_start")),
    ];
    if !field(fields, "internal").is_empty() {
        metadata.push(MetaEntry::new("internal", field(fields, "internal")));
    }
    if !answered {
        metadata.push(MetaEntry::new("missed", "true"));
    }
    let recording = field(fields, "call_id_with_rec");
    let attachments = if field(fields, "is_recorded") == "1" && !recording.is_empty() {
        vec![recording_attachment(recording)]
    } else {
        Vec::new()
    };
    let who = if caller.is_empty() { "a hidden number" } else { caller };
    let text = if answered {
        format!("Call from {who}, {duration} s")
    } else {
        format!("Missed call from {who} ({disposition})")
    };
    let mut contact = Contact::unknown();
    contact.phone = phone(caller);
    contact.platform_user_id = (!caller.is_empty()).then(|| caller.to_string());
    Ok(InboundMessage {
        platform_id: format!("{call}:end"),
        conversation_key: format!("call:{call}"),
        sent_at: None,
        contact,
        subject: None,
        text,
        attachments,
        metadata,
    })
}

fn recording(fields: &Fields) -> Result<InboundMessage, AdapterError> {
    let call = required(fields, "pbx_call_id")?;
    let recording = required(fields, "call_id_with_rec")?;
    Ok(InboundMessage {
        platform_id: format!("{call}:record"),
        conversation_key: format!("call:{call}"),
        sent_at: None,
        contact: Contact::unknown(),
        subject: None,
        text: "Call recording".into(),
        attachments: vec![recording_attachment(recording)],
        metadata: vec![MetaEntry::new("call_id", call)],
    })
}

#[cfg(test)]
mod tests;
