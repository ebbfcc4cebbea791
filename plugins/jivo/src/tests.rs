use super::*;
use clienthub_sdk::testing::only_follow_up;
use clienthub_sdk::testing::{Harness, post};

const CONFIG: &str = r#"{"token":"jv-bot-7f3a9c21","provider_id":"clienthub"}"#;

fn handle(path: &str, body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    Harness::new()
        .with_config(CONFIG)
        .run(|| Jivo::handle(post(path, &[("content-type", "application/json")], body)))
}

#[test]
fn a_client_message_is_a_follow_up_in_its_chat() {
    let m = only_follow_up(
        handle("/hooks/jivo/jv-bot-7f3a9c21", include_bytes!("../fixtures/client_message.json")).unwrap(),
    );
    assert_eq!(m.platform_id, "9661ab9c-48b0-11ed-a3d6-859398ff9bd9");
    assert_eq!(m.conversation_key, "chat:2037");
    assert_eq!(m.contact.name.as_deref(), Some("Анна"));
    assert_eq!(m.meta("page_url"), Some("https://shop.example/catalog/kettles"));
    assert_eq!(m.sent_at, Some(1_763_900_700_000));
    assert!(m.text.contains("X-100"));
}

#[test]
fn a_photo_is_a_reference_with_name_and_size() {
    let m = only_follow_up(
        handle("/hooks/jivo/jv-bot-7f3a9c21", include_bytes!("../fixtures/client_photo.json")).unwrap(),
    );
    assert_eq!(m.attachments.len(), 1);
    let photo = &m.attachments[0];
    assert_eq!(photo.kind, AttachmentKind::Photo);
    assert_eq!(photo.reference, "https://files.jivosite.com/media/2037/kettle.jpg");
    assert_eq!((photo.size, photo.file_name.as_deref()), (Some(183_422), Some("kettle.jpg")));
}

#[test]
fn closing_is_acknowledged_and_a_wrong_token_refused() {
    assert!(
        handle("/hooks/jivo/jv-bot-7f3a9c21", include_bytes!("../fixtures/chat_closed.json"))
            .unwrap()
            .events
            .is_empty()
    );
    let forged = handle("/hooks/jivo/guess", include_bytes!("../fixtures/client_message.json"));
    assert!(matches!(forged, Err(AdapterError::Unauthorized(_))));
    assert!(matches!(
        handle("/hooks/jivo", include_bytes!("../fixtures/client_message.json")),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn a_reply_is_a_bot_message_to_the_chat() {
    let m = only_follow_up(
        handle("/hooks/jivo/jv-bot-7f3a9c21", include_bytes!("../fixtures/client_message.json")).unwrap(),
    );
    let mut appeal = clienthub_sdk::testing::appeal("jivo", &m.text);
    appeal.metadata = m.metadata.clone();
    let call = Harness::new()
        .with_config(CONFIG)
        .run(|| Jivo::render_reply(appeal, clienthub_sdk::testing::reply("Есть, 3 штуки")))
        .unwrap();
    assert_eq!(call.url, "https://bot.jivosite.com/webhooks/clienthub/jv-bot-7f3a9c21");
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["event"], "BOT_MESSAGE");
    assert_eq!((body["client_id"].as_str(), body["chat_id"].as_str()), (Some("1233"), Some("2037")));
    assert_eq!(body["message"]["type"], "TEXT");
    assert_eq!(body["message"]["text"], "Есть, 3 штуки");
    assert_eq!(body["id"], "01REPLY");
}
