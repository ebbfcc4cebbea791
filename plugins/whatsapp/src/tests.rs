use super::*;
use clienthub_sdk::testing::only_follow_up;
use clienthub_sdk::testing::{Harness, post};

const SECRET: &str = "app-secret-3c9d";
const CONFIG: &str = r#"{"verify_token":"verify-me","app_secret":"app-secret-3c9d"}"#;

fn sign(body: &[u8]) -> String {
    format!("sha256={}", hex::encode(clienthub_sdk::auth::hmac_sha256(SECRET.as_bytes(), body)))
}

fn signed(body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    let signature = sign(body);
    Harness::new()
        .with_config(CONFIG)
        .run(|| WhatsApp::handle(post("/hooks/whatsapp", &[("X-Hub-Signature-256", &signature)], body)))
}

fn get(query: &str) -> HttpResponse {
    let mut request = post("/hooks/whatsapp", &[], b"");
    request.method = "GET".into();
    request.query = query.into();
    Harness::new().with_config(CONFIG).run(|| WhatsApp::handle(request)).unwrap().response
}

#[test]
fn subscription_check_echoes_the_challenge_only_for_the_right_token() {
    let ok = get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me");
    assert_eq!((ok.status, ok.body.as_slice()), (200, b"1158201444".as_slice()));
    assert_eq!(get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope").status, 403);
    assert_eq!(get("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-me").status, 403);
}

#[test]
fn text_message() {
    let m = only_follow_up(signed(include_bytes!("../fixtures/text.json")).unwrap());
    assert_eq!(m.platform_id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
    assert_eq!(m.conversation_key, "wa:16505551234");
    assert_eq!(m.text, "Does it come in another color?");
    assert_eq!(m.contact.name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(m.contact.phone.as_deref(), Some("+16505551234"));
    assert_eq!(m.sent_at, Some(1_749_416_383_000));
    assert_eq!(m.meta("phone_number_id"), Some("106540352242922"));
}

#[test]
fn image_reply_keeps_caption_media_and_context() {
    let m = only_follow_up(signed(include_bytes!("../fixtures/image_reply.json")).unwrap());
    assert_eq!(m.text, "Вот так пришла коробка");
    assert_eq!(m.attachments[0].reference, "1003383421387256");
    assert_eq!(m.attachments[0].mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(
        m.meta("reply_to_message_id"),
        Some("wamid.HBgLMTU1NTA3ODM4ODEVAgARGBI3QjI0RkU2QzVCMjM1QkQ4RTcA")
    );
}

#[test]
fn statuses_become_delivery_reports() {
    let out = signed(include_bytes!("../fixtures/statuses.json")).unwrap();
    let states: Vec<_> = out
        .events
        .iter()
        .map(|e| match e {
            Event::DeliveryStatus(s) => (s.state, s.detail.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(states[0], (DeliveryState::Delivered, None));
    assert_eq!(states[1].0, DeliveryState::Failed);
    assert!(states[1].1.as_deref().unwrap().starts_with("131026 Message undeliverable"));
}

#[test]
fn a_forged_or_missing_signature_is_refused() {
    let body = include_bytes!("../fixtures/text.json");
    let forged = "sha256=".to_string() + &"0".repeat(64);
    let mut h = Harness::new().with_config(CONFIG);
    let with = |h: &mut Harness, headers: &[(&str, &str)]| {
        h.run(|| WhatsApp::handle(post("/hooks/whatsapp", headers, body)))
    };
    assert!(matches!(with(&mut h, &[("X-Hub-Signature-256", &forged)]), Err(AdapterError::Unauthorized(_))));
    assert!(matches!(with(&mut h, &[]), Err(AdapterError::Unauthorized(_))));
    let tampered = String::from_utf8_lossy(body).replace("color", "colour");
    let signature = sign(body);
    let out = h.run(|| {
        WhatsApp::handle(post("/hooks/whatsapp", &[("x-hub-signature-256", &signature)], tampered.as_bytes()))
    });
    assert!(matches!(out, Err(AdapterError::Unauthorized(_))));
}

#[test]
fn a_reply_is_a_text_message_to_the_wa_id_quoting_the_customer() {
    let message = only_follow_up(signed(include_bytes!("../fixtures/text.json")).unwrap());
    let mut appeal = clienthub_sdk::testing::appeal("whatsapp", &message.text);
    appeal.platform_id = message.platform_id.clone();
    appeal.conversation_key = message.conversation_key.clone();
    appeal.metadata = message.metadata.clone();
    let call = Harness::new()
        .with_config(r#"{"access_token":"EAAG-token"}"#)
        .run(|| WhatsApp::render_reply(appeal, clienthub_sdk::testing::reply("Доставим завтра")))
        .unwrap();
    let phone = message.meta("phone_number_id").unwrap();
    assert_eq!(call.url, format!("https://graph.facebook.com/v21.0/{phone}/messages"));
    assert!(call.headers.iter().any(|h| h.name == "authorization" && h.value == "Bearer EAAG-token"));
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["to"], message.conversation_key.strip_prefix("wa:").unwrap());
    assert_eq!(body["type"], "text");
    assert_eq!(body["text"]["body"], "Доставим завтра");
    assert_eq!(body["context"]["message_id"], message.platform_id);
}

#[test]
fn cloud_api_answers_are_read_as_sent_retry_or_failed() {
    use clienthub_sdk::testing::answer;
    // https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
    let sent = serde_json::json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": "79161234567", "wa_id": "79161234567"}],
        "messages": [{"id": "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]
    });
    assert_eq!(
        reply::read_answer(&answer(200, &sent)),
        ReplyOutcome::Sent(Some("wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA".into()))
    );
    let throttled = serde_json::json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException",
        "code": 130429, "error_data": {"messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached."},
        "fbtrace_id": "A1b2C3"}});
    assert!(matches!(reply::read_answer(&answer(400, &throttled)), ReplyOutcome::Retry(_)));
    let window = serde_json::json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
        "code": 131047, "fbtrace_id": "A1b2C3"}});
    assert_eq!(
        reply::read_answer(&answer(400, &window)),
        ReplyOutcome::Failed("WhatsApp error 131047: (#131047) Re-engagement message".into())
    );
}
