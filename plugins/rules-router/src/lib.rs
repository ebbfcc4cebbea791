//! Rules router: routes by the routing directory that the business team edits.
//!
//! 1. **Topic** — every topic with a keyword or phrase in the subject or text, matched by word
//!    forms (`вернуть` finds `Верните`, `работа` does not find `работает`; exact keywords word for
//!    word), that no exclusion rules out and whose channel condition admits the appeal. The
//!    highest priority wins (equal priorities: the directory's order); the reason names the
//!    winner's keyword and the runners-up. The topic gives the department and the reaction time.
//! 2. **Region** — metadata `region` (a region id), `store` or `city`; else a store number
//!    written in the text (`магазин 201`, `маг. №103`) that the directory lists; else a city
//!    named in the text in any case form (`в Казани`, `из Москвы`).
//! 3. **Queue and candidates** — the department's queue and its active employees serving the
//!    region, chosen least-loaded. No topic: the default queue (`general` unless configured).
//! 4. **Priority** — `high` when an urgent keyword occurs (by word forms).
//!
//! Configuration `matching`: `word-forms` (the default) or `substrings` (keywords, exclusions
//! and city names found inside the lower-cased text, as versions before 0.1.1 did;
//! `clienthub bench --routing` compares the two).

use clienthub_sdk::text::{Matchable, store_mentions};
use clienthub_sdk::{
    Appeal, AssignmentStrategy, Decision, Priority, Region, Router, Topic, TopicRule, directory,
};
use serde::Deserialize;

/// The rules router.
pub struct RulesRouter;

#[derive(Debug, Deserialize)]
struct Config {
    #[serde(default = "default_queue")]
    default_queue: String,
    #[serde(default)]
    urgent_keywords: Vec<String>,
    #[serde(default)]
    matching: Matching,
}

/// How keywords and place names are found in the text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Matching {
    /// By word forms (Snowball stems), phrases word by word.
    #[default]
    WordForms,
    /// Inside the lower-cased text, as written (before 0.1.1).
    Substrings,
}

fn default_queue() -> String {
    "general".to_string()
}

/// The appeal's text as the matching sees it.
struct Text {
    matching: Matching,
    lower: String,
    forms: Matchable,
}

impl Text {
    fn new(appeal: &Appeal, matching: Matching) -> Self {
        let whole = format!("{}\n{}", appeal.subject.as_deref().unwrap_or(""), appeal.text);
        Self { matching, lower: whole.to_lowercase(), forms: Matchable::new(&whole) }
    }

    /// Whether `phrase` occurs: by word forms (or word for word when `exact`), or as a substring.
    fn has(&self, phrase: &str, exact: bool) -> bool {
        match self.matching {
            Matching::WordForms => self.forms.contains(phrase, exact),
            Matching::Substrings => !phrase.is_empty() && self.lower.contains(&phrase.to_lowercase()),
        }
    }
}

impl Router for RulesRouter {
    fn route(appeal: Appeal) -> Result<Decision, String> {
        let config: Config = clienthub_sdk::config::get()?;
        let text = Text::new(&appeal, config.matching);
        let region = find_region(&appeal, &text, &directory::regions());
        let matches = matching_topics(&appeal, &text, &directory::topics(), &directory::topic_rules());
        let mut reasons = Vec::new();
        let mut decision = Decision::to_queue(config.default_queue.clone(), "");
        if let Some((region, how)) = &region {
            reasons.push(format!("region {} ({how})", region.id));
            decision.region = Some(region.id.clone());
        }
        match matches.first() {
            Some(found) => {
                let topic = &found.topic;
                let mut reason = format!("keyword '{}' → topic {}", found.keyword, topic.id);
                if matches.len() > 1 {
                    let others: Vec<String> =
                        matches[1..].iter().map(|m| format!("{} ('{}')", m.topic.id, m.keyword)).collect();
                    reason.push_str(&format!(
                        " (priority {}; also matched: {})",
                        found.priority,
                        others.join(", ")
                    ));
                }
                reasons.push(reason);
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
        if let Some(word) = config.urgent_keywords.iter().find(|w| text.has(w, false)) {
            decision.priority = Priority::High;
            reasons.push(format!("urgent keyword '{word}'"));
        }
        decision.reason = reasons.join("; ");
        Ok(decision)
    }
}

clienthub_sdk::export_router!(RulesRouter);

/// A topic that matched, by which keyword, with its priority.
struct Match {
    topic: Topic,
    keyword: String,
    priority: i32,
}

/// The topics that match, the winner first: by priority (highest first), then directory order.
fn matching_topics(appeal: &Appeal, text: &Text, topics: &[Topic], rules: &[TopicRule]) -> Vec<Match> {
    let mut found: Vec<Match> = topics
        .iter()
        .filter_map(|topic| {
            let rule = rules.iter().find(|r| r.topic == topic.id);
            if let Some(rule) = rule {
                if !rule.channels.is_empty() && !rule.channels.iter().any(|c| channel_admits(c, appeal)) {
                    return None;
                }
                if rule.exclusions.iter().any(|word| text.has(word, false)) {
                    return None;
                }
            }
            let by_forms = topic.keywords.iter().find(|k| text.has(k, false));
            let exact = || rule.and_then(|r| r.exact_keywords.iter().find(|k| text.has(k, true)));
            let keyword = by_forms.or_else(exact)?;
            Some(Match {
                topic: topic.clone(),
                keyword: keyword.clone(),
                priority: rule.map_or(0, |r| r.priority),
            })
        })
        .collect();
    // A stable sort keeps the directory's order among equal priorities.
    found.sort_by_key(|m| std::cmp::Reverse(m.priority));
    found
}

/// Whether a channel condition (`vk`, or `vk/comment`: metadata `vk_kind` = `comment`) admits the
/// appeal.
fn channel_admits(condition: &str, appeal: &Appeal) -> bool {
    match condition.split_once('/') {
        None => condition.eq_ignore_ascii_case(&appeal.channel),
        Some((channel, kind)) => {
            channel.eq_ignore_ascii_case(&appeal.channel)
                && appeal.meta(&format!("{channel}_kind")).or_else(|| appeal.meta("kind")) == Some(kind)
        }
    }
}

/// The region, and how it was found.
fn find_region(appeal: &Appeal, text: &Text, regions: &[Region]) -> Option<(Region, String)> {
    let find = |pred: &dyn Fn(&Region) -> bool| regions.iter().find(|r| pred(r)).cloned();
    if let Some(id) = appeal.meta("region") {
        return find(&|r| r.id.eq_ignore_ascii_case(id.trim())).map(|r| (r, "metadata region".into()));
    }
    if let Some(store) = appeal.meta("store").map(str::trim) {
        return find(&|r| r.stores.iter().any(|s| s == store)).map(|r| (r, format!("store {store}")));
    }
    if let Some(city) = appeal.meta("city").map(|c| c.trim().to_lowercase()) {
        return find(&|r| r.cities.iter().any(|c| c.to_lowercase() == city))
            .map(|r| (r, format!("city {city}")));
    }
    for store in store_mentions(&text.lower) {
        if let Some(region) = find(&|r| r.stores.contains(&store)) {
            return Some((region, format!("store {store} in the text")));
        }
    }
    regions.iter().find_map(|r| {
        let city = r.cities.iter().find(|c| text.has(c, false))?;
        Some((r.clone(), format!("city {city} in the text")))
    })
}

#[cfg(test)]
mod tests;
