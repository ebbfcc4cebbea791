//! Automatic rollback: a version activated over an earlier one is watched for its first calls
//! (the threshold's window); when enough of them fail (traps, timeouts, out-of-memory, errors,
//! malformed results) the host rolls it back — the event is in the plugin's activation log and
//! the logs.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

/// When a new version is rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Calls watched after activation.
    pub window: u32,
    /// Failures needed, at least.
    pub min_errors: u32,
    /// Share of failed calls (0–1) that trips it, once `min_errors` is reached.
    pub error_rate: f64,
}

impl Default for Threshold {
    fn default() -> Self {
        Self { window: 50, min_errors: 5, error_rate: 0.2 }
    }
}

struct Watch {
    name: String,
    threshold: Threshold,
    calls: u32,
    errors: u32,
    last_error: String,
}

/// The watched versions and the ones that tripped.
#[derive(Default)]
pub struct Health {
    watched: Mutex<HashMap<String, Watch>>,
    tripped: Mutex<Vec<(String, String, String)>>,
}

impl Health {
    /// Watches the version `label` of `name` for its first calls.
    pub fn watch(&self, label: &str, name: &str, threshold: Threshold) {
        let watch = Watch { name: name.into(), threshold, calls: 0, errors: 0, last_error: String::new() };
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        watched.retain(|_, w| w.name != name);
        watched.insert(label.into(), watch);
    }

    /// Stops watching `name`.
    pub fn unwatch(&self, name: &str) {
        self.watched.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, w| w.name != name);
    }

    /// A call of `label` and its failure, if it failed.
    pub fn record(&self, label: &str, error: Option<&str>) {
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        let Some(watch) = watched.get_mut(label) else { return };
        watch.calls += 1;
        if let Some(error) = error {
            watch.errors += 1;
            watch.last_error = error.chars().take(300).collect();
        }
        let t = watch.threshold;
        let tripped =
            watch.errors >= t.min_errors && f64::from(watch.errors) >= t.error_rate * f64::from(watch.calls);
        if tripped {
            let why =
                format!("{} of {} calls failed (last: {})", watch.errors, watch.calls, watch.last_error);
            let name = watch.name.clone();
            watched.remove(label);
            self.tripped.lock().unwrap_or_else(|e| e.into_inner()).push((name, label.to_string(), why));
        } else if watch.calls >= t.window {
            watched.remove(label);
        }
    }

    /// Whether no version has tripped (cheap; checked after every webhook).
    pub fn is_quiet(&self) -> bool {
        self.tripped.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// (name, label, why) of the versions that tripped since the last call.
    pub fn take_tripped(&self) -> Vec<(String, String, String)> {
        std::mem::take(&mut *self.tripped.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
