//! Text helpers channel adapters and filters share.

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
}
