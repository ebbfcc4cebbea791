//! What one event of an appeal means for its CRM record (`crm-update`): the owner after a
//! take, hand-off or escalation, the state its stage should show, a timeline line in Russian
//! and the files. An event the CRM itself caused (a stage moved in Bitrix24) is not sent back
//! to it: no echo.

use crate::appeal::{Appeal, HistoryEvent};
use crate::directory::Directory;
use crate::event::{Clock, Event, Place};
use crate::runtime::wit;
use crate::store::crm_updates::UpdateMark;
use crate::text::{self, Lang};

/// The largest file sent to the CRM; a larger one is named in the comment instead.
pub const CRM_FILE_MAX: usize = 10 << 20;

/// The update event `index` of `appeal` makes, without files (the worker adds them); `None`
/// when the record needs nothing. `crm_name` is the connector's plugin name.
pub fn update_of(
    appeal: &Appeal,
    index: u32,
    mark: &UpdateMark,
    crm_name: &str,
    directory: &Directory,
) -> Option<wit::CrmUpdate> {
    let event = appeal.history.get(index as usize)?;
    if event.plugin.as_deref().is_some_and(|p| p.split('@').next() == Some(crm_name)) {
        return None;
    }
    let owner = mark.owner.as_deref().and_then(|id| assignee(id, directory));
    let owner_name = owner.as_ref().map_or_else(|| "—".to_string(), |o| o.name.clone());
    let by = event
        .event
        .actor()
        .map(|who| format!(" ({})", text::actor(who, Lang::Ru, directory)))
        .unwrap_or_default();
    let reason = event.event.reason().map(|r| format!(": {r}")).unwrap_or_default();
    let department = |id: &str| text::Names::department(directory, id).unwrap_or(id).to_string();
    let (state, moves_owner, comment) = match &event.event {
        Event::Assigned { .. } => (None, true, format!("Назначено: {owner_name}")),
        Event::Taken { .. } => {
            (Some(wit::CrmState::InWork), true, format!("Взято в работу: {owner_name}{by}"))
        }
        Event::HandedOff { to, .. } => {
            let to = match (to, &mark.owner) {
                (_, Some(_)) => owner_name,
                (Place::Department(d), None) => department(d),
                (Place::Employee(e), None) => e.clone(),
            };
            (None, true, format!("Передано: {to}{by}{reason}"))
        }
        Event::Escalated { to, .. } => {
            (None, true, format!("Эскалация в отдел «{}»{by}{reason}", department(to)))
        }
        Event::Paused { .. } => (Some(wit::CrmState::Paused), false, format!("Пауза{by}{reason}")),
        Event::Resumed { .. } => (Some(wit::CrmState::InWork), false, format!("Работа возобновлена{by}")),
        Event::Resolved { .. } => (Some(wit::CrmState::Resolved), false, format!("Обращение решено{by}")),
        Event::Reopened { .. } => {
            (Some(wit::CrmState::Reopened), false, format!("Обращение открыто снова{by}"))
        }
        Event::Overdue { clock, late_minutes } => {
            let clock = match clock {
                Clock::Reaction => "реакция",
                Clock::Resolution => "решение",
            };
            (
                Some(wit::CrmState::Overdue),
                false,
                format!("Нарушен срок SLA: {clock}, {late_minutes} мин просрочки"),
            )
        }
        Event::Note { text, .. } => (None, false, format!("Заметка{by}: {text}")),
        Event::ReplySent { .. } | Event::ReplyFailed { .. } => {
            (None, false, reply_line(appeal, &event.event, directory)?)
        }
        Event::FileStored { .. } => {
            (None, false, format!("Файл от клиента: {}", text::render(&event.event, Lang::Ru, directory)))
        }
        Event::Message { text, .. } => {
            return Some(update(appeal, index, mark, event, None, None, None, Some(text.clone())));
        }
        _ => return None,
    };
    let owner = if moves_owner { owner } else { None };
    Some(update(appeal, index, mark, event, owner, state, Some(comment), None))
}

#[allow(clippy::too_many_arguments, reason = "one record's fields")]
fn update(
    appeal: &Appeal,
    index: u32,
    mark: &UpdateMark,
    event: &HistoryEvent,
    owner: Option<wit::CrmAssignee>,
    state: Option<wit::CrmState>,
    comment: Option<String>,
    customer_message: Option<String>,
) -> wit::CrmUpdate {
    wit::CrmUpdate {
        event_id: format!("{}:{index}", appeal.id),
        retried: mark.tried,
        stage: event.stage().to_string(),
        owner,
        state,
        comment,
        customer_message,
        files: Vec::new(),
        reply_origin: None,
    }
}

