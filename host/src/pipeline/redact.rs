//! What of a raw request may be shown as an appeal's text: the head of its body with the
//! credentials platforms put there (VK's `secret`, Bitrix24's `auth[application_token]`,
//! Mango's `vpbx_api_key` and `sign`, a form's `api_key`, tokens and passwords) replaced by
//! `[redacted]`. The raw request itself, which only admins read, keeps them.

use crate::store::RawRequest;

/// What a redacted value reads as.
const REDACTED: &str = "[redacted]";

/// Whether a field of this name carries a credential (`auth[application_token]` is judged by
/// its last part).
fn is_credential(name: &str) -> bool {
    let name = name.rsplit('[').next().unwrap_or(name).trim_end_matches(']').to_ascii_lowercase();
    matches!(
        name.as_str(),
        "secret"
            | "sign"
            | "signature"
            | "token"
            | "password"
            | "auth"
            | "api_key"
            | "apikey"
            | "vpbx_api_key"
    ) || name.ends_with("_token")
        || name.ends_with("_secret")
        || name.ends_with("_password")
}

/// The body's first `max` characters, as text, with credentials redacted.
pub fn body_text(raw: &RawRequest, max: usize) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(&raw.body) {
        Ok(mut value) => {
            redact_json(&mut value);
            value.to_string()
        }
        Err(_) if looks_like_a_form(&raw.body) => form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form_urlencoded::parse(&raw.body).map(|(k, v)| {
                let v = if is_credential(&k) { REDACTED.into() } else { v };
                (k, v)
            }))
            .finish(),
        Err(_) => String::from_utf8_lossy(&raw.body).into_owned(),
    };
    text.chars().take(max).collect()
}

fn looks_like_a_form(body: &[u8]) -> bool {
    body.contains(&b'=') && !body.iter().any(|b| b.is_ascii_whitespace() && *b != b' ')
}

fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                match is_credential(key) {
                    true => *inner = REDACTED.into(),
                    false => redact_json(inner),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(body: &str) -> RawRequest {
        RawRequest {
            id: "01RAW".into(),
            channel: "x".into(),
            received_at: 0,
            method: "POST".into(),
            path: "/hooks/x".into(),
            query: String::new(),
            headers: Vec::new(),
            outcome: String::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn credentials_in_json_and_forms_are_redacted_and_the_rest_kept() {
        let vk = body_text(
            &raw(r#"{"type":"message_new","secret":"vk-s3cret","object":{"text":"Привет"}}"#),
            2000,
        );
        assert!(!vk.contains("vk-s3cret") && vk.contains("[redacted]") && vk.contains("Привет"), "{vk}");
        let bitrix = body_text(
            &raw("event=ONIMBOTMESSAGEADD&auth%5Bapplication_token%5D=b24-tok&data%5BTEXT%5D=hi"),
            2000,
        );
        assert!(!bitrix.contains("b24-tok") && bitrix.contains("hi"), "{bitrix}");
        let mango = body_text(&raw("vpbx_api_key=mk-1&sign=abc123&json=%7B%7D"), 2000);
        assert!(!mango.contains("mk-1") && !mango.contains("abc123"), "{mango}");
        let form = body_text(&raw(r#"{"name":"Анна","api_key":"form-key","phone":"+7 916"}"#), 2000);
        assert!(!form.contains("form-key") && form.contains("Анна"), "{form}");
        assert_eq!(body_text(&raw("just text"), 4), "just");
    }
}
