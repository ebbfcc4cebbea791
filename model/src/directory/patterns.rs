//! Identifiers customers write in their text (`номер автомата 4521`): the directory's patterns,
//! and their application to an appeal — the value into its metadata (and a pattern's region into
//! `region`), before the filters and the router see it. The compiled expressions are kept while
//! the directory's patterns stay the same.

use crate::appeal::Appeal;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// An identifier customers write in their text (`номер автомата 4521`), found by a regular
/// expression (case-insensitive) and put into the appeal's metadata under `key` before the
/// filters and the router see it, so routing, reports and the CRM all have it. The value is the
/// first capture group, else the whole match. With a `region`, a match also gives the appeal
/// that region (when nothing else has).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdPattern {
    /// The metadata key (`machine`): lower-case Latin letters, digits and `_`.
    pub key: String,
    /// The regular expression (Rust `regex` syntax: no look-around, linear time).
    pub pattern: String,
    /// The region a match belongs to, if the identifier tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl IdPattern {
    /// The compiled expression (case-insensitive, size-capped).
    ///
    /// # Errors
    /// When the expression does not compile or is too large.
    pub fn compile(&self) -> Result<regex::Regex, regex::Error> {
        regex::RegexBuilder::new(&self.pattern).case_insensitive(true).size_limit(1 << 20).build()
    }
}

/// The last directory's patterns and their compiled expressions.
type Compiled = (Vec<IdPattern>, Arc<Vec<(IdPattern, regex::Regex)>>);

static COMPILED: Mutex<Option<Compiled>> = Mutex::new(None);

/// Adds what `patterns` find in the appeal's subject and text to its metadata;
/// a key it already has is left alone.
pub fn extract_ids(patterns: &[IdPattern], appeal: &mut Appeal) {
    if patterns.is_empty() {
        return;
    }
    let text = format!("{}\n{}", appeal.subject.as_deref().unwrap_or(""), appeal.text);
    for (pattern, regex) in compiled(patterns).iter() {
        if appeal.metadata.iter().any(|(k, _)| k == &pattern.key) {
            continue;
        }
        let Some(found) = regex.captures(&text) else { continue };
        let value = found.get(1).or_else(|| found.get(0)).map_or("", |m| m.as_str()).trim().to_string();
        if value.is_empty() {
            continue;
        }
        appeal.metadata.push((pattern.key.clone(), value));
        if let Some(region) = &pattern.region
            && !appeal.metadata.iter().any(|(k, _)| k == "region")
        {
            appeal.metadata.push(("region".into(), region.clone()));
        }
    }
}

fn compiled(patterns: &[IdPattern]) -> Arc<Vec<(IdPattern, regex::Regex)>> {
    let mut cache = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((known, compiled)) = cache.as_ref()
        && known.as_slice() == patterns
    {
        return compiled.clone();
    }
    // Patterns were checked when the directory was saved; one that fails now is skipped.
    let fresh: Arc<Vec<_>> =
        Arc::new(patterns.iter().filter_map(|p| Some((p.clone(), p.compile().ok()?))).collect());
    *cache = Some((patterns.to_vec(), fresh.clone()));
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vending() -> Vec<IdPattern> {
        let pattern = |key: &str, pattern: &str, region: Option<&str>| IdPattern {
            key: key.into(),
            pattern: pattern.into(),
            region: region.map(str::to_string),
        };
        vec![
            pattern("machine", r"автомат\D{0,20}(\d{4})", Some("msk")),
            pattern("card", r"карт[аы]\s*№?\s*(\d{6})", None),
        ]
    }

    fn appeal(text: &str) -> Appeal {
        Appeal { text: text.into(), ..Appeal::default() }
    }

    #[test]
    fn identifiers_go_into_metadata_with_their_region() {
        let mut a = appeal("Номер автомата 4521, съел деньги. Карта №123456");
        extract_ids(&vending(), &mut a);
        let meta = |k: &str| a.metadata.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(
            (meta("machine"), meta("region"), meta("card")),
            (Some("4521"), Some("msk"), Some("123456"))
        );
    }

    #[test]
    fn nothing_found_changes_nothing_and_a_known_key_stays() {
        let mut a = appeal("Где мой заказ 4521?");
        extract_ids(&vending(), &mut a);
        assert!(a.metadata.is_empty());
        let mut b = appeal("АВТОМАТ 7777");
        b.metadata.push(("region".into(), "kzn".into()));
        extract_ids(&vending(), &mut b);
        assert_eq!(
            b.metadata,
            [("region".to_string(), "kzn".to_string()), ("machine".into(), "7777".into())]
        );
    }
}
