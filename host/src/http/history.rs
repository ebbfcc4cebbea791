//! An appeal's history as the API shows it: each event with its stage, the stage's title and
//! its words in the reader's language (`?lang=en`, else `Accept-Language`, else Russian), with
//! the directory's names for ids, beside the typed event itself for programs.

use super::call::Call;
use super::reply::query_pairs;
use crate::appeal::Appeal;
use crate::directory::Directory;
use crate::event::Event;
use crate::text::{self, Lang};
use serde::Serialize;

/// One entry of the history as the API shows it.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    /// The stage (`handed_off`, …).
    pub stage: &'a str,
    /// The stage's title in the reader's language.
    pub title: &'a str,
    /// The plugin that acted, `name@version`.
    pub plugin: Option<&'a str>,
    /// What happened, in words, in the reader's language.
    pub detail: String,
    /// What happened, as data.
    pub event: &'a Event,
}

/// The language the caller reads.
pub fn lang(call: &Call) -> Lang {
    lang_of(call.query(), call.header("accept-language"))
}

/// The language asked for by a request's query (`lang=en`) or its `Accept-Language`; Russian
/// when neither says.
pub fn lang_of(query: Option<&str>, accept_language: Option<&str>) -> Lang {
    let asked = query_pairs(query).into_iter().find(|(k, _)| k == "lang").map(|(_, v)| v);
    match asked {
        Some(code) => Lang::parse(&code),
        None => accept_language.map_or(Lang::Ru, Lang::parse),
    }
}

/// `appeal` as the API answers with it: its history in words for the caller.
pub fn shown(call: &Call, appeal: &Appeal) -> serde_json::Value {
    let mut body = serde_json::to_value(appeal).unwrap_or_default();
    let directory = call.app.store.directory();
    body["history"] = serde_json::to_value(entries(appeal, lang(call), &directory)).unwrap_or_default();
    body
}

/// `appeal`'s history as the API shows it.
pub fn entries<'a>(appeal: &'a Appeal, lang: Lang, directory: &Directory) -> Vec<Entry<'a>> {
    appeal
        .history
        .iter()
        .map(|e| Entry {
            at: e.at,
            stage: e.stage(),
            title: text::stage_title(e.stage(), lang),
            plugin: e.plugin.as_deref(),
            detail: text::render(&e.event, lang, directory),
            event: &e.event,
        })
        .collect()
}
