use super::*;
use clienthub_sdk::testing::{Harness, post};

fn handle(body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    Harness::new().run(|| Email::handle(post("/hooks/email", &[("content-type", "message/rfc822")], body)))
}

fn message(body: &[u8]) -> InboundMessage {
    match <[Event; 1]>::try_from(handle(body).unwrap().events) {
        Ok([Event::FollowUp(m)]) => m,
        other => panic!("expected one follow-up, got {other:?}"),
    }
}

#[test]
fn windows_1251_multipart_with_rfc2231_attachment() {
    let m = message(include_bytes!("../fixtures/multipart_1251.eml"));
    assert_eq!(m.platform_id, "a1b2c3.20261123101500@example.ru");
    assert_eq!(m.conversation_key, "thread:a1b2c3.20261123101500@example.ru");
    assert_eq!(m.subject.as_deref(), Some("Возврат заказа 55120"));
    assert_eq!(m.contact.name.as_deref(), Some("Мария Иванова"));
    assert_eq!(m.contact.email.as_deref(), Some("Maria.Ivanova@Example.RU"));
    assert!(m.text.starts_with("Здравствуйте!\nПрошу оформить возврат"), "{:?}", m.text);
    assert_eq!(m.attachments.len(), 1);
    let pdf = &m.attachments[0];
    assert_eq!(pdf.file_name.as_deref(), Some("Чек №55120.pdf"));
    assert_eq!(pdf.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(pdf.size, Some(23));
    assert_eq!(m.sent_at, Some(1_795_418_100_000));
}

#[test]
fn koi8r_reply_threads_into_the_first_message() {
    let m = message(include_bytes!("../fixtures/koi8r_reply.eml"));
    assert_eq!(m.conversation_key, "thread:a1b2c3.20261123101500@example.ru");
    assert_eq!(m.text, "Добрый день, есть новости по возврату?");
    assert_eq!(m.subject.as_deref(), Some("Re: Возврат"));
    assert_eq!(m.meta("in_reply_to"), Some("reply-from-support.1@shop.example"));
}

#[test]
fn html_only_message_becomes_text() {
    let m = message(include_bytes!("../fixtures/html_only.eml"));
    assert!(m.text.contains("Курьер не приехал"), "{:?}", m.text);
    assert!(!m.text.contains("<p>"));
    assert_eq!(m.subject.as_deref(), Some("Заявка с сайта"));
}

#[test]
fn api_key_and_garbage() {
    let mut h = Harness::new().with_config(r#"{"api_key":"k"}"#);
    let body = include_bytes!("../fixtures/html_only.eml");
    let out = h.run(|| Email::handle(post("/hooks/email", &[], body)));
    assert!(matches!(out, Err(AdapterError::Unauthorized(_))));
    assert!(h.run(|| Email::handle(post("/hooks/email", &[("X-Api-Key", "k")], body))).is_ok());
    assert!(matches!(handle(b"no headers at all, no from"), Err(AdapterError::Malformed(_))));
}
