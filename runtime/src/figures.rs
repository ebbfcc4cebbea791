//! What plugin calls did since the process started, by `name@version`: calls, failed calls by
//! kind, latency. The families are the runtime's; the host registers them in its `/metrics`
//! registry ([`register`]) and reads the counts for the plugin list ([`counts`]).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Plugin {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginError {
    plugin: String,
    kind: String,
}

struct Figures {
    calls: Family<Plugin, Counter>,
    errors: Family<PluginError, Counter>,
    latency: Family<Plugin, Histogram, fn() -> Histogram>,
}

static FIGURES: LazyLock<Figures> = LazyLock::new(|| Figures {
    calls: Family::default(),
    errors: Family::default(),
    latency: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_005, 4.0, 10))),
});

/// The kinds of failed plugin calls (`CallError`'s).
const ERROR_KINDS: [&str; 5] = ["timeout", "out_of_memory", "trap", "plugin", "oversized"];

/// Adds the plugin-call families to the host's registry.
pub fn register(registry: &mut Registry) {
    registry.register("plugin_calls", "Plugin calls, by plugin@version", FIGURES.calls.clone());
    registry.register(
        "plugin_errors",
        "Failed plugin calls, by plugin@version and kind",
        FIGURES.errors.clone(),
    );
    registry.register(
        "plugin_call_seconds",
        "Plugin call latency, by plugin@version",
        FIGURES.latency.clone(),
    );
}

/// Counts one call of `plugin` that took `elapsed` and failed with `error`, if it did.
pub(crate) fn record(plugin: &str, elapsed: Duration, error: Option<&str>) {
    let label = Plugin { plugin: plugin.into() };
    FIGURES.calls.get_or_create(&label).inc();
    FIGURES.latency.get_or_create(&label).observe(elapsed.as_secs_f64());
    if let Some(kind) = error {
        FIGURES.errors.get_or_create(&PluginError { plugin: plugin.into(), kind: kind.into() }).inc();
    }
}

/// Calls and failed calls of a plugin version (`name@version`) since the process started.
pub fn counts(plugin: &str) -> (u64, u64) {
    let calls = FIGURES.calls.get_or_create(&Plugin { plugin: plugin.into() }).get();
    let errors = ERROR_KINDS
        .iter()
        .map(|kind| {
            FIGURES.errors.get_or_create(&PluginError { plugin: plugin.into(), kind: (*kind).into() }).get()
        })
        .sum();
    (calls, errors)
}
