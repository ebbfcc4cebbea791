//! A `clienthub.json` checked while the plugin compiles: the `export_*!` macros evaluate
//! [`check`] in a constant, so a file that is not the JSON object the manifest needs fails the
//! plugin's build with a message naming the file and the likely cause, instead of building a
//! plugin that the host refuses at upload. Written as `const fn` (no allocation, no serde).

/// What is wrong with a `clienthub.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The file is empty or only whitespace.
    Empty,
    /// A `//` or `/* */` comment: JSON has none.
    Comment,
    /// A comma right before `}` or `]`.
    TrailingComma,
    /// A string in single quotes.
    SingleQuotes,
    /// The top level is not an object (`{ … }`).
    NotAnObject,
    /// A top-level key the manifest does not know (a misspelling, say).
    UnknownKey,
    /// Anything else that is not JSON (a missing comma or quote, text after the object).
    Syntax,
}

/// `?` for `const fn`: the value, or return the problem.
macro_rules! attempt {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(problem) => return Err(problem),
        }
    };
}

/// The top-level keys `clienthub.json` may have.
const KEYS: [&str; 5] = ["name", "version", "description", "capabilities", "config_schema"];

/// The first problem of a `clienthub.json`, or `None` when it is a JSON object with known keys.
pub const fn check(file: &str) -> Option<Problem> {
    let bytes = file.as_bytes();
    let start = skip_space(bytes, 0);
    if start >= bytes.len() {
        return Some(Problem::Empty);
    }
    if bytes[start] == b'/' {
        return Some(Problem::Comment);
    }
    if bytes[start] != b'{' {
        return Some(Problem::NotAnObject);
    }
    match value(bytes, start, true) {
        Err(problem) => Some(problem),
        Ok(end) => {
            let end = skip_space(bytes, end);
            if end >= bytes.len() {
                None
            } else if bytes[end] == b'/' {
                Some(Problem::Comment)
            } else {
                Some(Problem::Syntax)
            }
        }
    }
}

const fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// Skips the whitespace before a token; a comment there is the problem.
const fn token(bytes: &[u8], at: usize) -> Result<usize, Problem> {
    let at = skip_space(bytes, at);
    if at < bytes.len() && bytes[at] == b'/' {
        return Err(Problem::Comment);
    }
    if at >= bytes.len() {
        return Err(Problem::Syntax);
    }
    Ok(at)
}

/// The end of the value starting at `at`; `top` checks an object's keys against [`KEYS`].
const fn value(bytes: &[u8], at: usize, top: bool) -> Result<usize, Problem> {
    match bytes[at] {
        b'{' => object(bytes, at, top),
        b'[' => array(bytes, at),
        b'"' => string(bytes, at),
        b'\'' => Err(Problem::SingleQuotes),
        b't' => literal(bytes, at, b"true"),
        b'f' => literal(bytes, at, b"false"),
        b'n' => literal(bytes, at, b"null"),
        b'-' | b'0'..=b'9' => Ok(number(bytes, at)),
        _ => Err(Problem::Syntax),
    }
}

const fn object(bytes: &[u8], at: usize, top: bool) -> Result<usize, Problem> {
    let mut at = attempt!(token(bytes, at + 1));
    if bytes[at] == b'}' {
        return Ok(at + 1);
    }
    loop {
        if bytes[at] == b'\'' {
            return Err(Problem::SingleQuotes);
        }
        if bytes[at] != b'"' {
            return Err(Problem::Syntax);
        }
        let key_end = attempt!(string(bytes, at));
        if top && !known_key(bytes, at + 1, key_end - 1) {
            return Err(Problem::UnknownKey);
        }
        at = attempt!(token(bytes, key_end));
        if bytes[at] != b':' {
            return Err(Problem::Syntax);
        }
        at = attempt!(token(bytes, at + 1));
        at = attempt!(value(bytes, at, false));
        at = attempt!(token(bytes, at));
        match bytes[at] {
            b'}' => return Ok(at + 1),
            b',' => {}
            _ => return Err(Problem::Syntax),
        }
        at = attempt!(token(bytes, at + 1));
        if bytes[at] == b'}' {
            return Err(Problem::TrailingComma);
        }
    }
}

const fn array(bytes: &[u8], at: usize) -> Result<usize, Problem> {
    let mut at = attempt!(token(bytes, at + 1));
    if bytes[at] == b']' {
        return Ok(at + 1);
    }
    loop {
        at = attempt!(value(bytes, at, false));
        at = attempt!(token(bytes, at));
        match bytes[at] {
            b']' => return Ok(at + 1),
            b',' => {}
            _ => return Err(Problem::Syntax),
        }
        at = attempt!(token(bytes, at + 1));
        if bytes[at] == b']' {
            return Err(Problem::TrailingComma);
        }
    }
}

