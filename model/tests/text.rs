//! The words of events: Russian with names, English on request, the reader's language.

use clienthub_model::event::{Actor, Clock, Event, Place, Unavailable, WaitReason};
use clienthub_model::text::{Lang, Names, NoNames, render, stage_title};

struct Staff;
impl Names for Staff {
    fn employee(&self, id: &str) -> Option<&str> {
        (id == "e-1").then_some("Анна Смирнова")
    }
    fn department(&self, id: &str) -> Option<&str> {
        (id == "service").then_some("Сервис")
    }
    fn region(&self, _: &str) -> Option<&str> {
        None
    }
    fn topic(&self, id: &str) -> Option<&str> {
        (id == "refund").then_some("Возврат")
    }
    fn queue(&self, id: &str) -> Option<&str> {
        (id == "service-queue").then_some("Сервис")
    }
}

#[test]
fn events_read_in_russian_with_names_and_in_english_on_request() {
    let handed = Event::HandedOff {
        from: Some(Place::Employee("e-1".into())),
        to: Place::Department("service".into()),
        by: Some(Actor::Employee("e-1".into())),
        reason: Some("нужен мастер: срочно".into()),
    };
    assert_eq!(
        render(&handed, Lang::Ru, &Staff),
        "Анна Смирнова → отдел «Сервис» — Анна Смирнова: нужен мастер: срочно"
    );
    assert_eq!(
        render(&handed, Lang::En, &Staff),
        "from Анна Смирнова to department Сервис by Анна Смирнова: нужен мастер: срочно"
    );
    let routed = Event::Routed {
        queue: "service-queue".into(),
        topic: Some("refund".into()),
        region: None,
        department: Some("service".into()),
        reason: "keyword возврат".into(),
    };
    assert_eq!(
        render(&routed, Lang::Ru, &Staff),
        "очередь «Сервис», тема «Возврат», отдел «Сервис»: keyword возврат"
    );
    let waiting = Event::Waiting {
        queue: "service-queue".into(),
        reason: WaitReason::NobodyFree(vec![("e-1".into(), Unavailable::DayOff)]),
    };
    assert_eq!(
        render(&waiting, Lang::Ru, &Staff),
        "в очереди «Сервис»: сейчас никто не может взять: Анна Смирнова — выходной"
    );
    assert_eq!(
        render(&Event::Overdue { clock: Clock::Reaction, late_minutes: 7 }, Lang::En, &NoNames),
        "reaction deadline missed (7 min late)"
    );
    assert_eq!(stage_title("handed_off", Lang::Ru), "Передано");
    assert_eq!(Lang::parse("en-US,en;q=0.9,ru;q=0.8"), Lang::En);
    assert_eq!(Lang::parse("ru-RU,ru;q=0.9,en;q=0.8"), Lang::Ru);
    assert_eq!(Lang::parse(""), Lang::Ru);
}
