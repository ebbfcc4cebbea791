//! Operator actions on an appeal — take into work, hand off (to an employee, a department,
//! or up the escalation ladder), pause, resume, resolve, reopen, reclassify (topic, region,
//! department), an internal note, a checklist tick — each checked against the appeal's state
//! and the directory, applied in one transaction and recorded in the history with who did it.
//! The CRM's status changes arrive as the same actions.

use super::{checklist, sla};
use crate::appeal::{Appeal, Status};
use crate::directory::Directory;
use crate::event::{Actor, Event, Place, RouteChange, RouteField};
use crate::refusal::Refusal;
use crate::store::Store;

/// What an operator does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Take into work (by `employee`, else by the current assignee).
    Take {
        /// Who takes it.
        employee: Option<String>,
    },
    /// Pass it on: to an employee, to a department, or to the next escalation level.
    HandOff {
        /// Where to.
        to: HandOffTo,
        /// Why, for the history.
        reason: Option<String>,
    },
    /// Wait for the customer or a third party: the SLA clock stops (up to the limit).
    Pause {
        /// Why, for the history.
        reason: Option<String>,
    },
    /// End a pause.
    Resume,
    /// Done.
    Resolve,
    /// Open a resolved appeal again.
    Reopen,
    /// Correct the route: another topic, region or department (the department follows the
    /// topic unless named). Deadlines follow the topic; a new department assigns anew.
    Reclassify {
        /// The new topic.
        topic: Option<String>,
        /// The new region.
        region: Option<String>,
        /// The new department.
        department: Option<String>,
        /// Why, for the history.
        reason: Option<String>,
    },
    /// An internal note: staff only, never sent to the customer.
    Note {
        /// The note.
        text: String,
    },
    /// Tick a checklist item off (or back).
    Tick {
        /// The item's id in the topic's checklist.
        item: String,
        /// Done or not.
        done: bool,
    },
}

/// Where a hand-off goes.
#[derive(Debug, Clone)]
pub enum HandOffTo {
    /// An employee (by id).
    Employee(String),
    /// A department (by id): the appeal waits there for assignment.
    Department(String),
    /// The department's `escalate_to`.
    NextLevel,
}

/// Applies `action` to the appeal; `by` is who did it (for the history).
///
/// # Errors
/// See [`Refusal`].
pub fn apply(store: &Store, appeal_id: &str, action: &Action, by: Option<&Actor>) -> Result<Appeal, Refusal> {
    apply_as(store, appeal_id, action, by, None)
}

/// As [`apply`], for an action a plugin took (a deal moved in the CRM): the events it records
/// name the plugin, so what the CRM did is not sent back to it.
///
/// # Errors
/// As [`apply`].
pub fn apply_for_plugin(
    store: &Store,
    appeal_id: &str,
    action: &Action,
    plugin: &str,
) -> Result<Appeal, Refusal> {
    apply_as(store, appeal_id, action, Some(&Actor::Plugin(plugin.to_string())), Some(plugin))
}

fn apply_as(
    store: &Store,
    appeal_id: &str,
    action: &Action,
    by: Option<&Actor>,
    plugin: Option<&str>,
) -> Result<Appeal, Refusal> {
    let directory = store.directory();
    let appeal =
        store.appeal(appeal_id)?.ok_or_else(|| Refusal::NotFound(format!("no appeal {appeal_id}")))?;
    check(&appeal, &directory, action)?;
    let now = store.now_ms();
    let limit = sla::pause_limit(&directory);
    let changed = store.change_appeal(appeal_id, |a| {
        let before = a.history.len();
        change(a, &directory, action, by, now, limit);
        for event in &mut a.history[before..] {
            event.plugin = event.plugin.take().or(plugin.map(str::to_string));
        }
    })?;
    changed.ok_or_else(|| Refusal::NotFound(format!("no appeal {appeal_id}")))
}

