use super::*;
use clienthub_sdk::testing::{Harness, post};

fn handle(body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    Harness::new().run(|| Email::handle(post("/hooks/email", &[("content-type", "message/rfc822")], body)))
}

fn message(body: &[u8]) -> InboundMessage {
    clienthub_sdk::testing::only_follow_up(handle(body).unwrap())
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

#[test]
fn a_reply_is_a_postmark_email_threaded_to_the_customer_message() {
    let m = message(include_bytes!("../fixtures/koi8r_reply.eml"));
    let mut appeal = clienthub_sdk::testing::appeal("email", &m.text);
    appeal.conversation_key = m.conversation_key.clone();
    appeal.subject = m.subject.clone();
    appeal.contact = m.contact.clone();
    appeal.metadata = m.metadata.clone();
    let call = Harness::new()
        .with_config(r#"{"postmark_token":"pm-token","from":"Поддержка <support@shop.example>"}"#)
        .run(|| Email::render_reply(appeal, clienthub_sdk::testing::reply("Возврат оформлен")))
        .unwrap();
    assert_eq!(call.url, "https://api.postmarkapp.com/email");
    assert!(call.headers.iter().any(|h| h.name == "x-postmark-server-token" && h.value == "pm-token"));
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["To"], m.contact.email.clone().unwrap());
    assert_eq!(body["From"], "Поддержка <support@shop.example>");
    assert_eq!(body["TextBody"], "Возврат оформлен");
    let id = m.meta("message_id").unwrap();
    let root = m.conversation_key.strip_prefix("thread:").unwrap();
    assert_ne!(id, root, "the fixture is a reply within a thread");
    assert_eq!(body["Headers"][0], serde_json::json!({"Name": "In-Reply-To", "Value": format!("<{id}>")}));
    assert_eq!(
        body["Headers"][1],
        serde_json::json!({"Name": "References", "Value": format!("<{root}> <{id}>")})
    );
    let subject = body["Subject"].as_str().unwrap();
    assert!(
        subject.to_lowercase().starts_with("re:") && !subject.to_lowercase().starts_with("re: re:"),
        "{subject}"
    );
}

#[test]
fn postmark_answers_are_read() {
    use clienthub_sdk::testing::answer;
    // https://postmarkapp.com/developer/api/email-api
    let ok = serde_json::json!({"To": "a@b.example", "SubmittedAt": "2026-11-23T10:00:00Z",
        "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d", "ErrorCode": 0, "Message": "OK"});
    assert_eq!(
        reply::read_answer(&answer(200, &ok)),
        ReplyOutcome::Sent(Some("0a129aee-e1cd-480d-b08d-4f48548ff48d".into()))
    );
    let bad = serde_json::json!({"ErrorCode": 300, "Message": "Invalid 'To' address: 'nope'."});
    assert_eq!(
        reply::read_answer(&answer(422, &bad)),
        ReplyOutcome::Failed("Postmark 422 (error 300): Invalid 'To' address: 'nope'.".into())
    );
    assert!(matches!(reply::read_answer(&answer(503, &serde_json::json!({}))), ReplyOutcome::Retry(_)));
}

#[test]
fn postmark_inbound_json_threads_by_the_real_headers_and_checks_basic_auth() {
    use base64::Engine;
    let body = include_bytes!("../fixtures/postmark_inbound.json");
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("postmark:s3cret"));
    let mut h = Harness::new().with_config(r#"{"inbound_basic_auth":"postmark:s3cret"}"#);
    let request = |auth: &str| {
        post("/hooks/email", &[("content-type", "application/json"), ("authorization", auth)], body)
    };
    let out = h.run(|| Email::handle(request(&auth))).unwrap();
    let m = clienthub_sdk::testing::only_follow_up(out);
    assert_eq!(m.platform_id, "CAF7kK2=Yq1@mail.example.ru");
    assert_eq!(m.conversation_key, "thread:first-4471@mail.example.ru");
    assert_eq!(m.text, "Фото упаковки во вложении.", "the stripped reply, without the quote");
    assert_eq!(m.contact.email.as_deref(), Some("irina.volkova@example.ru"));
    assert_eq!(m.meta("to"), Some("support@shop.example"));
    assert_eq!(m.attachments[0].file_name.as_deref(), Some("упаковка.jpg"));
    assert_eq!(m.attachments[0].kind, AttachmentKind::Photo);
    let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("postmark:guess"));
    assert!(matches!(h.run(|| Email::handle(request(&wrong))), Err(AdapterError::Unauthorized(_))));
}

#[test]
fn json_cannot_bypass_the_api_key() {
    let body = include_bytes!("../fixtures/postmark_inbound.json");
    let out = Harness::new()
        .with_config(r#"{"api_key":"k"}"#)
        .run(|| Email::handle(post("/hooks/email", &[("content-type", "application/json")], body)));
    assert!(matches!(out, Err(AdapterError::Unauthorized(_))));
}
