use super::*;
use clienthub_sdk::testing::{Harness, post};

const CONFIG: &str = r#"{"confirmation":"a1b2c3d4","secret":"vk-secret-7f3a","group_id":218765432}"#;

fn handle(h: &mut Harness, body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    h.run(|| Vk::handle(post("/hooks/vk", &[("content-type", "application/json")], body)))
}

fn follow_up(out: AdapterOutput) -> InboundMessage {
    assert_eq!(out.response.body, b"ok");
    clienthub_sdk::testing::only_follow_up(out)
}

#[test]
fn confirmation_is_answered_with_the_configured_string() {
    let out =
        handle(&mut Harness::new().with_config(CONFIG), include_bytes!("../fixtures/confirmation.json"))
            .unwrap();
    assert_eq!(out.response.body, b"a1b2c3d4");
    assert!(out.events.is_empty());
    // Verified by the community's id, but no string to answer with: kept for the admin.
    let unconfigured = handle(
        &mut Harness::new().with_config(r#"{"group_id":218765432}"#),
        include_bytes!("../fixtures/confirmation.json"),
    );
    assert!(matches!(unconfigured, Err(AdapterError::Malformed(_))));
}

#[test]
fn a_confirmation_is_answered_only_when_verified() {
    let refused = |config: &str, body: &str| {
        let out = handle(&mut Harness::new().with_config(config), body.as_bytes());
        matches!(out, Err(AdapterError::Unauthorized(_)))
    };
    let anonymous = r#"{"type":"confirmation","group_id":1}"#;
    // Nothing to verify it by: neither a secret nor a community configured.
    assert!(refused(r#"{"confirmation":"a1b2c3d4"}"#, anonymous));
    // Another community, or no community named.
    assert!(refused(CONFIG, anonymous));
    assert!(refused(r#"{"confirmation":"a1b2c3d4","group_id":218765432}"#, r#"{"type":"confirmation"}"#));
    // A wrong secret, even for the right community.
    let wrong = r#"{"type":"confirmation","group_id":218765432,"secret":"guess"}"#;
    assert!(refused(CONFIG, wrong));
    // The right secret verifies it when no community is configured.
    let signed = r#"{"type":"confirmation","group_id":5,"secret":"vk-secret-7f3a"}"#;
    let out = handle(
        &mut Harness::new().with_config(r#"{"confirmation":"c0de","secret":"vk-secret-7f3a"}"#),
        signed.as_bytes(),
    );
    assert_eq!(out.unwrap().response.body, b"c0de");
}

#[test]
fn message_new_5_131() {
    let m = follow_up(
        handle(&mut Harness::new().with_config(CONFIG), include_bytes!("../fixtures/message_new.json"))
            .unwrap(),
    );
    assert_eq!(m.platform_id, "5b1b5b4c8f1bbd5cf9ba7f0a2f0cbd1e8c03b6e1");
    assert_eq!(m.conversation_key, "peer:731552904");
    assert_eq!(m.contact.platform_user_id.as_deref(), Some("731552904"));
    assert_eq!(m.sent_at, Some(1_763_901_000_000));
    assert_eq!(m.meta("vk_kind"), Some("message"));
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].reference, "https://sun9-1.userapi.com/s/v1/ig2/large.jpg");
}

#[test]
fn message_new_before_5_103_is_the_message_itself() {
    let old = br#"{"type":"message_new","group_id":218765432,"secret":"vk-secret-7f3a","object":{"id":7,"date":1,"from_id":5,"peer_id":5,"text":"hi","attachments":[]}}"#;
    let m = follow_up(handle(&mut Harness::new().with_config(CONFIG), old).unwrap());
    assert_eq!(m.text, "hi");
    assert_eq!(m.platform_id, "message_new:7");
}

#[test]
fn wall_comment_carries_post_and_hashtags() {
    let m = follow_up(
        handle(&mut Harness::new().with_config(CONFIG), include_bytes!("../fixtures/wall_reply_new.json"))
            .unwrap(),
    );
    assert_eq!(m.conversation_key, "wall:-218765432_4471:640118273");
    assert_eq!(m.meta("vk_kind"), Some("comment"));
    assert_eq!(m.meta("post_id"), Some("4471"));
    assert_eq!(m.meta("comment_id"), Some("9912"));
    assert_eq!(m.meta("hashtag"), Some("#конкурс"));
}

#[test]
fn secret_and_group_are_checked() {
    let forged = String::from_utf8_lossy(include_bytes!("../fixtures/message_new.json"))
        .replace("vk-secret-7f3a", "guess");
    assert!(matches!(
        handle(&mut Harness::new().with_config(CONFIG), forged.as_bytes()),
        Err(AdapterError::Unauthorized(_))
    ));
    let other =
        String::from_utf8_lossy(include_bytes!("../fixtures/message_new.json")).replace("218765432", "1");
    assert!(matches!(
        handle(&mut Harness::new().with_config(CONFIG), other.as_bytes()),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn other_events_are_acknowledged_and_garbage_is_malformed() {
    let join = br#"{"type":"group_join","group_id":218765432,"event_id":"x","secret":"vk-secret-7f3a","object":{"user_id":1,"join_type":"join"}}"#;
    let out = handle(&mut Harness::new().with_config(CONFIG), join).unwrap();
    assert!(out.events.is_empty());
    assert_eq!(out.response.body, b"ok");
    assert!(matches!(handle(&mut Harness::new(), b"<html>"), Err(AdapterError::Malformed(_))));
}

fn form(call: &OutboundRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(&call.body).into_owned().collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn a_reply_to_a_community_message_is_messages_send_with_a_stable_random_id() {
    let mut h = Harness::new().with_config(r#"{"access_token":"vk1.a.token"}"#);
    let message =
        follow_up(handle(&mut Harness::new(), include_bytes!("../fixtures/message_new.json")).unwrap());
    let mut appeal = clienthub_sdk::testing::appeal("vk", &message.text);
    appeal.conversation_key = message.conversation_key.clone();
    appeal.metadata = message.metadata.clone();
    let call = h.run(|| Vk::render_reply(appeal.clone(), clienthub_sdk::testing::reply("Ответили"))).unwrap();
    assert_eq!(call.url, "https://api.vk.com/method/messages.send");
    let pairs = form(&call);
    assert_eq!(value(&pairs, "peer_id"), message.meta("peer_id"));
    assert_eq!(value(&pairs, "message"), Some("Ответили"));
    assert_eq!(value(&pairs, "v"), Some("5.199"));
    assert_eq!(value(&pairs, "access_token"), Some("vk1.a.token"));
    let again = h.run(|| Vk::render_reply(appeal, clienthub_sdk::testing::reply("Ответили"))).unwrap();
    assert_eq!(value(&form(&again), "random_id"), value(&pairs, "random_id"), "a retry keeps its random_id");
}

#[test]
fn a_reply_to_a_comment_is_wall_create_comment_under_the_post() {
    let mut h = Harness::new().with_config(r#"{"access_token":"vk1.a.token"}"#);
    let comment =
        follow_up(handle(&mut Harness::new(), include_bytes!("../fixtures/wall_reply_new.json")).unwrap());
    let mut appeal = clienthub_sdk::testing::appeal("vk", &comment.text);
    appeal.metadata = comment.metadata.clone();
    let call = h.run(|| Vk::render_reply(appeal, clienthub_sdk::testing::reply("Итоги в пятницу"))).unwrap();
    assert_eq!(call.url, "https://api.vk.com/method/wall.createComment");
    let pairs = form(&call);
    assert_eq!(value(&pairs, "owner_id"), comment.meta("owner_id"));
    assert_eq!(value(&pairs, "post_id"), comment.meta("post_id"));
    assert_eq!(value(&pairs, "reply_to_comment"), comment.meta("comment_id"));
    assert_eq!(value(&pairs, "guid"), Some("01REPLY"));
}

#[test]
fn vk_answers_are_read_including_errors_inside_a_200() {
    use clienthub_sdk::testing::answer;
    assert_eq!(
        reply::read_answer(&answer(200, &serde_json::json!({"response": 731}))),
        ReplyOutcome::Sent(Some("731".into()))
    );
    assert_eq!(
        reply::read_answer(&answer(
            200,
            &serde_json::json!({"response": {"comment_id": 12, "parents_stack": []}})
        )),
        ReplyOutcome::Sent(Some("12".into()))
    );
    // https://dev.vk.com/ru/reference/errors
    let flood = serde_json::json!({"error": {"error_code": 6, "error_msg": "Too many requests per second", "request_params": []}});
    assert!(matches!(reply::read_answer(&answer(200, &flood)), ReplyOutcome::Retry(_)));
    let denied = serde_json::json!({"error": {"error_code": 901, "error_msg": "Can't send messages for users without permission"}});
    assert_eq!(
        reply::read_answer(&answer(200, &denied)),
        ReplyOutcome::Failed("VK error 901: Can't send messages for users without permission".into())
    );
}

#[test]
fn with_a_secret_set_garbage_is_refused_not_kept_as_a_broken_event() {
    let refused = handle(&mut Harness::new().with_config(CONFIG), b"\x00garbage");
    assert!(matches!(refused, Err(AdapterError::Unauthorized(_))), "{refused:?}");
    let kept = handle(&mut Harness::new(), b"\x00garbage");
    assert!(
        matches!(kept, Err(AdapterError::Malformed(_))),
        "without a secret it is a broken event: {kept:?}"
    );
}
