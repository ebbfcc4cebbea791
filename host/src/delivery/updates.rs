//! What one event of an appeal means for its CRM record (`crm-update`): the owner after a
//! take, hand-off or escalation, the state its stage should show, a timeline line in Russian
//! and the files. An event the CRM itself caused (a stage moved in Bitrix24) is not sent back
//! to it: no echo.

use crate::appeal::{Appeal, HistoryEvent};
use crate::directory::Directory;
use crate::runtime::wit;
use crate::store::crm_updates::UpdateMark;

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
    let by = actor(event).map(|who| format!(" ({})", name_of(who, directory))).unwrap_or_default();
    let reason = reason(event).map(|r| format!(": {r}")).unwrap_or_default();
    let (state, moves_owner, comment) = match event.stage.as_str() {
        "assigned" => (None, true, format!("Назначено: {owner_name}")),
        "taken" => (Some(wit::CrmState::InWork), true, format!("Взято в работу: {owner_name}{by}")),
        "handed_off" => {
            let to = match &mark.owner {
                Some(_) => owner_name,
                None => appeal.work.department.clone().unwrap_or_default(),
            };
            (None, true, format!("Передано: {to}{by}{reason}"))
        }
        "escalated" => {
            let to = appeal.work.department.clone().unwrap_or_default();
            (None, true, format!("Эскалация в отдел {to}{by}{reason}"))
        }
        "paused" => (Some(wit::CrmState::Paused), false, format!("Пауза{by}{reason}")),
        "resumed" => (Some(wit::CrmState::InWork), false, format!("Работа возобновлена{by}")),
        "resolved" => (Some(wit::CrmState::Resolved), false, format!("Обращение решено{by}")),
        "reopened" => (Some(wit::CrmState::Reopened), false, format!("Обращение открыто снова{by}")),
        "overdue" => (Some(wit::CrmState::Overdue), false, format!("Нарушен срок SLA: {}", event.detail)),
        "note" => (None, false, format!("Заметка: {}", event.detail)),
        "reply_sent" | "reply_failed" => (None, false, reply_line(appeal, event, directory)?),
        "file_stored" => (None, false, format!("Файл от клиента: {}", event.detail)),
        "message" => {
            return Some(update(appeal, index, mark, event, None, None, None, Some(event.detail.clone())));
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
        stage: event.stage.clone(),
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

/// Who acted (`… by <who>` in the event's detail).
fn actor(event: &HistoryEvent) -> Option<&str> {
    let after = event.detail.split_once(" by ")?.1;
    Some(after.split_once(": ").map_or(after, |(who, _)| who)).filter(|w| !w.is_empty())
}

/// The reason given (`…: <reason>` after the actor, or after the event's own words).
fn reason(event: &HistoryEvent) -> Option<&str> {
    let tail = event.detail.split_once(" by ").map_or(event.detail.as_str(), |(_, rest)| rest);
    tail.split_once(": ").map(|(_, r)| r.trim()).filter(|r| !r.is_empty())
}

/// The reply a `reply_sent` or `reply_failed` event (`reply <id> …`) is about.
pub fn reply_id(event: &HistoryEvent) -> Option<&str> {
    if !event.stage.starts_with("reply_") {
        return None;
    }
    event.detail.strip_prefix("reply ")?.split([' ', ':']).next()
}

/// A reply's timeline line: its author, its text and, when it failed, the platform's error.
fn reply_line(appeal: &Appeal, event: &HistoryEvent, directory: &Directory) -> Option<String> {
    let id = reply_id(event)?;
    let reply = appeal.replies.iter().find(|r| r.id == id)?;
    let author = reply.author.as_deref().map_or_else(|| "ClientHub".to_string(), |a| name_of(a, directory));
    Some(match event.stage.as_str() {
        "reply_sent" => format!("Ответ клиенту отправлен ({author}):\n{}", reply.text),
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

    fn directory() -> Directory {
        serde_json::from_value(serde_json::json!({
            "employees": [{"id": "e-2", "name": "Олег Петров", "department": "service", "crm_user_id": "23"}]
        }))
        .unwrap()
    }

    #[test]
    fn a_hand_off_moves_the_owner_a_crm_resolution_is_not_echoed_and_replies_name_their_author() {
        let mut appeal = Appeal { id: "01A".into(), ..Appeal::default() };
        appeal.record(1, "handed_off", None, "from e-1 to e-2 by Анна: клиент просит мастера");
        appeal.record(2, "resolved", Some("bitrix24@0.2.0".into()), "resolved by bitrix24@0.2.0");
        appeal.replies.push(Reply {
            id: "R1".into(),
            text: "Мастер приедет завтра".into(),
            author: Some("e-2".into()),
            error: Some("Forbidden: bot was blocked by the user".into()),
            ..Reply::default()
        });
        appeal.record(3, "reply_failed", None, "reply R1 failed: Forbidden: bot was blocked by the user");
        let mark = UpdateMark { owner: Some("e-2".into()), tried: true };
        let hand_off = update_of(&appeal, 0, &mark, "bitrix24", &directory()).unwrap();
        assert_eq!(hand_off.owner.unwrap().crm_user_id.as_deref(), Some("23"));
        assert_eq!(hand_off.comment.as_deref(), Some("Передано: Олег Петров (Анна): клиент просит мастера"));
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
