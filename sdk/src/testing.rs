//! A native test harness: run a plugin's logic under plain `cargo test`, with an in-memory
//! key-value store, configuration, routing directory and clock standing in for the host.
//!
//! ```
//! use clienthub_sdk::testing::{Harness, appeal};
//!
//! let mut harness = Harness::new().with_config(r##"{"hashtags":["#promo"]}"##);
//! let text = harness.run(|| clienthub_sdk::config::raw());
//! assert!(text.contains("#promo"));
//! # let _ = appeal("telegram", "hi");
//! ```

use crate::services::log::Level;
use crate::{
    AdapterOutput, Appeal, Contact, Department, Employee, Event, Header, HttpRequest, HttpResponse,
    InboundMessage, OutboundReply, OutboundRequest, Region, Topic, TopicRule,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

/// The state a plugin sees through the host services while [`Harness::run`] runs.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The plugin's key-value namespace.
    pub kv: BTreeMap<String, Vec<u8>>,
    /// The admin configuration as JSON text.
    pub config: String,
    /// Routing directory: regions.
    pub regions: Vec<Region>,
    /// Routing directory: departments.
    pub departments: Vec<Department>,
    /// Routing directory: employees.
    pub employees: Vec<Employee>,
    /// Routing directory: topics.
    pub topics: Vec<Topic>,
    /// Routing directory: the topics' rules (a topic without one has the default rule).
    pub topic_rules: Vec<TopicRule>,
    /// What [`crate::clock::now_ms`] returns.
    pub now_ms: u64,
    /// Lines the plugin logged.
    pub log: Vec<(Level, String)>,
    /// Answers [`crate::http::send`] gives, in order.
    pub http_answers: VecDeque<Result<HttpResponse, String>>,
    /// Requests the plugin made through [`crate::http::send`].
    pub http_requests: Vec<OutboundRequest>,
    /// The capabilities the plugin's manifest asks for (`directory`, `key-value`), read from
    /// the crate's `clienthub.json` as the host would grant them; `None` (nothing enforced)
    /// outside a plugin crate.
    pub capabilities: Option<Vec<String>>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// The string capabilities of the `clienthub.json` of the crate under test (`cargo test` sets
/// `CARGO_MANIFEST_DIR`), `None` when there is no such file.
fn declared_capabilities() -> Option<Vec<String>> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let text = std::fs::read_to_string(std::path::Path::new(&dir).join("clienthub.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(
        manifest["capabilities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect(),
    )
}

thread_local! {
    static CURRENT: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

/// Runs `f` on the harness of the running [`Harness::run`]. Panics outside one: a plugin's
/// native test must go through the harness.
#[cfg_attr(target_arch = "wasm32", expect(dead_code, reason = "native builds only"))]
pub(crate) fn with_harness<R>(f: impl FnOnce(&mut Harness) -> R) -> R {
    CURRENT.with(|cell| {
        let mut guard = cell.borrow_mut();
        let harness = guard
            .as_mut()
            .expect("host services are only available inside clienthub_sdk::testing::Harness::run");
        f(harness)
    })
}

impl Harness {
    /// An empty harness: no keys, configuration `{}`, an empty directory, clock at
    /// 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self {
            kv: BTreeMap::new(),
            config: "{}".to_string(),
            regions: Vec::new(),
            departments: Vec::new(),
            employees: Vec::new(),
            topics: Vec::new(),
            topic_rules: Vec::new(),
            now_ms: 1_767_225_600_000,
            log: Vec::new(),
            http_answers: VecDeque::new(),
            http_requests: Vec::new(),
            capabilities: declared_capabilities(),
        }
    }

    /// Whether the manifest asks for `capability` (always, outside a plugin crate).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))] // In a component the host decides.
    pub(crate) fn granted(&self, capability: &str) -> bool {
        self.capabilities.as_ref().is_none_or(|all| all.iter().any(|c| c == capability))
    }

    /// Queues the answer to the plugin's next [`crate::http::send`].
    pub fn with_http_answer(mut self, answer: Result<HttpResponse, String>) -> Self {
        self.http_answers.push_back(answer);
        self
    }

    /// Sets the admin configuration (JSON text).
    pub fn with_config(mut self, json: &str) -> Self {
        self.config = json.to_string();
        self
    }

    /// Adds a region.
    pub fn with_region(mut self, id: &str, cities: &[&str], stores: &[&str]) -> Self {
        self.regions.push(Region {
            id: id.into(),
            name: id.into(),
            cities: cities.iter().map(|s| s.to_string()).collect(),
            stores: stores.iter().map(|s| s.to_string()).collect(),
        });
        self
    }

    /// Adds a department whose queue is its id.
    pub fn with_department(mut self, id: &str) -> Self {
        self.departments.push(Department { id: id.into(), name: id.into(), queue: id.into() });
        self
    }

    /// Adds an active employee of `department` serving `regions` (empty: every region).
    pub fn with_employee(mut self, id: &str, department: &str, regions: &[&str]) -> Self {
        self.employees.push(Employee {
            id: id.into(),
            name: id.into(),
            department: department.into(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            active: true,
        });
        self
    }

    /// Adds a topic recognised by `keywords`, handled by `department`.
    pub fn with_topic(mut self, id: &str, keywords: &[&str], department: &str) -> Self {
        self.topics.push(Topic {
            id: id.into(),
            name: id.into(),
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            department: department.into(),
            reaction_minutes: None,
        });
        self
    }

    /// Sets the rule of topic `id` (added with [`Harness::with_topic`]): exact keywords,
    /// exclusions, channels and priority.
    pub fn with_topic_rule(
        mut self,
        id: &str,
        exact_keywords: &[&str],
        exclusions: &[&str],
        channels: &[&str],
        priority: i32,
    ) -> Self {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        self.topic_rules.retain(|r| r.topic != id);
        self.topic_rules.push(TopicRule {
            topic: id.into(),
            exact_keywords: list(exact_keywords),
            exclusions: list(exclusions),
            channels: list(channels),
            priority,
        });
        self
    }

    /// Runs `f` with this harness standing in for the host; state changes (key-value, log)
    /// stay in the harness for the next run and for assertions.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        CURRENT.with(|cell| *cell.borrow_mut() = Some(std::mem::take(self)));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        CURRENT.with(|cell| *self = cell.borrow_mut().take().unwrap_or_default());
        match result {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// An appeal as the host would give it to a filter or router: id `01TEST`, this channel and
/// text, everything else empty.
pub fn appeal(channel: &str, text: &str) -> Appeal {
    Appeal {
        id: "01TEST".into(),
        channel: channel.into(),
        platform_id: "1".into(),
        conversation_key: "c1".into(),
        received_at: 1_767_225_600_000,
        contact: Contact { name: None, phone: None, email: None, platform_user_id: None },
        subject: None,
        text: text.into(),
        attachments: Vec::new(),
        metadata: Vec::new(),
        tags: Vec::new(),
    }
}

/// A `POST` webhook request with these headers and body, as the host would pass it.
pub fn post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers: headers.iter().map(|(n, v)| Header { name: n.to_string(), value: v.to_string() }).collect(),
        body: body.to_vec(),
    }
}

/// A reply as the host would pass it to `render_reply`: id `01REPLY`, this text, author
/// `operator`.
pub fn reply(text: &str) -> OutboundReply {
    OutboundReply { id: "01REPLY".into(), text: text.into(), author: Some("operator".into()) }
}

/// A platform's answer to a rendered call: this status and JSON body.
pub fn answer(status: u16, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::new(status, "application/json", body.to_string())
}

/// The one follow-up message an adapter found. Panics, naming what it found instead, when the
/// output holds anything else.
pub fn only_follow_up(output: AdapterOutput) -> InboundMessage {
    match <[Event; 1]>::try_from(output.events) {
        Ok([Event::FollowUp(m)]) => m,
        other => panic!("expected one follow-up, got {other:?}"),
    }
}

/// The one new appeal an adapter found. Panics, naming what it found instead, when the output
/// holds anything else.
pub fn only_new_appeal(output: AdapterOutput) -> InboundMessage {
    match <[Event; 1]>::try_from(output.events) {
        Ok([Event::NewAppeal(m)]) => m,
        other => panic!("expected one new appeal, got {other:?}"),
    }
}

/// Every message an adapter found, all follow-ups. Panics at the first other event.
pub fn follow_ups(output: AdapterOutput) -> Vec<InboundMessage> {
    output
        .events
        .into_iter()
        .map(|e| match e {
            Event::FollowUp(m) => m,
            other => panic!("expected follow-ups, got {other:?}"),
        })
        .collect()
}
