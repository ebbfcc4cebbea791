//! Rules router: routes by the routing directory that admins edit through the API.
//!
//! 1. **Topic** — the first topic one of whose keywords occurs in the subject or text
//!    (case-insensitive) gives the department and the reaction time.
//! 2. **Region** — metadata `region` (a region id), `store` (a store number) or `city`, else a
//!    city of a region named in the text.
//! 3. **Queue and candidates** — the department's queue and its active employees serving the
//!    region, chosen least-loaded. No topic: the default queue (`general` unless configured).
//! 4. **Priority** — `high` when an urgent keyword occurs.

use clienthub_sdk::{Appeal, AssignmentStrategy, Decision, Priority, Region, Router, Topic, directory};
use serde::Deserialize;

/// The rules router.
pub struct RulesRouter;

#[derive(Debug, Deserialize)]
struct Config {
    #[serde(default = "default_queue")]
    default_queue: String,
    #[serde(default)]
    urgent_keywords: Vec<String>,
}

fn default_queue() -> String {
    "general".to_string()
}

impl Router for RulesRouter {
    fn route(appeal: Appeal) -> Result<Decision, String> {
        let config: Config = clienthub_sdk::config::get()?;
        let haystack = format!("{}\n{}", appeal.subject.as_deref().unwrap_or(""), appeal.text).to_lowercase();
        let region = find_region(&appeal, &haystack, &directory::regions());
        let topic = find_topic(&haystack, &directory::topics());
        let mut reasons = Vec::new();
        let mut decision = Decision::to_queue(config.default_queue.clone(), "");
        if let Some(region) = &region {
            reasons.push(format!("region {}", region.id));
            decision.region = Some(region.id.clone());
        }
        match &topic {
            Some((topic, keyword)) => {
                reasons.push(format!("keyword '{keyword}' → topic {}", topic.id));
                decision.topic = Some(topic.id.clone());
                decision.tags.push(format!("topic:{}", topic.id));
                decision.reaction_minutes = topic.reaction_minutes;
                match directory::department(&topic.department) {
                    Some(department) => {
                        decision.queue = department.queue;
                        decision.department = Some(department.id.clone());
                        decision.candidates =
                            directory::employees(&department.id, decision.region.as_deref())
                                .into_iter()
                                .map(|e| e.id)
                                .collect();
                        decision.strategy = AssignmentStrategy::LeastLoaded;
                    }
                    None => reasons.push(format!("department {} is not in the directory", topic.department)),
                }
            }
            None => reasons.push(format!("no topic matched → {}", config.default_queue)),
        }
        if let Some(word) = config.urgent_keywords.iter().find(|w| haystack.contains(&w.to_lowercase())) {
            decision.priority = Priority::High;
            reasons.push(format!("urgent keyword '{word}'"));
        }
        decision.reason = reasons.join("; ");
        Ok(decision)
    }
}

clienthub_sdk::export_router!(RulesRouter);

/// The first topic with a keyword in the text, and that keyword.
fn find_topic(haystack: &str, topics: &[Topic]) -> Option<(Topic, String)> {
    topics.iter().find_map(|t| {
        t.keywords
            .iter()
            .find(|k| !k.is_empty() && haystack.contains(&k.to_lowercase()))
            .map(|k| (t.clone(), k.clone()))
    })
}

fn find_region(appeal: &Appeal, haystack: &str, regions: &[Region]) -> Option<Region> {
    let find = |pred: &dyn Fn(&Region) -> bool| regions.iter().find(|r| pred(r)).cloned();
    let by_id = || appeal.meta("region").and_then(|id| find(&|r| r.id.eq_ignore_ascii_case(id.trim())));
    let by_store =
        || appeal.meta("store").and_then(|store| find(&|r| r.stores.iter().any(|s| s == store.trim())));
    let by_city = || {
        let city = appeal.meta("city")?.trim().to_lowercase();
        find(&|r| r.cities.iter().any(|c| c.to_lowercase() == city))
    };
    let in_text =
        || find(&|r| r.cities.iter().any(|c| !c.is_empty() && haystack.contains(&c.to_lowercase())));
    by_id().or_else(by_store).or_else(by_city).or_else(in_text)
}

#[cfg(test)]
mod tests {
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
        let d =
            directory().run(|| RulesRouter::route(appeal("vk", "Привет из Москвы? нет, Москва"))).unwrap();
        assert_eq!(d.region.as_deref(), Some("msk"));
        assert_eq!(d.queue, "general");
        assert!(d.candidates.is_empty());
        let mut h = directory().with_config(r#"{"default_queue":"inbox","urgent_keywords":["срочно"]}"#);
        let d = h.run(|| RulesRouter::route(appeal("vk", "Срочно перезвоните"))).unwrap();
        assert_eq!(d.queue, "inbox");
        assert_eq!(d.priority, Priority::High);
    }
}
