//! Checklists: a topic's steps ([`crate::directory::ChecklistItem`]) on each appeal of the
//! topic. Ticking an item off (or back) is a history event — [`Event::ChecklistDone`] /
//! [`Event::ChecklistUndone`] with the item and who — so the state is read from the history
//! and every tick says who and when. Resolving with a required item open is refused.

use crate::appeal::Appeal;
use crate::directory::{ChecklistItem, Directory};
use crate::event::Event;
use serde::Serialize;

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

/// The appeal's checklist with each item's state, from its history.
pub fn state(appeal: &Appeal, directory: &Directory) -> Vec<Item> {
    template(appeal, directory)
        .iter()
        .map(|item| {
            let last = appeal.history.iter().rev().find_map(|e| match &e.event {
                Event::ChecklistDone { item: id, by, .. } if *id == item.id => Some((e.at, true, by)),
                Event::ChecklistUndone { item: id, by, .. } if *id == item.id => Some((e.at, false, by)),
                _ => None,
            });
            let by = last.and_then(|(_, _, by)| by.as_ref());
            Item {
                id: item.id.clone(),
                text: item.text.clone(),
                required: item.required,
                done: last.is_some_and(|(_, done, _)| done),
                by: by.map(|who| crate::text::actor(who, crate::text::Lang::Ru, directory)),
                at: last.map(|(at, _, _)| at),
            }
        })
        .collect()
}

/// The texts of the required items still open.
pub fn missing(appeal: &Appeal, directory: &Directory) -> Vec<String> {
    state(appeal, directory).into_iter().filter(|i| i.required && !i.done).map(|i| i.text).collect()
}
