//! Full-text search over appeals (tantivy, in `<data dir>/search`): the text, the subject and
//! the customer's later messages with Russian stemming (верните, вернуть and вернул meet, and
//! so do возврат and вернуть by a small table of word families), and
//! exact tokens for the contact's name, e-mail, phone (E.164 and its digits) and platform ids.
//! A query that reads as a phone number (`8 912 345-67-89`, `+7 (912) 3456789`) finds the
//! phone in any spelling. Hits are ranked (BM25).
//!
//! The index follows the store: every appeal write marks the appeal in the store's
//! search-pending tree in the same transaction ([`crate::store::index`]), and an indexer
//! thread indexes the marked appeals, commits, then clears the marks it handled. A crash
//! between the store and the index leaves the marks, so the indexer catches up at start; a
//! missing or unreadable index directory is rebuilt from every stored appeal.

use crate::appeal::Appeal;
use crate::store::{AppealQuery, Store};
use crate::supervisor::{Rest, Role, Round, Supervisor};
use anyhow::{Context, Result};
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer, Token, TokenFilter,
    TokenStream, Tokenizer,
};
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument, Term};

/// The Russian analyzer's name.
const RUSSIAN: &str = "ru_stem";
/// Appeals indexed per commit at most.
const BATCH: usize = 2_000;
/// Memory the index writer may buffer before it writes a segment.
const WRITER_BYTES: usize = 32 << 20;

