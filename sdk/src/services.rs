//! Safe wrappers over the host services a plugin imports.
//!
//! In a plugin built for `wasm32` each call goes to the host. In a native build (the plugin's
//! own `cargo test`) it goes to the [`crate::testing::Harness`] running the test.

#[cfg(target_arch = "wasm32")]
use crate::bindings::host::clienthub::plugin as wit;

/// Writing to the host's log, tagged with the plugin's name and version.
pub mod log {
    /// Logs a line at debug level.
    pub fn debug(message: &str) {
        write(Level::Debug, message);
    }
    /// Logs a line at info level.
    pub fn info(message: &str) {
        write(Level::Info, message);
    }
    /// Logs a line at warn level.
    pub fn warn(message: &str) {
        write(Level::Warn, message);
    }
    /// Logs a line at error level.
    pub fn error(message: &str) {
        write(Level::Error, message);
    }

    pub use crate::bindings::host::clienthub::plugin::log::Level;

    /// Logs a line at the given level.
    pub fn write(level: Level, message: &str) {
        #[cfg(target_arch = "wasm32")]
        super::wit::log::write(level, message);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_harness(|h| h.log.push((level, message.to_string())));
    }
}

/// The plugin's own key-value namespace (needs the `key-value` capability).
pub mod kv {
    /// The value under `key`, if any.
    ///
    /// # Errors
    /// When the plugin lacks the `key-value` capability or storage fails.
    pub fn get(key: &str) -> Result<Option<Vec<u8>>, String> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::kv::get(key);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_harness(|h| Ok(kv_of(h)?.get(key).cloned()))
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// When the plugin lacks the `key-value` capability or storage fails.
    pub fn set(key: &str, value: &[u8]) -> Result<(), String> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::kv::set(key, value);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_harness(|h| {
            kv_of(h)?.insert(key.to_string(), value.to_vec());
            Ok(())
        })
    }

    /// Removes `key`.
    ///
    /// # Errors
    /// When the plugin lacks the `key-value` capability or storage fails.
    pub fn delete(key: &str) -> Result<(), String> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::kv::delete(key);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_harness(|h| {
            kv_of(h)?.remove(key);
            Ok(())
        })
    }

    /// Keys starting with `prefix`, in byte order, at most `limit`.
    ///
    /// # Errors
    /// When the plugin lacks the `key-value` capability or storage fails.
    pub fn list_keys(prefix: &str, limit: u32) -> Result<Vec<String>, String> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::kv::list_keys(prefix, limit);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_harness(|h| {
            Ok(kv_of(h)?
                .range(prefix.to_string()..)
                .map(|(k, _)| k.clone())
                .take_while(|k| k.starts_with(prefix))
                .take(limit as usize)
                .collect())
        })
    }

    /// The harness's store, as the host grants it: only with the `key-value` capability (the
    /// host's words when it is missing).
    #[cfg(not(target_arch = "wasm32"))]
    fn kv_of(
        h: &mut crate::testing::Harness,
    ) -> Result<&mut std::collections::BTreeMap<String, Vec<u8>>, String> {
        match h.granted("key-value") {
            true => Ok(&mut h.kv),
            false => Err("this plugin's manifest does not ask for the key-value capability".into()),
        }
    }
}

/// The plugin's admin configuration.
pub mod config {
    /// The configuration as JSON text (`{}` when none is set).
    pub fn raw() -> String {
        #[cfg(target_arch = "wasm32")]
        return super::wit::config::get();
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_harness(|h| h.config.clone())
    }

    /// The configuration deserialised into `T`. Give `T` `#[serde(default)]` fields so a
    /// plugin works before its admin configures it.
    ///
    /// # Errors
    /// When the stored JSON does not fit `T` (the host validated it against the manifest's
    /// schema, so this means the schema and `T` disagree).
    pub fn get<T: serde::de::DeserializeOwned>() -> Result<T, String> {
        serde_json::from_str(&raw()).map_err(|e| format!("plugin configuration: {e}"))
    }
}

