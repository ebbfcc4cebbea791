//! Text helpers channel adapters, filters and routers share: hashtags, stable content ids,
//! JSON fields, and Russian-aware matching — words, Snowball stems, phrases by word forms, and the
//! store numbers a customer writes.

/// The hashtags in `text`, as written: `#` followed by letters, digits or `_`
/// (`"Участвую! #Конкурс, #giveaway"` → `["#Конкурс", "#giveaway"]`).
pub fn hashtags(text: &str) -> Vec<String> {
    text.split('#')
        .skip(1)
        .filter_map(|rest| {
            let tag: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            (!tag.is_empty()).then(|| format!("#{tag}"))
        })
        .collect()
}

/// A stable id for content that carries none of its own (a form without a transaction id, a
/// mail without `Message-ID`): the same bytes always give the same id, so a resend is
/// recognised. FNV-1a, as 16 hex digits.
pub fn content_id(bytes: &[u8]) -> String {
    let hash = bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

/// A JSON field as text: a non-empty string, or a number written out (platforms send ids
/// both ways: `"chat_id": "2037"` or `"chat_id": 2037`).
pub fn field(value: &serde_json::Value, key: &str) -> Option<String> {
    match value.get(key)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The words of `text` for matching: lower-cased, `ё` read as `е`, split at every character
/// that is neither a letter nor a digit (`"Верните, пожалуйста!"` → `["верните", "пожалуйста"]`).
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('ё', "е")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A lower-case word's stem: Snowball Russian for a word with Cyrillic letters, Snowball English
/// for one with Latin letters, anything else as it is (`верните` and `вернуть` → `верн`;
/// `работа` → `работ` but `работает` → `работа`; `казани` → `казан`).
pub fn stem(word: &str) -> String {
    use rust_stemmers::{Algorithm, Stemmer};
    let algorithm = match word.chars().find(|c| c.is_alphabetic()) {
        Some(c) if ('\u{400}'..='\u{4ff}').contains(&c) => Algorithm::Russian,
        Some(c) if c.is_ascii_alphabetic() => Algorithm::English,
        _ => return word.to_string(),
    };
    Stemmer::create(algorithm).stem(word).into_owned()
}

/// A word's root for matching word forms: its [`stem`] without one trailing suffix of word
/// formation Snowball leaves on (`-ств`, `-ут`/`-ул`, `-ова`/`-ева`/`-ыва`/`-ива`, `-ен`,
/// `-к`), when at least three letters stay: `хамство` and `хамил` → `хам`; `вернуть`, `верните`
/// and `вернули` → `верн`; `доставка` and `доставили` → `достав`. `работа` (`работ`) and
/// `работает` (`работа`) stay apart.
fn root(word: &str) -> String {
    const SUFFIXES: [&str; 9] = ["ств", "ова", "ева", "ыва", "ива", "ут", "ул", "ен", "к"];
    let stem = stem(word);
    for suffix in SUFFIXES {
        if let Some(rest) = stem.strip_suffix(suffix).filter(|rest| rest.chars().count() >= 3) {
            return rest.to_string();
        }
    }
    stem
}

/// A text prepared for matching keywords, phrases and place names against it, by word forms
/// (roots of stems) or word for word.
#[derive(Debug, Clone)]
pub struct Matchable {
    words: Vec<String>,
    stems: Vec<String>,
}

impl Matchable {
    /// Prepares `text`.
    pub fn new(text: &str) -> Self {
        let words = words(text);
        let stems = words.iter().map(|w| root(w)).collect();
        Self { words, stems }
    }

    /// Whether `phrase` (one word or several, in order and next to each other) occurs: by stems
    /// (`вернуть` finds `Верните`; `Набережные Челны` finds `в Набережных Челнах`), or, when
    /// `exact`, word for word (case and `ё` aside). An empty phrase occurs nowhere.
    pub fn contains(&self, phrase: &str, exact: bool) -> bool {
        let wanted = words(phrase);
        if wanted.is_empty() {
            return false;
        }
        let (haystack, wanted) = match exact {
            true => (&self.words, wanted),
            false => (&self.stems, wanted.iter().map(|w| root(w)).collect()),
        };
        haystack.windows(wanted.len()).any(|window| window == wanted.as_slice())
    }

    /// The text's words, lower-cased.
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

/// Numbers the text gives as a store's, in the forms customers write them: after `магазин`
/// (any case form), `маг.`, `м-н`, `ТЦ`/`ТРЦ`/`ТК` and a name, `точка`, `филиал`, `супермаркет`,
/// `гипермаркет`, `store`, `shop`, with or without `№`, within three words (`магазин 201`,
/// `маг. №103`, `в магазине на Ленина 104`, `ТЦ Мега 201`). Only candidates: check them against
/// the directory's stores, so a price or a phone number is never taken for a store.
pub fn store_mentions(text: &str) -> Vec<String> {
    let words = words(&text.to_lowercase().replace("м-н", "магазин"));
    let marker = |w: &str| {
        ["магаз", "супермаркет", "гипермаркет", "точк", "филиал", "store", "shop"]
            .iter()
            .any(|m| w.starts_with(m))
            || ["маг", "тц", "трц", "тк"].contains(&w)
    };
    let mut found: Vec<String> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if !marker(word) {
            continue;
        }
        let number =
            words[i + 1..].iter().take(3).find(|w| w.len() <= 6 && w.chars().all(|c| c.is_ascii_digit()));
        if let Some(number) = number.filter(|n| !found.contains(n)) {
            found.push(number.clone());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_whole_words() {
        assert_eq!(hashtags("Участвую! #Конкурс, #giveaway_2026 # и #"), ["#Конкурс", "#giveaway_2026"]);
        assert!(hashtags("no tags").is_empty());
    }

    #[test]
    fn content_id_is_stable() {
        assert_eq!(content_id(b"a"), content_id(b"a"));
        assert_ne!(content_id(b"a"), content_id(b"b"));
        assert_eq!(content_id(b"").len(), 16);
    }

    #[test]
    fn field_reads_strings_and_numbers() {
        let v = serde_json::json!({"a": "2037", "b": 2037, "c": "", "d": null});
        assert_eq!(field(&v, "a").as_deref(), Some("2037"));
        assert_eq!(field(&v, "b").as_deref(), Some("2037"));
        assert_eq!((field(&v, "c"), field(&v, "d"), field(&v, "e")), (None, None, None));
    }

    #[test]
    fn keywords_match_by_word_forms_not_substrings() {
        let text =
            Matchable::new("Верните деньги! Ищу работу. Продавец хамил, меня обсчитали, в очереди час");
        for keyword in ["вернуть", "работа", "хамство", "обсчитать", "очередь", "деньги вернуть"]
        {
            assert!(text.contains(keyword, false) != (keyword == "деньги вернуть"), "{keyword}");
        }
        assert!(text.contains("верните деньги", false), "a phrase, in order");
        let cashier = Matchable::new("работает одна касса");
        assert!(!cashier.contains("работа", false), "работает is not работа");
        assert!(cashier.contains("работать", false));
        assert!(Matchable::new("Ищу работу").contains("работу", true));
        assert!(!Matchable::new("Ищу работу").contains("работа", true), "exact: word for word");
        assert!(!cashier.contains("", false));
        assert!(Matchable::new("мне не вернули деньги").contains("вернуть", false));
        assert!(Matchable::new("когда доставите заказ").contains("доставка", false));
    }

    #[test]
    fn cities_in_any_case_form() {
        for (text, city) in [
            ("Я в Казани", "Казань"),
            ("Пишу из Москвы", "Москва"),
            ("в Набережных Челнах нет", "Набережные Челны"),
            ("Орёл, ул. Ленина", "Орел"),
        ] {
            assert!(Matchable::new(text).contains(city, false), "{city} in {text}");
        }
        assert!(
            !Matchable::new("Московский проспект, 5").contains("Москва", false),
            "an adjective is not the city"
        );
    }

    #[test]
    fn store_numbers_in_their_written_forms() {
        assert_eq!(store_mentions("магазин 201, касса"), ["201"]);
        assert_eq!(store_mentions("Маг. №103 не работает"), ["103"]);
        assert_eq!(store_mentions("м-н 201"), ["201"]);
        assert_eq!(store_mentions("в магазине на Ленина 104"), ["104"]);
        assert_eq!(store_mentions("ТЦ Мега 201, второй этаж"), ["201"]);
        assert!(store_mentions("Цена 201 рубль, звоните 89161234567").is_empty(), "no marker, no store");
    }
}
