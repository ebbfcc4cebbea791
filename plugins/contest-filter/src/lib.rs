//! Contest filter: drops appeals that carry a contest hashtag (comments like "#конкурс me!"
//! under a giveaway post), so operators see real appeals only. The dropped appeal is kept
//! with the reason, never deleted.
//!
//! Hashtags are read from the text, the subject and `hashtag` metadata entries, and compared
//! case-insensitively as whole tags (`#Конкурс` matches `#конкурс`; `#конкурсный` does not).

use clienthub_sdk::{Appeal, Filter, Verdict};
use serde::Deserialize;

/// The contest filter.
pub struct ContestFilter;

/// The hashtags used when the admin has configured none.
pub const DEFAULT_HASHTAGS: &[&str] = &["#конкурс", "#розыгрыш", "#giveaway"];

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    hashtags: Option<Vec<String>>,
}

impl Filter for ContestFilter {
    fn check(appeal: Appeal) -> Result<Verdict, String> {
        let config: Config = clienthub_sdk::config::get()?;
        let wanted: Vec<String> = match config.hashtags {
            Some(tags) => tags.iter().map(|t| t.to_lowercase()).collect(),
            None => DEFAULT_HASHTAGS.iter().map(|t| t.to_string()).collect(),
        };
        let found = hashtags(&appeal.text)
            .chain(appeal.subject.as_deref().into_iter().flat_map(hashtags))
            .chain(appeal.metadata.iter().filter(|m| m.key == "hashtag").map(|m| m.value.to_lowercase()))
            .find(|tag| wanted.contains(tag));
        Ok(match found {
            Some(tag) => Verdict::Drop(format!("contest hashtag {tag}")),
            None => Verdict::Keep,
        })
    }
}

clienthub_sdk::export_filter!(ContestFilter);

/// The hashtags in `text`, lower-cased.
fn hashtags(text: &str) -> impl Iterator<Item = String> {
    clienthub_sdk::text::hashtags(text).into_iter().map(|tag| tag.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clienthub_sdk::testing::{Harness, appeal};

    fn check(h: &mut Harness, text: &str) -> Verdict {
        h.run(|| ContestFilter::check(appeal("vk", text))).unwrap()
    }

    #[test]
    fn drops_default_hashtags_case_insensitively() {
        let h = &mut Harness::new();
        assert_eq!(check(h, "Участвую! #Конкурс"), Verdict::Drop("contest hashtag #конкурс".into()));
        assert_eq!(check(h, "#GIVEAWAY time"), Verdict::Drop("contest hashtag #giveaway".into()));
        assert_eq!(check(h, "#розыгрыш,#ещё"), Verdict::Drop("contest hashtag #розыгрыш".into()));
    }

    #[test]
    fn keeps_real_appeals_and_longer_tags() {
        let h = &mut Harness::new();
        assert_eq!(check(h, "Где мой заказ? конкурс не интересует"), Verdict::Keep);
        assert_eq!(check(h, "#конкурсный отбор"), Verdict::Keep);
    }

    #[test]
    fn reads_metadata_hashtags_and_configured_list() {
        let h = &mut Harness::new().with_config(r##"{"hashtags":["#Promo"]}"##);
        assert_eq!(check(h, "#конкурс"), Verdict::Keep);
        let mut a = appeal("telegram", "photo");
        a.metadata.push(clienthub_sdk::MetaEntry::new("hashtag", "#PROMO"));
        assert_eq!(
            h.run(|| ContestFilter::check(a)).unwrap(),
            Verdict::Drop("contest hashtag #promo".into())
        );
    }
}
