//! An event in words for people: Russian first, English on request, with the directory's names
//! in place of ids ([`Names`]). Plugins' and people's own words (a drop reason, a note, a
//! platform's error) are quoted as they were written.

use crate::appeal::{AttachmentKind, ReplyState};
use crate::event::{
    Actor, Clock, Event, FileProblem, NoticeKind, NoticeOutcome, Origin, Place, RouteField, Strategy,
    Unavailable, WaitReason,
};

/// The reader's language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    /// Russian (the default).
    #[default]
    Ru,
    /// English.
    En,
}

impl Lang {
    /// The language a `lang` parameter or an `Accept-Language` header asks for: English when
    /// it prefers English to Russian, Russian otherwise.
    pub fn parse(text: &str) -> Lang {
        let text = text.to_ascii_lowercase();
        match (text.find("en"), text.find("ru")) {
            (Some(en), Some(ru)) if en < ru => Lang::En,
            (Some(_), None) => Lang::En,
            _ => Lang::Ru,
        }
    }

    /// `ru` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

/// The directory's names for ids. An id with no name is shown as it is.
pub trait Names {
    /// An employee's name.
    fn employee(&self, id: &str) -> Option<&str>;
    /// A department's name.
    fn department(&self, id: &str) -> Option<&str>;
    /// A region's name.
    fn region(&self, id: &str) -> Option<&str>;
    /// A topic's name.
    fn topic(&self, id: &str) -> Option<&str>;
    /// The name of the department a queue belongs to.
    fn queue(&self, id: &str) -> Option<&str>;
}

/// No names known: ids as they are.
pub struct NoNames;

impl Names for NoNames {
    fn employee(&self, _: &str) -> Option<&str> {
        None
    }
    fn department(&self, _: &str) -> Option<&str> {
        None
    }
    fn region(&self, _: &str) -> Option<&str> {
        None
    }
    fn topic(&self, _: &str) -> Option<&str> {
        None
    }
    fn queue(&self, _: &str) -> Option<&str> {
        None
    }
}

/// `event` in words, in `lang`, naming people and places by `names`.
pub fn render(event: &Event, lang: Lang, names: &dyn Names) -> String {
    Words { lang, names }.event(event)
}

/// Who acted, in words (`Ольга Петрова`, `клиент`, a service's or plugin's name).
pub fn actor(actor: &Actor, lang: Lang, names: &dyn Names) -> String {
    Words { lang, names }.actor(actor)
}

/// The stage's title (`Передано`, `Handed off`), for a column or a notice.
pub fn stage_title(stage: &str, lang: Lang) -> &str {
    let pair = match stage {
        "received" => ("Получено", "Received"),
        "kept" => ("Пропущено фильтром", "Kept"),
        "tagged" => ("Метки", "Tagged"),
        "dropped" => ("Отсеяно", "Dropped"),
        "filter_failed" => ("Сбой фильтра", "Filter failed"),
        "unrouted" => ("Не распределено", "Unrouted"),
        "routed" => ("Распределено", "Routed"),
        "triage" => ("На разборе", "Triage"),
        "message" => ("Сообщение", "Message"),
        "reply_requested" => ("Запрошен ответ", "Reply requested"),
        "reply_queued" => ("Ответ в очереди", "Reply queued"),
        "reply_sent" => ("Ответ отправлен", "Reply sent"),
        "reply_retry" => ("Повтор ответа", "Reply retried"),
        "reply_failed" => ("Ответ не доставлен", "Reply failed"),
        "delivery_status" => ("Статус доставки", "Delivery status"),
        "crm_delivered" => ("Передано в CRM", "Delivered to the CRM"),
        "crm_retry" => ("CRM недоступна", "CRM unavailable"),
        "crm_failed" => ("CRM отказала", "CRM refused"),
        "assigned" => ("Назначено", "Assigned"),
        "returned" => ("Вернулось в очередь", "Back in the queue"),
        "waiting" => ("Ждёт исполнителя", "Waiting"),
        "taken" => ("Взято в работу", "Taken"),
        "handed_off" => ("Передано", "Handed off"),
        "escalated" => ("Эскалация", "Escalated"),
        "paused" => ("Пауза", "Paused"),
        "resumed" => ("Продолжено", "Resumed"),
        "resolved" => ("Решено", "Resolved"),
        "reopened" => ("Открыто снова", "Reopened"),
        "reclassified" => ("Маршрут изменён", "Reclassified"),
        "note" => ("Заметка", "Note"),
        "checklist_done" => ("Пункт выполнен", "Checklist item done"),
        "checklist_undone" => ("Пункт снят", "Checklist item undone"),
        "overdue" => ("Просрочено", "Overdue"),
        "overdue_notice" => ("Уведомление о просрочке", "Overdue notice"),
        "notice" => ("Уведомление", "Notice"),
        "rated" => ("Оценка", "Rated"),
        "rated_low" => ("Низкая оценка", "Low rating"),
        "erased" => ("Данные удалены", "Erased"),
        "created" => ("Создано вручную", "Created"),
        "reprocessed" => ("Обработано заново", "Reprocessed"),
        "reprocess_failed" => ("Повторная обработка не удалась", "Reprocessing failed"),
        "file_stored" => ("Файл сохранён", "File stored"),
        "file_failed" => ("Файл не сохранён", "File failed"),
        _ => return stage,
    };
    match lang {
        Lang::Ru => pair.0,
        Lang::En => pair.1,
    }
}

/// A notice kind's title (`Новое обращение`, `New appeal`).
pub fn notice_title(kind: NoticeKind, lang: Lang) -> &'static str {
    let (ru, en) = match kind {
        NoticeKind::New => ("Новое обращение", "New appeal"),
        NoticeKind::Assigned => ("Назначено", "Assigned"),
        NoticeKind::HandedOff => ("Передано", "Handed off"),
        NoticeKind::Escalated => ("Эскалация", "Escalated"),
        NoticeKind::Overdue => ("Просрочено", "Overdue"),
        NoticeKind::Csat => ("Оценка помощи", "Rating request"),
        NoticeKind::RatedLow => ("Низкая оценка клиента", "Low rating"),
    };
    if lang == Lang::Ru { ru } else { en }
}