fn check(appeal: &Appeal, directory: &Directory, action: &Action) -> Result<(), Refusal> {
    let open = appeal.status.is_open();
    let state = || format!("appeal {} is {:?}", appeal.id, appeal.status).to_lowercase();
    match action {
        Action::Note { text } if text.trim().is_empty() => Err(Refusal::Invalid("the note is empty".into())),
        Action::Note { text } if text.chars().count() > 10_000 => {
            Err(Refusal::Invalid("a note holds at most 10,000 characters".into()))
        }
        Action::Note { .. } => Ok(()),
        Action::Reopen if appeal.status != Status::Resolved => {
            Err(Refusal::Conflict(format!("{}; only a resolved appeal reopens", state())))
        }
        Action::Resume if appeal.status != Status::Paused => {
            Err(Refusal::Conflict(format!("{}; only a paused appeal resumes", state())))
        }
        Action::Reopen | Action::Resume => Ok(()),
        _ if !open => Err(Refusal::Conflict(format!("{}; reopen it first", state()))),
        Action::Take { employee: Some(e) } | Action::HandOff { to: HandOffTo::Employee(e), .. }
            if !directory.employees.iter().any(|x| &x.id == e) =>
        {
            Err(Refusal::Invalid(format!("no employee '{e}' in the directory")))
        }
        Action::HandOff { to: HandOffTo::Department(d), .. }
            if !directory.departments.iter().any(|x| &x.id == d) =>
        {
            Err(Refusal::Invalid(format!("no department '{d}' in the directory")))
        }
        Action::Resolve if !checklist::missing(appeal, directory).is_empty() => {
            Err(Refusal::ChecklistOpen(checklist::missing(appeal, directory)))
        }
        Action::Tick { item, .. }
            if !checklist::template(appeal, directory).iter().any(|i| &i.id == item) =>
        {
            Err(Refusal::Invalid(format!("the appeal's checklist has no item '{item}'")))
        }
        Action::Reclassify { topic, region, department, .. } => {
            reclassifiable(directory, topic, region, department)
        }
        Action::HandOff { to: HandOffTo::NextLevel, .. } if next_level(appeal, directory).is_none() => {
            Err(Refusal::Conflict(format!(
                "department '{}' has no escalate_to",
                appeal.work.department.as_deref().unwrap_or("-")
            )))
        }
        _ => Ok(()),
    }
}

/// Whether a reclassification names things that exist (and names something).
fn reclassifiable(
    directory: &Directory,
    topic: &Option<String>,
    region: &Option<String>,
    department: &Option<String>,
) -> Result<(), Refusal> {
    if topic.is_none() && region.is_none() && department.is_none() {
        return Err(Refusal::Invalid("reclassify names a topic, a region or a department".into()));
    }
    let unknown = |kind: &str, id: &Option<String>, exists: &dyn Fn(&str) -> bool| match id {
        Some(id) if !exists(id) => Err(Refusal::Invalid(format!("no {kind} '{id}' in the directory"))),
        _ => Ok(()),
    };
    unknown("topic", topic, &|id| directory.topics.iter().any(|t| t.id == id))?;
    unknown("region", region, &|id| directory.regions.iter().any(|r| r.id == id))?;
    unknown("department", department, &|id| directory.departments.iter().any(|d| d.id == id))
}

/// Applies a reclassification; what changed, for the history.
fn reclassify(
    a: &mut Appeal,
    directory: &Directory,
    (topic, region, department): (&Option<String>, &Option<String>, &Option<String>),
    now: u64,
) -> Vec<RouteChange> {
    let mut changed = Vec::new();
    let decision = a.decision.get_or_insert_with(|| crate::appeal::Decision {
        queue: String::new(),
        region: None,
        department: None,
        topic: None,
        candidates: Vec::new(),
        strategy: "round-robin".into(),
        priority: "normal".into(),
        reaction_minutes: None,
        reason: String::new(),
    });
    if let Some(topic) = topic.as_ref().filter(|t| decision.topic.as_ref() != Some(*t)) {
        changed.push(RouteChange {
            field: RouteField::Topic,
            from: decision.topic.clone(),
            to: topic.clone(),
        });
        decision.topic = Some(topic.clone());
    }
    if let Some(region) = region.as_ref().filter(|r| a.work.region.as_ref() != Some(*r)) {
        changed.push(RouteChange {
            field: RouteField::Region,
            from: a.work.region.clone(),
            to: region.clone(),
        });
        decision.region = Some(region.clone());
        a.work.region = Some(region.clone());
    }
    let of_topic =
        topic.as_ref().and_then(|t| directory.topics.iter().find(|x| &x.id == t)).map(|t| &t.department);
    if let Some(target) = department.as_ref().or(of_topic).filter(|d| a.work.department.as_ref() != Some(*d))
    {
        let from = a.work.department.clone();
        changed.push(RouteChange { field: RouteField::Department, from, to: target.clone() });
        decision.department = Some(target.clone());
        decision.candidates.clear();
        move_to(a, directory, target, now);
        if a.status == Status::New || a.status == Status::Triage {
            a.status = Status::Routed;
        }
        if let (Some(queue), Some(decision)) = (&a.work.queue, a.decision.as_mut()) {
            decision.queue = queue.clone();
        }
    }
    let (reaction_due, resolution_due) = sla::deadlines(a, directory);
    a.work.reaction_due = reaction_due.or(a.work.reaction_due);
    a.work.resolution_due = resolution_due.or(a.work.resolution_due);
    changed
}

