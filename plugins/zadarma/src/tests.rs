use super::*;
use clienthub_sdk::testing::only_follow_up;
use clienthub_sdk::testing::{Harness, post};

const FORM: &str = "application/x-www-form-urlencoded";

fn notify(body: &[u8], signature: &str) -> Result<AdapterOutput, AdapterError> {
    Harness::new().with_config(r#"{"secret":"test-secret"}"#).run(|| {
        Zadarma::handle(post("/hooks/zadarma", &[("content-type", FORM), ("Signature", signature)], body))
    })
}

#[test]
fn answered_call_with_recording() {
    let m = only_follow_up(
        notify(include_bytes!("../fixtures/notify_end.txt"), include_str!("../fixtures/notify_end.sig"))
            .unwrap(),
    );
    assert_eq!(m.platform_id, "in_f4b6a1c2d3e4f5a6b7c8d9e0:end");
    assert_eq!(m.conversation_key, "call:in_f4b6a1c2d3e4f5a6b7c8d9e0");
    assert_eq!(m.contact.phone.as_deref(), Some("+79161234567"));
    assert_eq!(m.text, "Call from 79161234567, 125 s");
    assert_eq!(m.meta("duration_seconds"), Some("125"));
    assert_eq!(m.meta("missed"), None);
    assert_eq!(m.attachments[0].kind, AttachmentKind::CallRecording);
    assert_eq!(m.attachments[0].reference, "zadarma:1763881200.123456");
}

#[test]
fn missed_call_is_kept_and_marked() {
    let body = include_bytes!("../fixtures/notify_end_missed.txt");
    let m = only_follow_up(notify(body, include_str!("../fixtures/notify_end_missed.sig")).unwrap());
    assert_eq!(m.meta("missed"), Some("true"));
    assert_eq!(m.text, "Missed call from 79161234567 (no answer)");
    assert!(m.attachments.is_empty());
}

#[test]
fn recording_joins_the_call() {
    let m = only_follow_up(
        notify(
            include_bytes!("../fixtures/notify_record.txt"),
            include_str!("../fixtures/notify_record.sig"),
        )
        .unwrap(),
    );
    assert_eq!(m.conversation_key, "call:in_f4b6a1c2d3e4f5a6b7c8d9e0");
    assert_eq!(m.attachments[0].reference, "zadarma:1763881200.123456");
}

#[test]
fn forged_signature_echo_and_start() {
    let body = include_bytes!("../fixtures/notify_end.txt");
    assert!(matches!(notify(body, "Zm9yZ2Vk"), Err(AdapterError::Unauthorized(_))));
    let mut echo = post("/hooks/zadarma", &[], b"");
    echo.method = "GET".into();
    echo.query = "zd_echo=a1b2c3".into();
    assert_eq!(Harness::new().run(|| Zadarma::handle(echo)).unwrap().response.body, b"a1b2c3");
    let start = b"event=NOTIFY_START&call_start=2026-11-23+10%3A00%3A00&pbx_call_id=in_1&caller_id=79161234567&called_did=74951234567";
    let out = Harness::new().run(|| Zadarma::handle(post("/hooks/zadarma", &[], start))).unwrap();
    assert!(out.events.is_empty());
    assert!(matches!(
        Harness::new().run(|| Zadarma::handle(post("/hooks/zadarma", &[], b"x=1"))),
        Err(AdapterError::Malformed(_))
    ));
}

#[test]
fn with_a_secret_set_garbage_is_refused_not_kept_as_a_broken_notification() {
    assert!(matches!(notify(b"junk=1", "x"), Err(AdapterError::Unauthorized(_))));
}

#[test]
fn an_end_counts_as_verified_only_for_the_call_id_a_signed_start_bound() {
    let signature = include_str!("../fixtures/notify_end.sig");
    let end = String::from_utf8(include_bytes!("../fixtures/notify_end.txt").to_vec()).unwrap();
    // NOTIFY_START signs the same fields as NOTIFY_END: caller_id, called_did, call_start.
    let start = "event=NOTIFY_START&call_start=2026-11-23+10%3A00%3A00&pbx_call_id=in_f4b6a1c2d3e4f5a6b7c8d9e0\
                 &caller_id=79161234567&called_did=74951234567";
    let mut harness = Harness::new().with_config(r#"{"secret":"test-secret"}"#);
    let mut send = |body: &str| {
        harness.run(|| {
            let headers = [("content-type", FORM), ("Signature", signature)];
            Zadarma::handle(post("/hooks/zadarma", &headers, body.as_bytes()))
        })
    };
    // Before any start: kept, marked.
    assert!(only_follow_up(send(&end).unwrap()).meta("unverified").is_some());
    assert!(send(start).unwrap().events.is_empty());
    assert_eq!(only_follow_up(send(&end).unwrap()).meta("unverified"), None, "bound by the start");
    // The captured signature replayed with another call id: a start cannot rebind the fields,
    // and the end is marked.
    let forged_start = start.replace("in_f4b6a1c2d3e4f5a6b7c8d9e0", "in_forged");
    assert!(send(&forged_start).unwrap().events.is_empty());
    let forged_end = only_follow_up(send(&end.replace("in_f4b6a1c2d3e4f5a6b7c8d9e0", "in_forged")).unwrap());
    assert_eq!(forged_end.conversation_key, "call:in_forged");
    assert!(forged_end.meta("unverified").is_some());
}