/// The appeal search index and its writer.
pub struct Search {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

/// The index's fields.
#[derive(Clone, Copy)]
struct Fields {
    /// The appeal id (stored: what a hit answers).
    id: Field,
    /// Words, stemmed.
    text: Field,
    /// Exact tokens: phone, e-mail, name, platform ids.
    exact: Field,
    /// The appeal's filter terms as `field=value` (`region=msk`), so filters apply inside
    /// the search.
    term: Field,
    /// When it was received (ms since the epoch), for time ranges.
    received: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let id = builder.add_text_field("id", STRING | STORED);
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(RUSSIAN)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = builder.add_text_field("text", TextOptions::default().set_indexing_options(indexing));
    let exact = builder.add_text_field("exact", STRING);
    let term = builder.add_text_field("term", STRING);
    let received = builder.add_u64_field("received", INDEXED | FAST);
    (builder.build(), Fields { id, text, exact, term, received })
}

impl Search {
    /// Opens the index under `dir`, or creates it (then every stored appeal is marked for
    /// indexing), and registers the Russian analyzer.
    ///
    /// # Errors
    /// When the directory cannot be created or the store cannot be read.
    pub fn open(dir: &Path, store: &Store) -> Result<Self> {
        let (schema, fields) = schema();
        let version = dir.join("analyzer-version");
        let current = std::fs::read_to_string(&version).is_ok_and(|v| v == ANALYZER_VERSION);
        let opened = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema && current => Some(index),
            _ => None,
        };
        let index = match opened {
            Some(index) => index,
            None => {
                let _ = std::fs::remove_dir_all(dir);
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                let index = Index::create_in_dir(dir, schema).context("creating the search index")?;
                std::fs::write(&version, ANALYZER_VERSION).context("writing the analyzer version")?;
                let marked = store.mark_all_for_search()?;
                tracing::info!(appeals = marked, "search index created; indexing the stored appeals");
                index
            }
        };
        let russian = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(64))
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::Russian))
            .filter(VerbResidue)
            .build();
        index.tokenizers().register(RUSSIAN, russian);
        let mut writer =
            index.writer_with_num_threads(1, WRITER_BYTES).context("opening the index writer")?;
        // A process killed mid-commit leaves files no commit names (a delete file whose name
        // the next commit would take): removed before the first commit.
        if let Err(e) = writer.garbage_collect_files().wait() {
            tracing::warn!("clearing the search index's leftover files: {e}");
        }
        // tantivy chooses its segment merges at a commit, so merges a stopped process left
        // undone would wait for the first appeal indexed and run beside the intake; a commit
        // now starts them in the background as the host starts.
        writer.commit().context("committing the search index at start")?;
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .context("opening the index reader")?;
        Ok(Self { index, reader, writer: Mutex::new(writer), fields })
    }

    /// Indexes what the store marked, on a blocking thread, every `period` (at once while a
    /// batch was full), under `workers`.
    pub fn follow(self: &std::sync::Arc<Self>, store: Store, period: Duration, workers: &Supervisor) {
        let search = self.clone();
        workers.every("search", Role::EveryNode, Rest::Fixed(period), None, move || {
            let (search, store) = (search.clone(), store.clone());
            async move {
                match tokio::task::spawn_blocking(move || search.catch_up(&store)).await?? {
                    0 => Ok(Round::Rest),
                    _ => Ok(Round::Again),
                }
            }
        });
    }

    /// Indexes up to a batch of marked appeals and commits; how many were handled.
    ///
    /// # Errors
    /// On storage or index failure (the marks stay, so nothing is lost).
    pub fn catch_up(&self, store: &Store) -> Result<usize> {
        let marked = store.search_pending(BATCH)?;
        if marked.is_empty() {
            return Ok(0);
        }
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for (id, _) in &marked {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
            if let Some(appeal) = store.appeal(id)? {
                writer.add_document(self.document(&appeal))?;
            }
        }
        writer.commit().context("committing the search index")?;
        drop(writer);
        self.reader.reload()?;
        for (id, mark) in &marked {
            store.search_done(id, mark)?;
        }
        Ok(marked.len())
    }

    fn document(&self, appeal: &Appeal) -> TantivyDocument {
        let fields = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(fields.id, &appeal.id);
        doc.add_u64(fields.received, appeal.received_at);
        for (field, value) in crate::store::index::terms(appeal) {
            doc.add_text(fields.term, format!("{field}={value}"));
        }
        let messages = appeal.history.iter().filter_map(|e| match &e.event {
            crate::event::Event::Message { text, .. } => Some(text.as_str()),
            _ => None,
        });
        let words = [
            appeal.subject.as_deref().unwrap_or(""),
            &appeal.text,
            appeal.contact.name.as_deref().unwrap_or(""),
        ];
        for part in words.into_iter().chain(messages) {
            doc.add_text(fields.text, part);
        }
        let contact = &appeal.contact;
        let mut exact: Vec<String> = vec![appeal.id.to_lowercase(), appeal.platform_id.to_lowercase()];
        exact.extend(contact.email.iter().map(|e| e.to_lowercase()));
        exact.extend(contact.platform_user_id.iter().map(|u| u.to_lowercase()));
        exact.extend(contact.name.iter().map(|n| n.to_lowercase()));
        if let Some(phone) = &contact.phone {
            exact.push(phone.clone());
            exact.push(phone.trim_start_matches('+').to_string());
        }
        for value in exact.into_iter().filter(|v| !v.is_empty()) {
            doc.add_text(fields.exact, value);
        }
        doc
    }

    /// Ids of the appeals matching `q` and `query`'s filters and time range, best first, at
    /// most `limit`. The filters are those of the appeal as last indexed (a moment behind
    /// the store).
    ///
    /// # Errors
    /// When the index cannot be read.
    pub fn find(&self, q: &str, query: &AppealQuery, limit: usize) -> Result<Vec<String>> {
        let fields = self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![fields.text]);
        parser.set_conjunction_by_default();
        let (words, _) = parser.parse_query_lenient(q);
        let mut either: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, words)];
        for exact in exact_terms(q) {
            let term = Term::from_field_text(fields.exact, &exact);
            either.push((Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic))));
        }
        let mut all: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(BooleanQuery::new(either)))];
        for (field, value) in &query.terms {
            let term = Term::from_field_text(fields.term, &format!("{field}={value}"));
            all.push((Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::Basic))));
        }
        if !query.any_of.is_empty() {
            let term = |(field, value): &(String, String)| -> (Occur, Box<dyn Query>) {
                let term = Term::from_field_text(fields.term, &format!("{field}={value}"));
                (Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::Basic)))
            };
            let alternatives = query
                .any_of
                .iter()
                .map(|all| {
                    (
                        Occur::Should,
                        Box::new(BooleanQuery::new(all.iter().map(term).collect())) as Box<dyn Query>,
                    )
                })
                .collect();
            all.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
        }
        if query.from.is_some() || query.to.is_some() {
            let from = Term::from_field_u64(fields.received, query.from.unwrap_or(0));
            let to = Term::from_field_u64(fields.received, query.to.unwrap_or(u64::MAX));
            all.push((Occur::Must, Box::new(RangeQuery::new(Bound::Included(from), Bound::Excluded(to)))));
        }
        let searcher = self.reader.searcher();
        let hits = searcher.search(&BooleanQuery::new(all), &TopDocs::with_limit(limit.max(1)))?;
        let mut ids = Vec::with_capacity(hits.len());
        for (_, address) in hits {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc.get_first(fields.id).and_then(|v| v.as_str()) {
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }
}

/// Snowball's Russian stemmer leaves the past and infinitive endings of many verbs
/// (вернуть → вернут, вернул → вернул, but верните → верн): this strips what is left of them
/// from stems of five letters or more, so the forms of a verb meet. Then the words of one
/// family that stemming cannot join (возврат and вернуть, доставка and доставлен) get the
/// family's stem ([`FAMILIES`]).
#[derive(Clone)]
struct VerbResidue;

/// Endings Snowball leaves on verb stems.
const RESIDUES: [&str; 6] = ["ут", "ул", "ал", "ил", "ел", "ят"];

/// Stem beginnings → the stem of their word family: the families customers write about whose
/// forms a stemmer cannot join (a suppletive root or an alternating consonant).
const FAMILIES: [(&str, &str); 7] = [
    ("возврат", "верн"),
    ("возвращ", "верн"),
    ("доставл", "достав"),
    ("доставк", "достав"),
    ("оплач", "оплат"),
    ("бракова", "брак"),
    ("заменя", "замен"),
];