const fn string(bytes: &[u8], at: usize) -> Result<usize, Problem> {
    let mut at = at + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => return Ok(at + 1),
            b'\\' => at += 2,
            b'\n' => return Err(Problem::Syntax),
            _ => at += 1,
        }
    }
    Err(Problem::Syntax)
}

const fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Result<usize, Problem> {
    let mut i = 0;
    while i < word.len() {
        if at + i >= bytes.len() || bytes[at + i] != word[i] {
            return Err(Problem::Syntax);
        }
        i += 1;
    }
    Ok(at + word.len())
}

const fn number(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
        at += 1;
    }
    at
}

/// Whether `bytes[from..to]` is one of [`KEYS`].
const fn known_key(bytes: &[u8], from: usize, to: usize) -> bool {
    let mut k = 0;
    while k < KEYS.len() {
        let key = KEYS[k].as_bytes();
        if key.len() == to - from {
            let mut i = 0;
            while i < key.len() && key[i] == bytes[from + i] {
                i += 1;
            }
            if i == key.len() {
                return true;
            }
        }
        k += 1;
    }
    false
}

/// Fails the build when `clienthub.json` has a problem. Internal: used by the `export_*!`
/// macros.
#[doc(hidden)]
#[macro_export]
macro_rules! __check_manifest_file {
    () => {
        const _: () = match $crate::manifest_check::check(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/clienthub.json"
        ))) {
            None => (),
            Some($crate::manifest_check::Problem::Empty) => panic!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/clienthub.json is empty: write at least {{\"description\": \"…\"}}"
            )),
            Some($crate::manifest_check::Problem::Comment) => panic!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/clienthub.json has a comment (`//` or `/* */`): JSON allows none, remove it"
            )),
            Some($crate::manifest_check::Problem::TrailingComma) => panic!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/clienthub.json has a comma before `}}` or `]`: JSON allows none there, remove it"
            )),
            Some($crate::manifest_check::Problem::SingleQuotes) => panic!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/clienthub.json quotes a string with '…': JSON strings take double quotes"
            )),
            Some($crate::manifest_check::Problem::NotAnObject) => panic!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/clienthub.json is not a JSON object: it starts with `{{` and ends with `}}`"
            )),
            Some($crate::manifest_check::Problem::UnknownKey) => panic!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/clienthub.json has an unknown key: the keys are name, version, description, \
                 capabilities and config_schema (a misspelling?)"
            )),
            Some($crate::manifest_check::Problem::Syntax) => panic!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/clienthub.json is not valid JSON: look for a missing comma, quote or brace, \
                 or text after the closing `}}`"
            )),
        };
    };
}

#[cfg(test)]
mod tests {
    use super::{Problem, check};

    #[test]
    fn a_good_file_passes() {
        let file = r#"{
            "description": "Routes by topic \"and\" region",
            "capabilities": ["directory", {"outbound-host": "api.example.com"}],
            "config_schema": {"type": "object", "properties": {"limit": {"type": "integer", "minimum": -1.5e3}},
                              "required": [], "additionalProperties": false, "default": null}
        }"#;
        assert_eq!(check(file), None);
        assert_eq!(check("{}"), None);
    }

    #[test]
    fn each_problem_is_named() {
        assert_eq!(check("  \n"), Some(Problem::Empty));
        assert_eq!(check("// clienthub.json — my router\n{\"description\": \"x\"}"), Some(Problem::Comment));
        assert_eq!(check("{\"description\": \"x\" // why\n}"), Some(Problem::Comment));
        assert_eq!(check("{\"description\": \"x\",}"), Some(Problem::TrailingComma));
        assert_eq!(check("{\"capabilities\": [\"directory\",]}"), Some(Problem::TrailingComma));
        assert_eq!(check("{'description': 'x'}"), Some(Problem::SingleQuotes));
        assert_eq!(check("[\"directory\"]"), Some(Problem::NotAnObject));
        assert_eq!(check("{\"capabilites\": []}"), Some(Problem::UnknownKey));
        assert_eq!(check("{\"description\": \"x\" \"name\": \"y\"}"), Some(Problem::Syntax));
        assert_eq!(check("{\"description\": \"x\"} trailing"), Some(Problem::Syntax));
        assert_eq!(check("{\"description\": tru}"), Some(Problem::Syntax));
    }

    #[test]
    fn nested_keys_are_not_checked_against_the_manifest() {
        assert_eq!(check(r#"{"config_schema": {"anything": {"goes": 1}}}"#), None);
    }

    #[test]
    fn every_first_party_file_passes() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut checked = 0;
        for dir in ["plugins", "examples", "tests/plugins"] {
            let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else { continue };
            for entry in entries.flatten() {
                if let Ok(file) = std::fs::read_to_string(entry.path().join("clienthub.json")) {
                    assert_eq!(check(&file), None, "{}", entry.path().display());
                    checked += 1;
                }
            }
        }
        assert!(checked >= 10, "only {checked} clienthub.json files found");
    }
}