struct Words<'a> {
    lang: Lang,
    names: &'a dyn Names,
}

impl Words<'_> {
    /// Russian or English.
    fn say(&self, ru: String, en: String) -> String {
        match self.lang {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }

    fn named(id: &str, name: Option<&str>) -> String {
        name.filter(|n| !n.is_empty()).unwrap_or(id).to_string()
    }

    fn employee(&self, id: &str) -> String {
        Self::named(id, self.names.employee(id))
    }

    fn department(&self, id: &str) -> String {
        Self::named(id, self.names.department(id))
    }

    fn queue(&self, id: &str) -> String {
        Self::named(id, self.names.queue(id))
    }

    fn actor(&self, actor: &Actor) -> String {
        match actor {
            Actor::Employee(id) => self.employee(id),
            Actor::Service(name) | Actor::Plugin(name) => name.clone(),
            Actor::Customer => self.say("клиент".into(), "the customer".into()),
        }
    }

    /// ` — Ольга` / ` by Olga`, or nothing.
    fn by(&self, by: &Option<Actor>) -> String {
        match by {
            Some(who) => self.say(format!(" — {}", self.actor(who)), format!(" by {}", self.actor(who))),
            None => String::new(),
        }
    }

    /// `: <reason>`, or nothing.
    fn because(reason: &Option<String>) -> String {
        reason
            .as_ref()
            .filter(|r| !r.trim().is_empty())
            .map(|r| format!(": {}", r.trim()))
            .unwrap_or_default()
    }

    fn place(&self, place: &Place) -> String {
        match place {
            Place::Employee(id) => self.employee(id),
            Place::Department(id) => self.say(
                format!("отдел «{}»", self.department(id)),
                format!("department {}", self.department(id)),
            ),
        }
    }

    fn route_value(&self, field: RouteField, id: &str) -> String {
        let name = match field {
            RouteField::Topic => self.names.topic(id),
            RouteField::Region => self.names.region(id),
            RouteField::Department => self.names.department(id),
        };
        Self::named(id, name)
    }

    fn unavailable(&self, why: Unavailable) -> &'static str {
        let (ru, en) = match why {
            Unavailable::Inactive => ("не работает", "is inactive"),
            Unavailable::Off => ("не на работе", "is not at work (off)"),
            Unavailable::Away => ("нет на месте", "is away"),
            Unavailable::OffWork => ("нерабочее время", "is off work"),
            Unavailable::DayOff => ("выходной", "has a day off"),
            Unavailable::Full => ("нет мест", "is full"),
        };
        if self.lang == Lang::Ru { ru } else { en }
    }

    fn outcome(&self, outcome: &NoticeOutcome) -> String {
        match outcome {
            NoticeOutcome::Sent { channel, recipient } => self
                .say(format!("отправлено: {channel} {recipient}"), format!("sent to {channel} {recipient}")),
            NoticeOutcome::Failed { channel, recipient, error } => self.say(
                format!("не отправлено: {channel} {recipient}: {error}"),
                format!("to {channel} {recipient} failed: {error}"),
            ),
            NoticeOutcome::NoChat => self.say(
                "у исполнителя не указан чат для уведомлений".into(),
                "the assignee has no notice chat".into(),
            ),
            NoticeOutcome::Asked => self.say(
                "клиента попросили оценить помощь".into(),
                "the customer was asked to rate the help".into(),
            ),
            NoticeOutcome::NotAsked(why) => {
                self.say(format!("оценку не запросили: {why}"), format!("not asked: {why}"))
            }
        }
    }

    fn minutes(ms: u64) -> String {
        let s = ms as f64 / 1000.0;
        format!("{s:.1}")
    }

    #[expect(clippy::too_many_lines, reason = "one arm per kind of event, each a pair of phrases")]
    fn event(&self, event: &Event) -> String {
        match event {
            Event::Received { raw_request } => {
                self.say(format!("исходный запрос {raw_request}"), format!("raw request {raw_request}"))
            }
            Event::Kept => String::new(),
            Event::Tagged { tags } => tags.join(", "),
            Event::Dropped { reason }
            | Event::Triage { error: reason }
            | Event::FilterFailed { error: reason } => reason.clone(),
            Event::Unrouted => self.say("нет активного маршрутизатора".into(), "no router is active".into()),
            Event::Routed { queue, topic, region, department, reason } => {
                let mut parts =
                    vec![self.say(
                        format!("очередь «{}»", self.queue(queue)),
                        format!("queue {}", self.queue(queue)),
                    )];
                if let Some(t) = topic {
                    let t = self.route_value(RouteField::Topic, t);
                    parts.push(self.say(format!("тема «{t}»"), format!("topic {t}")));
                }
                if let Some(r) = region {
                    let r = self.route_value(RouteField::Region, r);
                    parts.push(self.say(format!("регион «{r}»"), format!("region {r}")));
                }
                if let Some(d) = department {
                    let d = self.department(d);
                    parts.push(self.say(format!("отдел «{d}»"), format!("department {d}")));
                }
                let reason = if reason.is_empty() { String::new() } else { format!(": {reason}") };
                format!("{}{reason}", parts.join(", "))
            }
            Event::Message { text, attachments: 0 } => text.clone(),
            Event::Message { text, attachments } => self.say(
                format!("{text} (+{attachments} влож.)"),
                format!("{text} (+{attachments} attachments)"),
            ),
            Event::ReplyRequested { author, text } => {
                let who = author.clone().unwrap_or_else(|| self.say("неизвестно".into(), "unknown".into()));
                self.say(
                    format!("ответ запрошен ({who}): {text}"),
                    format!("reply requested by {who}: {text}"),
                )
            }
            Event::ReplyQueued { reply, by, again: false } => self.say(
                format!("ответ {reply} в очереди{}", self.by(by)),
                format!("reply {reply} queued{}", self.by(by)),
            ),
            Event::ReplyQueued { reply, by, again: true } => self.say(
                format!("ответ {reply} снова в очереди{}", self.by(by)),
                format!("reply {reply} queued again{}", self.by(by)),
            ),
            Event::ReplySent { reply, message, attempt } => {
                let as_message = message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default();
                self.say(
                    format!("ответ {reply} отправлен{as_message}, попытка {attempt}"),
                    format!("reply {reply} sent{as_message} (attempt {attempt})"),
                )
            }
            Event::ReplyRetry { reply, attempt, error, next_in_ms } => self.say(
                format!(
                    "ответ {reply}: попытка {attempt} не прошла ({error}); следующая через {} с",
                    Self::minutes(*next_in_ms)
                ),
                format!(
                    "reply {reply}: attempt {attempt} did not go through ({error}); next in {} s",
                    Self::minutes(*next_in_ms)
                ),
            ),
            Event::ReplyFailed { reply, attempt, error, gave_up: true } => self.say(
                format!("ответ {reply}: попытки прекращены после {attempt}: {error}"),
                format!("reply {reply}: gave up after {attempt} attempts: {error}"),
            ),
            Event::ReplyFailed { reply, error, .. } => self.say(
                format!("ответ {reply} не доставлен: {error}"),
                format!("reply {reply} failed: {error}"),
            ),
            Event::DeliveryStatus { reply, state, detail } => {
                let (ru, en) = match state {
                    ReplyState::Queued => ("в очереди", "queued"),
                    ReplyState::Sent => ("отправлен", "sent"),
                    ReplyState::Delivered => ("доставлен", "delivered"),
                    ReplyState::Read => ("прочитан", "read"),
                    ReplyState::Failed => ("не доставлен", "failed"),
                };
                let detail = detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default();
                self.say(format!("ответ {reply} {ru}{detail}"), format!("reply {reply} {en}{detail}"))
            }
            Event::CrmDelivered { entity, id } => {
                self.say(format!("{entity} {id} в CRM"), format!("{entity} {id} in the CRM"))
            }
            Event::CrmRetry { error } => self.say(
                format!("CRM недоступна, повтор: {error}"),
                format!("the CRM is unavailable, retrying: {error}"),
            ),
            Event::CrmFailed { error, update: true } => self.say(
                format!("CRM отказала в обновлении записи: {error}"),
                format!("an update of the CRM record was refused: {error}"),
            ),
            Event::CrmFailed { error, update: false } => {
                self.say(format!("{error} (ждёт в очереди CRM)"), format!("{error} (kept in the CRM outbox)"))
            }
            Event::Assigned { employee, strategy, open } => {
                let who = self.employee(employee);
                let (ru, en) = match strategy {
                    Strategy::RoundRobin => ("по очереди", "round-robin"),
                    Strategy::LeastLoaded => ("наименее загруженному", "least-loaded"),
                };
                self.say(format!("{who} ({ru}, открытых: {open})"), format!("to {who} by {en}, {open} open"))
            }
            Event::Returned { from, minutes } => {
                let who = self.employee(from);
                self.say(
                    format!("{who} не на работе уже {minutes} мин"),
                    format!("{who} has been off for {minutes} min"),
                )
            }
            Event::Waiting { queue, reason } => {
                let queue = self.queue(queue);
                let why = match reason {
                    WaitReason::NobodyServes => self.say(
                        "в этом отделе и регионе никто не работает".into(),
                        "nobody serves this department and region".into(),
                    ),
                    WaitReason::NobodyFree(people) => {
                        let list: Vec<String> = people
                            .iter()
                            .map(|(id, why)| match self.lang {
                                Lang::Ru => format!("{} — {}", self.employee(id), self.unavailable(*why)),
                                Lang::En => format!("{} {}", self.employee(id), self.unavailable(*why)),
                            })
                            .collect();
                        self.say(
                            format!("сейчас никто не может взять: {}", list.join(", ")),
                            format!("nobody can take it now: {}", list.join(", ")),
                        )
                    }
                };
                self.say(format!("в очереди «{queue}»: {why}"), format!("in queue {queue}: {why}"))
            }
            Event::Taken { employee, by } => {
                let who = employee.as_deref().map(|e| self.employee(e));
                let who = who.unwrap_or_else(|| self.say("кем-то".into(), "someone".into()));
                let by = match (by, employee) {
                    (Some(Actor::Employee(b)), Some(e)) if b == e => String::new(),
                    _ => self.by(by),
                };
                self.say(format!("взято в работу: {who}{by}"), format!("taken into work: {who}{by}"))
            }
            Event::HandedOff { from, to, by, reason } => {
                let from = from.as_ref().map(|f| self.place(f)).unwrap_or_else(|| "—".into());
                let to = self.place(to);
                let (by, why) = (self.by(by), Self::because(reason));
                self.say(format!("{from} → {to}{by}{why}"), format!("from {from} to {to}{by}{why}"))
            }
            Event::Escalated { from, to, by, reason, after_minutes } => {
                let from = from.as_deref().map(|f| self.department(f)).unwrap_or_else(|| "—".into());
                let to = self.department(to);
                match after_minutes {
                    Some(after) => self.say(
                        format!("не взято за {after} мин в отделе «{from}»: передано в «{to}»"),
                        format!("not taken within {after} min in {from}: moved to {to}"),
                    ),
                    None => {
                        let (by, why) = (self.by(by), Self::because(reason));
                        self.say(
                            format!("из отдела «{from}» в отдел «{to}»{by}{why}"),
                            format!("from {from} to department {to}{by}{why}"),
                        )
                    }
                }
            }
            Event::Paused { by, reason } => {
                let (by, why) = (self.by(by), Self::because(reason));
                self.say(format!("пауза{by}{why}"), format!("paused{by}{why}"))
            }
            Event::Resumed { by } => {
                self.say(format!("продолжено{}", self.by(by)), format!("resumed{}", self.by(by)))
            }
            Event::Resolved { by } => {
                self.say(format!("решено{}", self.by(by)), format!("resolved{}", self.by(by)))
            }
            Event::Reopened { by } => {
                self.say(format!("открыто снова{}", self.by(by)), format!("reopened{}", self.by(by)))
            }
            Event::Reclassified { changes, by, reason } => {
                let what: Vec<String> = changes
                    .iter()
                    .map(|c| {
                        let from =
                            c.from.as_deref().map_or_else(|| "—".into(), |f| self.route_value(c.field, f));
                        let to = self.route_value(c.field, &c.to);
                        let (ru, en) = match c.field {
                            RouteField::Topic => ("тема", "topic"),
                            RouteField::Region => ("регион", "region"),
                            RouteField::Department => ("отдел", "department"),
                        };
                        self.say(format!("{ru} {from} → {to}"), format!("{en} {from} → {to}"))
                    })
                    .collect();
                let what = match what.is_empty() {
                    true => self.say("без изменений".into(), "nothing changed".into()),
                    false => what.join(", "),
                };
                format!("{what}{}{}", self.by(by), Self::because(reason))
            }
            Event::Note { by, text } => match by {
                Some(who) => format!("{}: {text}", self.actor(who)),
                None => text.clone(),
            },
            Event::ChecklistDone { text, by, .. } | Event::ChecklistUndone { text, by, .. } => {
                format!("{text}{}", self.by(by))
            }
            Event::Overdue { clock, late_minutes } => {
                let (ru, en) = match clock {
                    Clock::Reaction => ("реакция", "reaction"),
                    Clock::Resolution => ("решение", "resolution"),
                };
                self.say(
                    format!("срок нарушен: {ru} ({late_minutes} мин просрочки)"),
                    format!("{en} deadline missed ({late_minutes} min late)"),
                )
            }
            Event::OverdueNotice { outcome } => self.outcome(outcome),
            Event::Notice { kind, outcome } => {
                let title = notice_title(*kind, self.lang);
                format!("{title}: {}", self.outcome(outcome))
            }
            Event::Rated { score } | Event::RatedLow { score } => format!("{score}/5"),
            Event::Erased { by } => self.say(
                format!("персональные данные удалены по запросу{}", self.by(by)),
                format!("personal data erased on request{}", self.by(by)),
            ),
            Event::Created { origin, by } => {
                let (ru, en) = match origin {
                    Origin::Phone => ("звонок", "phone call"),
                    Origin::Visit => ("визит", "walk-in"),
                    Origin::ComplaintBook => ("книга жалоб", "complaint book"),
                };
                let by = match by {
                    Some(who) => self.actor(who),
                    None => "—".into(),
                };
                self.say(format!("{ru}: создал {by}"), format!("{en}: created by {by}"))
            }
            Event::Reprocessed { by: Some(who), .. } => self.say(
                format!("распределено заново, кто: {}", self.actor(who)),
                format!("routed again by {}", self.actor(who)),
            ),
            Event::Reprocessed { by: None, appeals } if appeals.is_empty() => self.say(
                "через текущие фильтры и маршрутизатор".into(),
                "through the current filters and router".into(),
            ),
            Event::Reprocessed { by: None, appeals } => self.say(
                format!("теперь запрос прочитан: обращения {}", appeals.join(", ")),
                format!("the adapter now reads it: appeals {}", appeals.join(", ")),
            ),
            Event::ReprocessFailed { error } => error.clone(),
            Event::FileStored { attachment, kind, size } => {
                format!("{} {}: {}", self.file_kind(kind), attachment + 1, size_text(*size))
            }
            Event::FileFailed { attachment, kind, problem } => {
                let why = match problem {
                    FileProblem::Failed(error) => error.clone(),
                    FileProblem::TooLarge(cap) => self.say(
                        format!("больше {}", size_text(*cap)),
                        format!("larger than {}", size_text(*cap)),
                    ),
                };
                format!("{} {}: {why}", self.file_kind(kind), attachment + 1)
            }
            Event::Legacy { detail, .. } => detail.clone(),
        }
    }

    fn file_kind(&self, kind: &AttachmentKind) -> String {
        let ru = match kind {
            AttachmentKind::Photo => "фото",
            AttachmentKind::Document => "документ",
            AttachmentKind::Audio => "аудио",
            AttachmentKind::Voice => "голосовое",
            AttachmentKind::Video => "видео",
            AttachmentKind::CallRecording => "запись звонка",
            AttachmentKind::Other => "файл",
        };
        if self.lang == Lang::Ru { ru.to_string() } else { kind.name().to_string() }
    }
}

/// A size for people: `245 KiB`, `1.5 MiB`.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KiB", b / 1024),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}
