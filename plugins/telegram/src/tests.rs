use super::*;
use clienthub_sdk::testing::only_follow_up;
use clienthub_sdk::testing::{Harness, post};

fn handle(
    harness: &mut Harness,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<AdapterOutput, AdapterError> {
    harness.run(|| Telegram::handle(post("/hooks/telegram", headers, body)))
}

#[test]
fn text_message_becomes_a_follow_up_keyed_by_update_id() {
    let out = handle(&mut Harness::new(), &[], include_bytes!("../fixtures/text.json")).unwrap();
    assert_eq!(out.response.status, 200);
    let m = only_follow_up(out);
    assert_eq!(m.platform_id, "815371203");
    assert_eq!(m.conversation_key, "chat:379412057");
    assert_eq!(m.contact.name.as_deref(), Some("Анна Смирнова"));
    assert_eq!(m.contact.platform_user_id.as_deref(), Some("379412057"));
    assert_eq!(m.sent_at, Some(1_763_900_000_000));
    assert!(m.text.starts_with("Здравствуйте!"));
    assert_eq!(m.meta("hashtag"), Some("#возврат"));
}

#[test]
fn photo_keeps_largest_size_and_caption() {
    let out = handle(&mut Harness::new(), &[], include_bytes!("../fixtures/photo.json")).unwrap();
    let m = only_follow_up(out);
    assert_eq!(m.text, "Вот фото брака #конкурс");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].reference, "AgACAgIAAxkBAAIBZ2VhLWlarge");
    assert_eq!(m.attachments[0].size, Some(84213));
    assert_eq!(m.meta("hashtag"), Some("#конкурс"));
}

#[test]
fn edited_message_is_marked() {
    let out = handle(&mut Harness::new(), &[], include_bytes!("../fixtures/edited.json")).unwrap();
    let m = only_follow_up(out);
    assert_eq!(m.meta("edited"), Some("true"));
    assert_eq!(m.sent_at, Some(1_763_900_120_000));
}

#[test]
fn secret_token_is_enforced_when_configured() {
    let mut h = Harness::new().with_config(r#"{"secret_token":"s3cret"}"#);
    let body = include_bytes!("../fixtures/text.json");
    assert!(matches!(handle(&mut h, &[], body), Err(AdapterError::Unauthorized(_))));
    let wrong = [("X-Telegram-Bot-Api-Secret-Token", "nope")];
    assert!(matches!(handle(&mut h, &wrong, body), Err(AdapterError::Unauthorized(_))));
    let right = [("x-telegram-bot-api-secret-token", "s3cret")];
    assert!(handle(&mut h, &right, body).is_ok());
}

#[test]
fn garbage_is_malformed_and_other_updates_are_acknowledged() {
    assert!(matches!(handle(&mut Harness::new(), &[], b"{not json"), Err(AdapterError::Malformed(_))));
    let callback = br#"{"update_id":1,"callback_query":{"id":"4382","from":{"id":1,"is_bot":false,"first_name":"A"},"chat_instance":"1","data":"x"}}"#;
    let out = handle(&mut Harness::new(), &[], callback).unwrap();
    assert!(out.events.is_empty());
}

#[test]
fn document_is_kept_as_a_reference_with_type_size_and_name() {
    let out = handle(&mut Harness::new(), &[], include_bytes!("../fixtures/document.json")).unwrap();
    let m = only_follow_up(out);
    assert_eq!(m.text, "Чек по заказу");
    let doc = &m.attachments[0];
    assert_eq!(doc.kind, clienthub_sdk::AttachmentKind::Document);
    assert_eq!(doc.reference, "BQACAgIAAxkBAAIBaGVhLXpdf");
    assert_eq!(doc.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(doc.size, Some(48211));
    assert_eq!(doc.file_name.as_deref(), Some("Чек_88123.pdf"));
}

fn chat_appeal() -> Appeal {
    let mut appeal = clienthub_sdk::testing::appeal("telegram", "Где мой заказ?");
    appeal.conversation_key = "chat:379412057".into();
    appeal.metadata = vec![MetaEntry::new("message_id", "1024"), MetaEntry::new("chat_id", "379412057")];
    appeal
}

#[test]
fn a_reply_is_send_message_to_the_chat_quoting_the_customer() {
    let mut harness = Harness::new().with_config(r#"{"bot_token":"123456:ABC-def"}"#);
    let call = harness
        .run(|| Telegram::render_reply(chat_appeal(), clienthub_sdk::testing::reply("Заказ в пути")))
        .unwrap();
    assert_eq!(call.method, "POST");
    assert_eq!(call.url, "https://api.telegram.org/bot123456:ABC-def/sendMessage");
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "chat_id": 379412057,
            "text": "Заказ в пути",
            "reply_parameters": {"message_id": 1024, "allow_sending_without_reply": true}
        })
    );
}

#[test]
fn without_a_bot_token_a_reply_is_refused_with_the_reason() {
    let error = Harness::new()
        .run(|| Telegram::render_reply(chat_appeal(), clienthub_sdk::testing::reply("x")))
        .unwrap_err();
    assert!(error.contains("bot_token"), "{error}");
}

#[test]
fn bot_api_answers_are_read_as_sent_retry_or_failed() {
    use clienthub_sdk::testing::answer;
    let sent =
        reply::read_answer(&answer(200, &serde_json::json!({"ok": true, "result": {"message_id": 77}})));
    assert_eq!(sent, ReplyOutcome::Sent(Some("77".into())));
    // https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
    let limited = answer(
        429,
        &serde_json::json!({"ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}}),
    );
    match reply::read_answer(&limited) {
        ReplyOutcome::Retry(later) => assert_eq!(later.after_ms, Some(3000)),
        other => panic!("{other:?}"),
    }
    let blocked = answer(
        403,
        &serde_json::json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    );
    assert_eq!(
        reply::read_answer(&blocked),
        ReplyOutcome::Failed("Telegram 403: Forbidden: bot was blocked by the user".into())
    );
}

#[test]
fn a_date_past_the_millisecond_range_is_stored_saturated() {
    let body = br#"{"update_id": 1, "message": {"message_id": 1, "date": 9223372036854775807,
        "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "A"},
        "text": "hi"}}"#;
    let m = only_follow_up(handle(&mut Harness::new(), &[], body).unwrap());
    assert_eq!(m.sent_at, Some(u64::MAX), "saturated, not wrapped to a time in the past");
}