fn next_level(appeal: &Appeal, directory: &Directory) -> Option<String> {
    let current = appeal.work.department.as_deref()?;
    directory.departments.iter().find(|d| d.id == current)?.escalate_to.clone()
}

/// Moves an appeal to `department`: it waits there for an employee; the escalation clock restarts.
pub(super) fn move_to(appeal: &mut Appeal, directory: &Directory, department: &str, now: u64) {
    let queue = directory.departments.iter().find(|d| d.id == department).map(|d| d.queue.clone());
    appeal.work.department = Some(department.to_string());
    appeal.work.queue = queue.or(appeal.work.queue.take());
    appeal.work.assignee = None;
    appeal.work.assigned_at = None;
    appeal.work.since = now;
    if appeal.status == Status::InWork {
        appeal.status = Status::Routed;
    }
}

fn change(a: &mut Appeal, directory: &Directory, action: &Action, by: Option<&Actor>, now: u64, limit: u64) {
    let by = by.cloned();
    let end_pause = |a: &mut Appeal| {
        if a.work.paused_at.is_some() {
            a.work.paused_ms = sla::pause_credit(&a.work, limit, now);
            a.work.paused_at = None;
        }
    };
    let event = match action {
        Action::Take { employee } => {
            end_pause(a);
            if let Some(e) = employee.as_ref().filter(|e| a.work.assignee.as_ref() != Some(*e)) {
                a.work.assignee = Some(e.clone());
                a.work.assigned_at = Some(now);
            }
            if a.work.taken_at.is_none() {
                a.work.taken_at = Some(now);
                a.work.reaction_ms = Some(sla::elapsed(a, directory, now, false));
            }
            a.status = Status::InWork;
            Event::Taken { employee: a.work.assignee.clone(), by }
        }
        Action::HandOff { to, reason } => {
            let from = match (&a.work.assignee, &a.work.department) {
                (Some(e), _) => Some(Place::Employee(e.clone())),
                (None, Some(d)) => Some(Place::Department(d.clone())),
                (None, None) => None,
            };
            let reason = reason.clone();
            match to {
                HandOffTo::Employee(e) => {
                    a.work.assignee = Some(e.clone());
                    a.work.assigned_at = Some(now);
                    a.status = Status::Routed;
                    Event::HandedOff { from, to: Place::Employee(e.clone()), by, reason }
                }
                HandOffTo::Department(d) => {
                    move_to(a, directory, d, now);
                    Event::HandedOff { from, to: Place::Department(d.clone()), by, reason }
                }
                HandOffTo::NextLevel => {
                    let next = next_level(a, directory).unwrap_or_default();
                    let from = a.work.department.clone();
                    move_to(a, directory, &next, now);
                    a.work.escalations += 1;
                    Event::Escalated { from, to: next, by, reason, after_minutes: None }
                }
            }
        }
        Action::Pause { reason } => {
            a.status = Status::Paused;
            a.work.paused_at.get_or_insert(now);
            Event::Paused { by, reason: reason.clone() }
        }
        Action::Resume => {
            end_pause(a);
            a.status = if a.work.taken_at.is_some() { Status::InWork } else { Status::Routed };
            Event::Resumed { by }
        }
        Action::Resolve => {
            end_pause(a);
            a.status = Status::Resolved;
            a.work.resolved_at = Some(now);
            a.work.resolution_ms = Some(sla::elapsed(a, directory, now, true));
            Event::Resolved { by }
        }
        Action::Reclassify { topic, region, department, reason } => {
            let changes = reclassify(a, directory, (topic, region, department), now);
            Event::Reclassified { changes, by, reason: reason.clone() }
        }
        Action::Note { text } => Event::Note { by, text: text.trim().to_string() },
        Action::Tick { item, done } => {
            let Some(item) = checklist::template(a, directory).iter().find(|i| &i.id == item) else { return };
            let (item, text) = (item.id.clone(), item.text.clone());
            match done {
                true => Event::ChecklistDone { item, text, by },
                false => Event::ChecklistUndone { item, text, by },
            }
        }
        Action::Reopen => {
            a.status = match (a.decision.is_some(), a.work.taken_at.is_some() && a.work.assignee.is_some()) {
                (_, true) => Status::InWork,
                (true, false) => Status::Routed,
                (false, false) => Status::New,
            };
            a.work.resolved_at = None;
            a.work.resolution_ms = None;
            Event::Reopened { by }
        }
    };
    a.record(now, None, event);
}