/// Read-only look-ups in the routing directory (needs the `directory` capability: without it
/// the host fails the call, and so does the harness).
pub mod directory {
    use crate::{Department, Employee, Region, Topic, TopicRule};

    /// The harness, as the host grants the directory: a call without the capability fails the
    /// plugin's call (here: the test panics with the host's words).
    #[cfg(not(target_arch = "wasm32"))]
    fn with_directory<R>(f: impl FnOnce(&crate::testing::Harness) -> R) -> R {
        crate::testing::with_harness(|h| {
            assert!(
                h.granted("directory"),
                "this plugin's manifest does not ask for the directory capability: add \"directory\" to the \
                 capabilities in its clienthub.json"
            );
            f(h)
        })
    }

    /// All regions.
    pub fn regions() -> Vec<Region> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::directory::list_regions();
        #[cfg(not(target_arch = "wasm32"))]
        with_directory(|h| h.regions.clone())
    }

    /// All topics.
    pub fn topics() -> Vec<Topic> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::directory::list_topics();
        #[cfg(not(target_arch = "wasm32"))]
        with_directory(|h| h.topics.clone())
    }

    /// Every topic's rule (exact keywords, exclusions, channels, priority), in the topics'
    /// order. Against a host older than 0.1.4 a plugin built with it does not load.
    pub fn topic_rules() -> Vec<TopicRule> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::directory::list_topic_rules();
        #[cfg(not(target_arch = "wasm32"))]
        with_directory(|h| {
            let rule = |t: &Topic| {
                h.topic_rules.iter().find(|r| r.topic == t.id).cloned().unwrap_or_else(|| TopicRule {
                    topic: t.id.clone(),
                    exact_keywords: Vec::new(),
                    exclusions: Vec::new(),
                    channels: Vec::new(),
                    priority: 0,
                })
            };
            h.topics.iter().map(rule).collect()
        })
    }

    /// The department with this id.
    pub fn department(id: &str) -> Option<Department> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::directory::get_department(id);
        #[cfg(not(target_arch = "wasm32"))]
        with_directory(|h| h.departments.iter().find(|d| d.id == id).cloned())
    }

    /// Active employees of `department`; with `region`, only those serving it.
    pub fn employees(department: &str, region: Option<&str>) -> Vec<Employee> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::directory::list_employees(department, region);
        #[cfg(not(target_arch = "wasm32"))]
        with_directory(|h| {
            h.employees
                .iter()
                .filter(|e| e.active && e.department == department)
                .filter(|e| region.is_none_or(|r| e.regions.is_empty() || e.regions.iter().any(|x| x == r)))
                .cloned()
                .collect()
        })
    }
}

/// The host's clock.
pub mod clock {
    /// Milliseconds since the Unix epoch.
    pub fn now_ms() -> u64 {
        #[cfg(target_arch = "wasm32")]
        return super::wit::clock::now_ms();
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_harness(|h| h.now_ms)
    }
}

/// HTTP calls the host makes for the plugin (needs an `outbound-host` capability naming the
/// host). Channel adapters answer customers through [`crate::Channel::render_reply`] instead;
/// this is for lookups while the plugin works.
pub mod http {
    use crate::{HttpResponse, OutboundRequest};

    /// Performs `request` and returns the answer, whatever its status.
    ///
    /// # Errors
    /// When the host is not allowed, the URL is not absolute, or the call fails or times out.
    pub fn send(request: &OutboundRequest) -> Result<HttpResponse, String> {
        #[cfg(target_arch = "wasm32")]
        return super::wit::outbound_http::send(request);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_harness(|h| {
            h.http_requests.push(request.clone());
            h.http_answers.pop_front().unwrap_or_else(|| Err("the test harness has no answer queued".into()))
        })
    }
}
