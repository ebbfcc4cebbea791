use super::*;
use clienthub_sdk::MetaEntry;
use clienthub_sdk::testing::{Harness, appeal};

fn directory() -> Harness {
    Harness::new()
        .with_region("msk", &["Москва"], &["101", "102"])
        .with_region("kzn", &["Казань"], &["112"])
        .with_department("returns")
        .with_employee("e1", "returns", &["msk"])
        .with_employee("e2", "returns", &["kzn"])
        .with_employee("e3", "returns", &[])
        .with_topic("refund", &["вернуть", "возврат"], "returns")
}

/// The directory as a business user writes one: keywords in dictionary form.
fn business() -> Harness {
    Harness::new()
        .with_region("kzn", &["Казань", "Набережные Челны"], &["201", "202"])
        .with_region("msk", &["Москва"], &["103", "104"])
        .with_department("returns")
        .with_department("hr")
        .with_department("quality")
        .with_department("stores")
        .with_topic("refund", &["вернуть", "возврат"], "returns")
        .with_topic("vacancy", &["работа", "вакансия"], "hr")
        .with_topic("rudeness", &["хамство", "грубость"], "quality")
        .with_topic("overcharge", &["обсчитать"], "quality")
        .with_topic("queues", &["очередь", "касса"], "stores")
}

fn route(h: &mut Harness, channel: &str, text: &str) -> Decision {
    h.run(|| RulesRouter::route(appeal(channel, text))).unwrap()
}

#[test]
fn topic_and_store_region_pick_department_and_candidates() {
    let mut a = appeal("telegram", "Хочу ВЕРНУТЬ товар");
    a.metadata.push(MetaEntry::new("store", "112"));
    let d = directory().run(|| RulesRouter::route(a)).unwrap();
    assert_eq!(d.queue, "returns");
    assert_eq!(d.region.as_deref(), Some("kzn"));
    assert_eq!(d.topic.as_deref(), Some("refund"));
    assert_eq!(d.candidates, vec!["e2", "e3"]);
    assert_eq!(d.strategy, AssignmentStrategy::LeastLoaded);
}

#[test]
fn city_in_text_and_default_queue() {
    let d = route(&mut directory(), "vk", "Привет из Москвы? нет, Москва");
    assert_eq!(d.region.as_deref(), Some("msk"));
    assert_eq!(d.queue, "general");
    assert!(d.candidates.is_empty());
    let mut h = directory().with_config(r#"{"default_queue":"inbox","urgent_keywords":["срочно"]}"#);
    let d = route(&mut h, "vk", "Срочно перезвоните");
    assert_eq!(d.queue, "inbox");
    assert_eq!(d.priority, Priority::High);
}

#[test]
fn word_forms_find_their_topics() {
    let h = &mut business();
    for (text, topic) in [
        ("Верните деньги", "refund"),
        ("Ищу работу", "vacancy"),
        ("Продавец хамил", "rudeness"),
        ("Меня обсчитали", "overcharge"),
        ("Огромные очереди", "queues"),
    ] {
        assert_eq!(route(h, "vk", text).topic.as_deref(), Some(topic), "{text}");
    }
}

#[test]
fn a_word_that_merely_contains_a_keyword_is_no_hit() {
    let d = route(&mut business(), "vk", "Работает одна касса на весь магазин");
    assert_eq!(d.topic.as_deref(), Some("queues"), "{}", d.reason);
    assert!(!d.reason.contains("vacancy"), "{}", d.reason);
    // The substring matching of 0.1.0 read it as a vacancy.
    let mut old = business().with_config(r#"{"matching":"substrings"}"#);
    assert_eq!(route(&mut old, "vk", "Работает одна касса").topic.as_deref(), Some("vacancy"));
}

#[test]
fn cities_in_any_case_form_and_stores_in_the_text() {
    let h = &mut business();
    for (text, region) in [
        ("Я в Казани, верните деньги", "kzn"),
        ("Пишу из Москвы", "msk"),
        ("Мы в Набережных Челнах", "kzn"),
        ("магазин 201, касса закрыта", "kzn"),
        ("Маг. №103, обсчитали", "msk"),
        ("в магазине 104 грязно", "msk"),
        ("м-н 202", "kzn"),
    ] {
        assert_eq!(route(h, "vk", text).region.as_deref(), Some(region), "{text}");
    }
    // A price or a phone is not a store; a store the directory does not list is no region.
    assert_eq!(route(h, "vk", "Цена 201 рубль, тел. 8 912 555 44 33").region, None);
    assert_eq!(route(h, "vk", "магазин 999").region, None);
    let d = route(h, "vk", "магазин 201");
    assert!(d.reason.contains("store 201 in the text"), "{}", d.reason);
}

#[test]
fn exclusions_channels_and_priorities() {
    let h = &mut business()
        .with_topic("thanks", &["спасибо"], "stores")
        .with_topic_rule("vacancy", &[], &["работает", "режим работы"], &[], 0)
        .with_topic_rule("thanks", &[], &[], &["vk/comment"], 0)
        .with_topic_rule("rudeness", &["хам"], &[], &[], 5);
    // An exclusion rules a topic out.
    assert_eq!(route(h, "vk", "Какой режим работы?").topic, None);
    assert_eq!(route(h, "vk", "Есть работа?").topic.as_deref(), Some("vacancy"));
    // A channel condition: VK comments only.
    assert_eq!(route(h, "telegram", "Спасибо!").topic, None);
    let mut comment = appeal("vk", "Спасибо!");
    comment.metadata.push(MetaEntry::new("vk_kind", "comment"));
    assert_eq!(h.run(|| RulesRouter::route(comment)).unwrap().topic.as_deref(), Some("thanks"));
    // Priority: rudeness (5) beats the refund listed first; the runner-up is named.
    let d = route(h, "vk", "Продавец хамил, верните деньги");
    assert_eq!(d.topic.as_deref(), Some("rudeness"));
    assert!(d.reason.contains("also matched: refund ('вернуть')"), "{}", d.reason);
    // Exact keywords: word for word.
    assert_eq!(route(h, "vk", "Он хам").topic.as_deref(), Some("rudeness"));
    // Equal priorities: the directory's order.
    assert_eq!(route(h, "vk", "Верните деньги, меня обсчитали").topic.as_deref(), Some("refund"));
}
