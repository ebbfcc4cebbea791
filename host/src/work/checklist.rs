//! Checklists: a topic's steps ([`crate::directory::ChecklistItem`]) on each appeal of the
//! topic. Ticking an item off (or back) is a history event — `checklist_done` /
//! `checklist_undone` with `item: text — who` — so the state is read from the history and
//! every tick says who and when. Resolving with a required item open is refused.

use crate::appeal::Appeal;
use crate::directory::{ChecklistItem, Directory};
use serde::Serialize;

/// The history stage of an item ticked off.
pub const DONE: &str = "checklist_done";
/// The history stage of an item ticked back.
pub const UNDONE: &str = "checklist_undone";

/// An item of an appeal's checklist and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The item's id.
    pub id: String,
    /// What to do.
    pub text: String,
    /// Needed before resolving.
    pub required: bool,
    /// Ticked off.
    pub done: bool,
    /// Who ticked it last (either way).
    pub by: Option<String>,
    /// When.
    pub at: Option<u64>,
}

/// The checklist the appeal's topic gives it.
pub fn template<'a>(appeal: &Appeal, directory: &'a Directory) -> &'a [ChecklistItem] {
    let topic = appeal.decision.as_ref().and_then(|d| d.topic.as_deref());
    directory.topics.iter().find(|t| Some(t.id.as_str()) == topic).map_or(&[], |t| &t.checklist)
}

/// The history detail of a tick.
pub fn detail(item: &ChecklistItem, by: &str) -> String {
    format!("{}: {} — {by}", item.id, item.text)
}

/// The appeal's checklist with each item's state, from its history.
pub fn state(appeal: &Appeal, directory: &Directory) -> Vec<Item> {
    template(appeal, directory)
        .iter()
        .map(|item| {
            let last = appeal.history.iter().rev().find(|e| {
                (e.stage == DONE || e.stage == UNDONE)
                    && e.detail.split_once(": ").map(|(id, _)| id) == Some(&item.id)
            });
            Item {
                id: item.id.clone(),
                text: item.text.clone(),
                required: item.required,
                done: last.is_some_and(|e| e.stage == DONE),
                by: last.and_then(|e| e.detail.rsplit_once(" — ")).map(|(_, by)| by.to_string()),
                at: last.map(|e| e.at),
            }
        })
        .collect()
}

/// The texts of the required items still open.
pub fn missing(appeal: &Appeal, directory: &Directory) -> Vec<String> {
    state(appeal, directory).into_iter().filter(|i| i.required && !i.done).map(|i| i.text).collect()
}
