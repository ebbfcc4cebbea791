//! The history as records before format 3 kept it: a stage and English words per entry. Read
//! once, when such a record is loaded, into typed events: the stages whose words are plainly
//! one value (a drop reason, a follow-up's text, a rating, a checklist tick) become their
//! typed event; every other entry stays an [`Event::Legacy`] with its words as written. This is
//! the only place old words are read, and only old records reach it.

use crate::appeal::HistoryEvent;
use crate::event::Event;
use serde::{Deserialize, Serialize};

/// One history entry as records before format 3 kept it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OldEvent {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    /// The stage (`received`, `handed_off`, …).
    pub stage: String,
    /// The plugin that acted, as `name@version`.
    pub plugin: Option<String>,
    /// The words written.
    pub detail: String,
}

impl From<OldEvent> for HistoryEvent {
    fn from(old: OldEvent) -> Self {
        let OldEvent { at, stage, plugin, detail } = old;
        let event = match stage.as_str() {
            "kept" => Event::Kept,
            "unrouted" => Event::Unrouted,
            "dropped" => Event::Dropped { reason: detail },
            "triage" => Event::Triage { error: detail },
            "filter_failed" => Event::FilterFailed { error: detail },
            "message" => Event::Message { text: detail, attachments: 0 },
            "rated" | "rated_low" => match detail.split('/').next().and_then(|s| s.parse().ok()) {
                Some(score) if stage == "rated" => Event::Rated { score },
                Some(score) => Event::RatedLow { score },
                None => Event::Legacy { stage, detail },
            },
            // `item: text — who`: the item's id is what the checklist's state needs.
            "checklist_done" | "checklist_undone" => match detail.split_once(": ") {
                Some((item, rest)) => {
                    let text = rest.rsplit_once(" — ").map_or(rest, |(text, _)| text).to_string();
                    let item = item.to_string();
                    match stage.as_str() {
                        "checklist_done" => Event::ChecklistDone { item, text, by: None },
                        _ => Event::ChecklistUndone { item, text, by: None },
                    }
                }
                None => Event::Legacy { stage, detail },
            },
            _ => Event::Legacy { stage, detail },
        };
        HistoryEvent { at, plugin, event }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old(stage: &str, detail: &str) -> HistoryEvent {
        OldEvent { at: 1, stage: stage.into(), plugin: None, detail: detail.into() }.into()
    }

    #[test]
    fn old_entries_keep_their_stage_and_words() {
        assert_eq!(old("dropped", "contest noise").event, Event::Dropped { reason: "contest noise".into() });
        assert_eq!(old("rated_low", "2/5").event, Event::RatedLow { score: 2 });
        assert_eq!(
            old("checklist_done", "photo: Фото чека — Анна (e-1)").event,
            Event::ChecklistDone { item: "photo".into(), text: "Фото чека".into(), by: None }
        );
        let handed = old("handed_off", "from e-1 to e-2 by Анна: клиент просит мастера");
        assert_eq!(handed.event.stage(), "handed_off");
        assert_eq!(
            crate::text::render(&handed.event, crate::text::Lang::Ru, &crate::text::NoNames),
            "from e-1 to e-2 by Анна: клиент просит мастера"
        );
    }
}