/// The employee `id` as the CRM sees them.
pub fn assignee(id: &str, directory: &Directory) -> Option<wit::CrmAssignee> {
    let employee = directory.employees.iter().find(|e| e.id == id)?;
    Some(wit::CrmAssignee {
        employee_id: employee.id.clone(),
        name: employee.name.clone(),
        crm_user_id: employee.crm_user_id.clone(),
    })
}

/// An employee's name, or `who` as it is (a CRM user, a plugin).
fn name_of(who: &str, directory: &Directory) -> String {
    directory.employees.iter().find(|e| e.id == who).map_or_else(|| who.to_string(), |e| e.name.clone())
}

/// A reply's timeline line: its author, its text and, when it failed, the platform's error.
fn reply_line(appeal: &Appeal, event: &Event, directory: &Directory) -> Option<String> {
    let id = event.reply()?;
    let reply = appeal.replies.iter().find(|r| r.id == id)?;
    let author = reply.author.as_deref().map_or_else(|| "ClientHub".to_string(), |a| name_of(a, directory));
    Some(match event {
        Event::ReplySent { .. } => format!("Ответ клиенту отправлен ({author}):\n{}", reply.text),
        _ => format!(
            "Ответ клиенту НЕ доставлен ({author}): {}\n{}",
            reply.error.as_deref().unwrap_or("ошибка платформы"),
            reply.text
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appeal::Reply;
    use crate::event::Actor;

    fn directory() -> Directory {
        serde_json::from_value(serde_json::json!({
            "employees": [
                {"id": "e-1", "name": "Анна Смирнова", "department": "service"},
                {"id": "e-2", "name": "Олег Петров", "department": "service", "crm_user_id": "23"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_hand_off_moves_the_owner_a_crm_resolution_is_not_echoed_and_replies_name_their_author() {
        let mut appeal = Appeal { id: "01A".into(), ..Appeal::default() };
        let (anna, reason) =
            (Some(Actor::Employee("e-1".into())), Some("клиент просит мастера: срочно".into()));
        let to = Place::Employee("e-2".into());
        appeal.record(
            1,
            None,
            Event::HandedOff { from: Some(Place::Employee("e-1".into())), to, by: anna, reason },
        );
        let crm = Some(Actor::Plugin("bitrix24@0.2.0".into()));
        appeal.record(2, Some("bitrix24@0.2.0".into()), Event::Resolved { by: crm });
        appeal.replies.push(Reply {
            id: "R1".into(),
            text: "Мастер приедет завтра".into(),
            author: Some("e-2".into()),
            error: Some("Forbidden: bot was blocked by the user".into()),
            ..Reply::default()
        });
        let error = "Forbidden: bot was blocked by the user".to_string();
        appeal.record(3, None, Event::ReplyFailed { reply: "R1".into(), attempt: 1, error, gave_up: false });
        let mark = UpdateMark { owner: Some("e-2".into()), tried: true };
        let hand_off = update_of(&appeal, 0, &mark, "bitrix24", &directory()).unwrap();
        assert_eq!(hand_off.owner.unwrap().crm_user_id.as_deref(), Some("23"));
        assert_eq!(
            hand_off.comment.as_deref(),
            Some("Передано: Олег Петров (Анна Смирнова): клиент просит мастера: срочно")
        );
        assert_eq!((hand_off.event_id.as_str(), hand_off.retried), ("01A:0", true));
        assert!(update_of(&appeal, 1, &mark, "bitrix24", &directory()).is_none(), "the CRM did it: no echo");
        let elsewhere = update_of(&appeal, 1, &mark, "amocrm", &directory()).unwrap();
        assert_eq!(elsewhere.state, Some(wit::CrmState::Resolved));
        let failed = update_of(&appeal, 2, &mark, "bitrix24", &directory()).unwrap();
        assert_eq!(
            failed.comment.as_deref(),
            Some(
                "Ответ клиенту НЕ доставлен (Олег Петров): Forbidden: bot was blocked by the user\nМастер приедет завтра"
            )
        );
    }
}
