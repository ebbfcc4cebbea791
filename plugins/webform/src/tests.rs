use super::*;
use clienthub_sdk::testing::only_new_appeal;
use clienthub_sdk::testing::{Harness, post};

const URLENCODED: &str = "application/x-www-form-urlencoded";

fn submit(h: &mut Harness, content_type: &str, body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    h.run(|| Webform::handle(post("/hooks/webform", &[("Content-Type", content_type)], body)))
}

#[test]
fn tilda_urlencoded_form() {
    let out = submit(&mut Harness::new(), URLENCODED, include_bytes!("../fixtures/tilda.txt")).unwrap();
    let m = only_new_appeal(out);
    assert_eq!(m.platform_id, "5281107:3940651");
    assert_eq!(m.contact.name.as_deref(), Some("Иван Петров"));
    assert_eq!(m.contact.phone.as_deref(), Some("+7 (916) 123-45-67"));
    assert_eq!(m.contact.email.as_deref(), Some("Ivan.Petrov@Example.com"));
    assert_eq!(m.text, "Не работает доставка");
    assert_eq!(m.subject.as_deref(), Some("Cart"));
    assert_eq!(m.meta("city"), Some("Казань"));
    assert_eq!(m.meta("store"), Some("112"));
    assert_eq!(m.meta("formid"), Some("form482716103"));
    assert_eq!(m.meta("cookies"), None);
}

#[test]
fn json_form_with_arrays_and_numbers() {
    let body = br#"{"name":"Olga","phone":"89161234567","message":"Call me","services":["delivery","assembly"],"store":7}"#;
    let m = only_new_appeal(submit(&mut Harness::new(), "application/json; charset=utf-8", body).unwrap());
    assert_eq!(m.contact.name.as_deref(), Some("Olga"));
    assert_eq!(m.text, "Call me");
    assert_eq!(m.meta("services"), Some("delivery, assembly"));
    assert_eq!(m.meta("store"), Some("7"));
    // No tranid: the same body gives the same id, so a resend is one appeal.
    let again = only_new_appeal(submit(&mut Harness::new(), "application/json", body).unwrap());
    assert_eq!(m.platform_id, again.platform_id);
}

#[test]
fn tilda_webhook_check_makes_no_appeal() {
    let out = submit(&mut Harness::new(), URLENCODED, b"test=test").unwrap();
    assert!(out.events.is_empty());
    assert_eq!(out.response.body, b"ok");
}

#[test]
fn api_key_is_enforced_when_configured() {
    let mut h = Harness::new().with_config(r#"{"api_key":"k1"}"#);
    assert!(matches!(submit(&mut h, URLENCODED, b"Name=A&tranid=1"), Err(AdapterError::Unauthorized(_))));
    assert!(submit(&mut h, URLENCODED, b"Name=A&tranid=1&api_key=k1").is_ok());
}

#[test]
fn bad_payloads_are_malformed() {
    let h = &mut Harness::new();
    assert!(matches!(submit(h, "application/json", b"[1,2]"), Err(AdapterError::Malformed(_))));
    assert!(matches!(submit(h, "text/xml", b"<a/>"), Err(AdapterError::Malformed(_))));
}

#[test]
fn with_a_key_set_garbage_is_refused_not_kept_as_a_broken_form() {
    let mut h = Harness::new().with_config(r#"{"api_key":"k1"}"#);
    assert!(matches!(submit(&mut h, "application/json", b"[1,2]"), Err(AdapterError::Unauthorized(_))));
    assert!(matches!(submit(&mut h, "text/xml", b"<a/>"), Err(AdapterError::Unauthorized(_))));
}
