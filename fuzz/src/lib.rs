//! What the fuzz targets share: an arbitrary webhook request, a first-party adapter run on it
//! natively, and one real host (first-party plugins active, sled on a temp dir) for the
//! targets that go through the host.

use clienthub::server::{Running, ServeOptions, start};
use clienthub_sdk::testing::Harness;
use clienthub_sdk::{Channel, Header, HttpRequest};
use std::sync::OnceLock;

/// Reads a fuzz input as a webhook request to `/hooks/{channel}`, laid out like HTTP so real
/// payloads make good seeds: the first line is `subpath?query` (both may be empty), header lines
/// (`name: value`) follow up to a blank line, the rest is the body. Without a blank line the
/// whole input is the body.
pub fn request(channel: &str, data: &[u8]) -> HttpRequest {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (String::from_utf8_lossy(&data[..at]).into_owned(), data[at + 2..].to_vec()),
        None => (String::new(), data.to_vec()),
    };
    let mut lines = head.lines();
    let target = lines.next().unwrap_or("");
    let (subpath, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| Header { name: name.trim().to_lowercase(), value: value.trim().to_string() })
        .collect();
    let subpath = subpath.trim_matches('/');
    HttpRequest {
        method: "POST".into(),
        path: if subpath.is_empty() {
            format!("/hooks/{channel}")
        } else {
            format!("/hooks/{channel}/{subpath}")
        },
        query: query.to_string(),
        headers,
        body,
    }
}

/// Runs adapter `C` natively (configured with `config`) on `data`: it may refuse, never panic.
pub fn adapter<C: Channel>(channel: &str, config: &str, data: &[u8]) {
    let request = request(channel, data);
    let mut harness = Harness::new().with_config(config);
    let _ = harness.run(|| C::handle(request));
}

/// The one host of this fuzzing process: every first-party plugin active, sample directory.
pub struct Host {
    pub running: Running,
    pub runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// Starts the host on first use.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir");
        // Compiled components are cached across runs (the cache is keyed by engine and sha256):
        // an instrumented Cranelift takes a while to compile thirteen plugins.
        let cache = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/compiled");
        std::fs::create_dir_all(&cache).expect("the compiled cache");
        std::os::unix::fs::symlink(&cache, dir.path().join("compiled")).expect("linking the cache");
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let running = runtime
            .block_on(start(ServeOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                data_dir: dir.path().to_path_buf(),
                admin_token: Some("fuzz".into()),
                limits: Default::default(),
                clock_control: false,
                connections: Default::default(),
                cluster: None,
                public_url: None,
                trusted_proxies: Vec::new(),
                cache_bytes: clienthub::store::DEFAULT_CACHE_BYTES,
                raw_retention: clienthub::server::DEFAULT_RAW_RETENTION,
                attachment_retention: clienthub::server::DEFAULT_ATTACHMENT_RETENTION,
                attachment_max_bytes: None,
                development: false,
            }))
            .expect("the host starts");
        let directory = serde_json::from_str(include_str!("../../examples/directory.json")).unwrap();
        running.app.store.put_directory(directory).expect("the sample directory");
        Host { running, runtime, _dir: dir }
    })
}
