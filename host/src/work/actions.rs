//! Operator actions on an appeal — take into work, hand off (to an employee, a department,
//! or up the escalation ladder), pause, resume, resolve, reopen — each checked against the
//! appeal's state and the directory, applied in one transaction and recorded in the history.
//! The CRM's status changes arrive as the same actions.

use super::sla;
use crate::appeal::{Appeal, Status};
use crate::directory::Directory;
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

/// Applies `action` to the appeal; `by` names who did it (for the history).
///
/// # Errors
/// See [`Refusal`].
pub fn apply(store: &Store, appeal_id: &str, action: &Action, by: Option<&str>) -> Result<Appeal, Refusal> {
    let directory = store.directory();
    let appeal =
        store.appeal(appeal_id)?.ok_or_else(|| Refusal::NotFound(format!("no appeal {appeal_id}")))?;
    check(&appeal, &directory, action)?;
    let now = store.now_ms();
    let limit = sla::pause_limit(&directory);
    let changed = store.change_appeal(appeal_id, |a| change(a, &directory, action, by, now, limit))?;
    changed.ok_or_else(|| Refusal::NotFound(format!("no appeal {appeal_id}")))
}

fn check(appeal: &Appeal, directory: &Directory, action: &Action) -> Result<(), Refusal> {
    let open = appeal.status.is_open();
    let state = || format!("appeal {} is {:?}", appeal.id, appeal.status).to_lowercase();
    match action {
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
        Action::HandOff { to: HandOffTo::NextLevel, .. } if next_level(appeal, directory).is_none() => {
            Err(Refusal::Conflict(format!(
                "department '{}' has no escalate_to",
                appeal.work.department.as_deref().unwrap_or("-")
            )))
        }
        _ => Ok(()),
    }
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

fn change(a: &mut Appeal, directory: &Directory, action: &Action, by: Option<&str>, now: u64, limit: u64) {
    let by = by.map(|b| format!(" by {b}")).unwrap_or_default();
    let note = |reason: &Option<String>| reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
    let end_pause = |a: &mut Appeal| {
        if a.work.paused_at.is_some() {
            a.work.paused_ms = sla::pause_credit(&a.work, limit, now);
            a.work.paused_at = None;
        }
    };
    match action {
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
            let who = a.work.assignee.clone().unwrap_or_else(|| "someone".into());
            a.record(now, "taken", None, format!("taken into work: {who}{by}"));
        }
        Action::HandOff { to, reason } => {
            let from = a.work.assignee.clone().or(a.work.department.clone()).unwrap_or_default();
            match to {
                HandOffTo::Employee(e) => {
                    a.work.assignee = Some(e.clone());
                    a.work.assigned_at = Some(now);
                    a.status = Status::Routed;
                    a.record(now, "handed_off", None, format!("from {from} to {e}{by}{}", note(reason)));
                }
                HandOffTo::Department(d) => {
                    move_to(a, directory, d, now);
                    a.record(
                        now,
                        "handed_off",
                        None,
                        format!("from {from} to department {d}{by}{}", note(reason)),
                    );
                }
                HandOffTo::NextLevel => {
                    let next = next_level(a, directory).unwrap_or_default();
                    move_to(a, directory, &next, now);
                    a.work.escalations += 1;
                    a.record(
                        now,
                        "escalated",
                        None,
                        format!("from {from} to department {next}{by}{}", note(reason)),
                    );
                }
            }
        }
        Action::Pause { reason } => {
            a.status = Status::Paused;
            a.work.paused_at.get_or_insert(now);
            a.record(now, "paused", None, format!("paused{by}{}", note(reason)));
        }
        Action::Resume => {
            end_pause(a);
            a.status = if a.work.taken_at.is_some() { Status::InWork } else { Status::Routed };
            a.record(now, "resumed", None, format!("resumed{by}"));
        }
        Action::Resolve => {
            end_pause(a);
            a.status = Status::Resolved;
            a.work.resolved_at = Some(now);
            a.work.resolution_ms = Some(sla::elapsed(a, directory, now, true));
            a.record(now, "resolved", None, format!("resolved{by}"));
        }
        Action::Reopen => {
            a.status = match (a.decision.is_some(), a.work.taken_at.is_some() && a.work.assignee.is_some()) {
                (_, true) => Status::InWork,
                (true, false) => Status::Routed,
                (false, false) => Status::New,
            };
            a.work.resolved_at = None;
            a.work.resolution_ms = None;
            a.record(now, "reopened", None, format!("reopened{by}"));
        }
    }
}
