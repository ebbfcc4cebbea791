use super::*;
use clienthub_sdk::testing::only_follow_up;
use clienthub_sdk::testing::{Harness, post};

const CONFIG: &str = r#"{"api_key":"vpbx-key-1a2b","api_salt":"vpbx-salt-3c4d"}"#;

fn event(kind: &str, body: &[u8]) -> Result<AdapterOutput, AdapterError> {
    Harness::new()
        .with_config(CONFIG)
        .run(|| Mango::handle(post(&format!("/hooks/mango/events/{kind}"), &[], body)))
}

#[test]
fn answered_call_summary() {
    let m = only_follow_up(event("summary", include_bytes!("../fixtures/summary.txt")).unwrap());
    assert_eq!(m.conversation_key, "call:MjM1NTk4MzE5MzY6MTAx");
    assert_eq!(m.contact.phone.as_deref(), Some("+79161234567"));
    assert_eq!(m.text, "Call from 79161234567, 120 s");
    assert_eq!(m.meta("extension"), Some("101"));
    assert_eq!(m.meta("missed"), None);
}

#[test]
fn missed_call_is_marked_and_kept() {
    let m = only_follow_up(event("summary", include_bytes!("../fixtures/summary_missed.txt")).unwrap());
    assert_eq!(m.meta("missed"), Some("true"));
    assert_eq!(m.text, "Missed call from 79161234567");
}

#[test]
fn completed_recording_joins_the_call() {
    let m = only_follow_up(event("recording", include_bytes!("../fixtures/recording.txt")).unwrap());
    assert_eq!(m.conversation_key, "call:MjM1NTk4MzE5MzY6MTAx");
    assert_eq!(m.attachments[0].reference, "mango:MToxMDE0ODc3OTo0NDI2OTQ3NjQ6MA==");
}

#[test]
fn call_state_events_are_acknowledged_and_forged_signs_refused() {
    assert!(event("call", include_bytes!("../fixtures/call.txt")).unwrap().events.is_empty());
    let forged = String::from_utf8_lossy(include_bytes!("../fixtures/summary.txt"))
        .replace("79161234567", "79160000000");
    assert!(matches!(event("summary", forged.as_bytes()), Err(AdapterError::Unauthorized(_))));
    // With the key set, garbage is refused, not kept as a broken event.
    assert!(matches!(event("summary", b"x=1"), Err(AdapterError::Unauthorized(_))));
}