/// Bump when the analyzer or the indexed terms change: an index made by another is rebuilt.
const ANALYZER_VERSION: &str = "4";

impl TokenFilter for VerbResidue {
    type Tokenizer<T: Tokenizer> = VerbResidueTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> VerbResidueTokenizer<T> {
        VerbResidueTokenizer(tokenizer)
    }
}

#[derive(Clone)]
struct VerbResidueTokenizer<T>(T);

impl<T: Tokenizer> Tokenizer for VerbResidueTokenizer<T> {
    type TokenStream<'a> = VerbResidueStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        VerbResidueStream(self.0.token_stream(text))
    }
}

struct VerbResidueStream<T>(T);

impl<T: TokenStream> TokenStream for VerbResidueStream<T> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        let text = &mut self.0.token_mut().text;
        if text.chars().count() >= 5
            && let Some(residue) = RESIDUES.iter().find(|r| text.ends_with(*r))
        {
            text.truncate(text.len() - residue.len());
        }
        if let Some((_, family)) = FAMILIES.iter().find(|(start, _)| text.starts_with(start)) {
            *text = (*family).to_string();
        }
        true
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// What a query can match exactly: itself lower-cased (an e-mail, a platform id, a name) and,
/// when it reads as a phone number, that number in E.164 and as digits.
fn exact_terms(q: &str) -> Vec<String> {
    let mut terms = vec![q.trim().to_lowercase()];
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let phoneish = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if phoneish && digits.len() >= 7 {
        if let Some(e164) = crate::normalize::phone_e164(q) {
            terms.push(e164.trim_start_matches('+').to_string());
            terms.push(e164);
        }
        terms.push(digits);
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::Search;
    use crate::appeal::Appeal;
    use crate::clock::SystemClock;
    use crate::store::{AppealQuery, DEFAULT_CACHE_BYTES, Store};

    fn appeal(store: &Store, text: &str, phone: Option<&str>) -> String {
        let mut appeal = Appeal { id: store.fresh_id(), text: text.into(), ..Appeal::default() };
        appeal.contact.phone = phone.map(Into::into);
        store.put_appeal(&appeal).unwrap();
        appeal.id
    }

    #[test]
    fn russian_word_forms_and_phones_are_found_and_the_index_catches_up_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), std::sync::Arc::new(SystemClock), DEFAULT_CACHE_BYTES).unwrap();
        let refund = appeal(&store, "Хочу вернуть заказ 5512", None);
        let money = appeal(&store, "Верните деньги, пожалуйста", Some("+79123456789"));
        let courier = appeal(&store, "Где курьер? Доставка опаздывает", None);
        let search = Search::open(&dir.path().join("search"), &store).unwrap();
        let any = AppealQuery::default();
        assert_eq!(search.catch_up(&store).unwrap(), 3);
        assert_eq!(search.catch_up(&store).unwrap(), 0, "the marks are cleared");
        let mut found = search.find("вернуть", &any, 10).unwrap();
        found.sort();
        let mut expected = vec![refund.clone(), money.clone()];
        expected.sort();
        assert_eq!(found, expected);
        assert_eq!(search.find("доставки", &any, 10).unwrap(), std::slice::from_ref(&courier));
        for typed in ["8 912 345-67-89", "+7 (912) 3456789"] {
            assert_eq!(search.find(typed, &any, 10).unwrap(), std::slice::from_ref(&money), "{typed}");
        }
        assert!(
            search.find("вернуть деньги", &any, 10).unwrap() == std::slice::from_ref(&money),
            "all words by default"
        );

        // Written but not yet indexed when the process stops: found after the next start.
        let late = appeal(&store, "Возврат не пришёл", None);
        drop(search);
        let search = Search::open(&dir.path().join("search"), &store).unwrap();
        search.catch_up(&store).unwrap();
        let mut found = search.find("возврата", &any, 10).unwrap();
        found.sort();
        let mut expected = vec![refund, money, late];
        expected.sort();
        assert_eq!(found, expected, "возврат is of вернуть's family");
        // A lost index directory is rebuilt from the store.
        drop(search);
        std::fs::remove_dir_all(dir.path().join("search")).unwrap();
        let search = Search::open(&dir.path().join("search"), &store).unwrap();
        assert_eq!(search.catch_up(&store).unwrap(), 4);
        assert_eq!(search.find("опаздывают", &any, 10).unwrap(), [courier]);
    }

    #[test]
    fn a_phone_typed_any_way_reads_as_one_number() {
        for typed in ["8 912 345-67-89", "+7 (912) 3456789", "89123456789", "+79123456789"] {
            assert!(super::exact_terms(typed).contains(&"+79123456789".to_string()), "{typed}");
        }
        assert_eq!(super::exact_terms("Возврат"), ["возврат"]);
    }
}
