use super::*;
use clienthub_sdk::testing::only_follow_up;
use clienthub_sdk::testing::{Harness, answer, post};

const CONFIG: &str = r#"{"url_secret":"ok-hook-secret-0042","access_token":"tkn1-group"}"#;

fn handle(query: &str, body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    let mut request = post("/hooks/ok", &[("content-type", "application/json;charset=utf-8")], body);
    request.query = query.into();
    Harness::new().with_config(CONFIG).run(|| Odnoklassniki::handle(request))
}

const SECRET: &str = "secret=ok-hook-secret-0042";

#[test]
fn a_chat_message_is_a_follow_up_in_its_chat_keyed_by_mid() {
    let out = handle(SECRET, include_bytes!("../fixtures/message_created.json")).unwrap();
    assert_eq!(out.response.body, br#"{"success":true}"#);
    let m = only_follow_up(out);
    assert_eq!(m.platform_id, "mid:C3ecb9d02a600.15cea67d78d2059");
    assert_eq!(m.conversation_key, "chat:C3ecb9d02a600");
    assert_eq!(m.contact.name.as_deref(), Some("Марина Кузнецова"));
    assert_eq!(m.contact.platform_user_id.as_deref(), Some("user:577318372190"));
    assert_eq!(m.sent_at, Some(1_763_900_400_123));
    assert!(m.text.contains("Заказ 4471"));
}

#[test]
fn attachments_are_kept_as_references() {
    let m = only_follow_up(handle(SECRET, include_bytes!("../fixtures/message_image.json")).unwrap());
    assert_eq!(m.attachments.len(), 2);
    assert_eq!(m.attachments[0].kind, AttachmentKind::Photo);
    assert_eq!(m.attachments[0].reference, "https://i.mycdn.me/i?r=AzEPZsRbOZEKgBhR0XGMT1Rk");
    assert_eq!(m.attachments[1].kind, AttachmentKind::Other);
}

#[test]
fn system_events_are_acknowledged_without_events_and_a_wrong_secret_is_refused() {
    assert!(handle(SECRET, include_bytes!("../fixtures/chat_system.json")).unwrap().events.is_empty());
    let forged = handle("secret=guess", include_bytes!("../fixtures/message_created.json"));
    assert!(matches!(forged, Err(AdapterError::Unauthorized(_))));
    assert!(matches!(
        handle("", include_bytes!("../fixtures/message_created.json")),
        Err(AdapterError::Unauthorized(_))
    ));
    assert!(matches!(handle(SECRET, b"<html>"), Err(AdapterError::Malformed(_))));
}

#[test]
fn a_reply_posts_to_the_chat_with_the_token_in_the_query() {
    let m = only_follow_up(handle(SECRET, include_bytes!("../fixtures/message_created.json")).unwrap());
    let mut appeal = clienthub_sdk::testing::appeal("ok", &m.text);
    appeal.conversation_key = m.conversation_key.clone();
    appeal.metadata = m.metadata.clone();
    let call = Harness::new()
        .with_config(CONFIG)
        .run(|| Odnoklassniki::render_reply(appeal, clienthub_sdk::testing::reply("Инструкция во вложении")))
        .unwrap();
    assert_eq!(call.url, "https://api.ok.ru/graph/me/messages/chat:C3ecb9d02a600?access_token=tkn1-group");
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["recipient"]["chat_id"], "chat:C3ecb9d02a600");
    assert_eq!(body["message"]["text"], "Инструкция во вложении");
    assert_eq!(
        reply::read_answer(&answer(
            200,
            &serde_json::json!({"chat_id": "chat:C3ecb9d02a600", "message_id": "mid:C3ecb9d02a600.15cea67d78d3000"})
        )),
        ReplyOutcome::Sent(Some("mid:C3ecb9d02a600.15cea67d78d3000".into()))
    );
    let denied =
        serde_json::json!({"error_code": 102, "error_msg": "PARAM_SESSION_EXPIRED : Session expired"});
    assert!(matches!(reply::read_answer(&answer(200, &denied)), ReplyOutcome::Failed(_)));
}
