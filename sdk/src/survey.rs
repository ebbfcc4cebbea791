//! Questions to customers with answers to pick (the rating after a resolution): the plain-text
//! form for channels without buttons, and the payload a button carries and the event a pick
//! becomes for channels with them.

use crate::{Contact, Event, InboundMessage, MetaEntry, OutboundSurvey};

/// The question and its numbered options as text (`… 1 — плохо, 5 — отлично`), for channels
/// whose customers answer by typing the number.
pub fn as_text(survey: &OutboundSurvey) -> String {
    let options: Vec<String> = survey.options.iter().map(|o| format!("{} — {}", o.value, o.label)).collect();
    format!("{}\n{}", survey.question, options.join(", "))
}

/// A button's payload: `s:<survey id>:<value>` (short: Telegram allows 64 bytes).
pub fn payload(survey_id: &str, value: &str) -> String {
    format!("s:{survey_id}:{value}")
}

/// The survey id and value of a button's payload, when it is one.
pub fn read_payload(payload: &str) -> Option<(&str, &str)> {
    let rest = payload.strip_prefix("s:")?;
    let (id, value) = rest.rsplit_once(':')?;
    (!id.is_empty() && !value.is_empty()).then_some((id, value))
}

/// The follow-up event a picked answer becomes: in `conversation_key`, idempotent on
/// `platform_id`, carrying `survey_id` and `survey_answer` for the host to record.
pub fn answer_event(
    platform_id: String,
    conversation_key: String,
    contact: Contact,
    survey_id: &str,
    value: &str,
) -> Event {
    Event::FollowUp(InboundMessage {
        platform_id,
        conversation_key,
        sent_at: None,
        contact,
        subject: None,
        text: String::new(),
        attachments: Vec::new(),
        metadata: vec![MetaEntry::new("survey_id", survey_id), MetaEntry::new("survey_answer", value)],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn payloads_round_trip_and_strangers_are_not_payloads() {
        let payload = super::payload("01KAPPEAL", "5");
        assert_eq!(payload, "s:01KAPPEAL:5");
        assert_eq!(super::read_payload(&payload), Some(("01KAPPEAL", "5")));
        assert_eq!(super::read_payload("like"), None);
        assert_eq!(super::read_payload("s::5"), None);
    }
}
