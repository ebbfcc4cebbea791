//! `clienthub bench`: throughput and latency over HTTP on loopback, per-stage and
//! instantiation costs, and the WASM tax against the same plugin logic compiled natively.
//! It prints figures; it asserts nothing. `--history N` measures reading a long history
//! instead (`history`).

mod history;
mod load;
mod routing;
mod synthetic;

use crate::client::Client;
use crate::runtime::wit;
use crate::server::{ServeOptions, start};
use anyhow::{Context, Result};
use clienthub_sdk::testing::Harness;
use clienthub_sdk::{Channel, Filter, Router};
use load::{TELEGRAM_SECRET, configure, fixed_rate, offer, telegram};
use std::time::{Duration, Instant};

/// Benchmark options.
#[derive(Debug, clap::Args)]
pub struct BenchOptions {
    /// Requests for the throughput run.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent connections for the throughput run.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Offered rate (requests/s) of the latency run.
    #[arg(long, default_value_t = 2_000)]
    rate: u32,
    /// Length of the latency run, in seconds.
    #[arg(long, default_value_t = 5)]
    seconds: u32,
    /// Iterations of each per-stage measurement.
    #[arg(long, default_value_t = 5_000)]
    iterations: usize,
    /// Measure a cluster instead: nodes on the NATS JetStream server at this URL.
    #[arg(long, value_name = "nats://HOST:PORT")]
    store: Option<String>,
    /// Cluster sizes to measure, one after another (with `--store`).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    nodes: Vec<usize>,
    /// Writes between the cluster's state snapshots (with `--store`); after each cluster's
    /// run a fresh node joins and the time it takes is printed (a huge value: no snapshot,
    /// the node replays the whole stream).
    #[arg(long, default_value_t = 100_000)]
    snapshot_every: u64,
    /// Measure reading a long history instead: load this many appeals (measured at 100 k,
    /// 500 k, 1 M and this many).
    #[arg(long, value_name = "N")]
    history: Option<u64>,
    /// Webhooks of the intake burst at each point of the history run.
    #[arg(long, default_value_t = 10_000)]
    burst: usize,
    /// Keep the history run's data directory here (for profiling it afterwards) instead of
    /// a temporary one.
    #[arg(long, value_name = "DIR")]
    keep: Option<std::path::PathBuf>,
    /// The history run's block cache in MiB (for its loader and hosts; `serve`'s default
    /// when not given).
    #[arg(long, value_name = "MIB")]
    cache_mib: Option<u64>,
    /// Measure routing accuracy instead: the rules router over the labelled corpus in this
    /// folder's `routing-corpus.jsonl` with its `routing-directory.json`, by word forms and by
    /// substrings.
    #[arg(long, value_name = "EXAMPLES", num_args = 0..=1, default_missing_value = "examples")]
    routing: Option<std::path::PathBuf>,
}

/// Runs the benchmark: a `clienthub serve` child process on a temporary data directory under
/// load from this process, then per-stage costs in-process.
///
/// # Errors
/// When the host cannot start or a request fails outright.
pub async fn run(options: BenchOptions) -> Result<()> {
    if let Some(url) = &options.store {
        return cluster(url, &options).await;
    }
    if let Some(examples) = &options.routing {
        return routing::run(examples);
    }
    if let Some(total) = options.history {
        let cache_mib = options.cache_mib.unwrap_or(crate::store::DEFAULT_CACHE_BYTES >> 20);
        return history::run(total, options.burst, options.keep.as_deref(), cache_mib).await;
    }
    let dir = tempfile::tempdir()?;
    let host = HostProcess::serve(&dir.path().join("load"), &[])?;
    let client = Client::new(&host.base, Some("bench".into()));
    configure(&client).await?;
    println!(
        "ClientHub bench — {} cores; host pid {} on {}; mix per 10 webhooks: 3 Telegram, 3 VK comments \
         (1 contest noise), 2 WhatsApp (signed), 1 JSON form, 1 Tilda form",
        std::thread::available_parallelism()?,
        host.pid(),
        dir.path().display()
    );

    // Warm up (phonenumber metadata, pools, connections).
    offer(std::slice::from_ref(&client), 0, 500, 32).await?;

    let cpu_before = host.cpu()?;
    let started = Instant::now();
    let (ok, failed) =
        offer(std::slice::from_ref(&client), 1_000_000, options.requests, options.connections).await?;
    let elapsed = started.elapsed();
    let cpu = host.cpu()? - cpu_before;
    println!(
        "throughput: {:.0} appeals/s end to end ({ok} ok, {failed} failed, {} connections, durable acks)",
        ok as f64 / elapsed.as_secs_f64(),
        options.connections
    );
    println!(
        "host CPU: {} per appeal ({:.2} of {} cores busy); RSS {} MiB now, peak {} MiB",
        micros(cpu / ok.max(1) as u32),
        cpu.as_secs_f64() / elapsed.as_secs_f64(),
        std::thread::available_parallelism()?,
        host.memory_kib("VmRSS")? >> 10,
        host.memory_kib("VmHWM")? >> 10
    );

    let latencies = fixed_rate(&client, 5_000_000, options.rate, options.seconds).await?;
    println!(
        "latency at {}/s for {}s: p50 {} p99 {} p999 {} max {}",
        options.rate,
        options.seconds,
        micros(percentile(&latencies, 0.50)),
        micros(percentile(&latencies, 0.99)),
        micros(percentile(&latencies, 0.999)),
        micros(latencies.last().copied().unwrap_or_default()),
    );
    drop(host);

    let running = start(ServeOptions {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().join("stages"),
        admin_token: Some("bench".into()),
        limits: Default::default(),
        clock_control: false,
        connections: Default::default(),
        cluster: None,
        public_url: None,
        trusted_proxies: Vec::new(),
        cache_bytes: crate::store::DEFAULT_CACHE_BYTES,
        raw_retention: crate::server::DEFAULT_RAW_RETENTION,
        attachment_retention: crate::server::DEFAULT_ATTACHMENT_RETENTION,
        attachment_max_bytes: None,
        development: false,
    })
    .await?;
    configure(&Client::new(&format!("http://{}", running.addr), Some("bench".into()))).await?;
    stages(&running.app, options.iterations)?;
    running.stop().await
}

/// Appeals/s of clusters of `options.nodes` nodes on one NATS server: webhooks spread over the
/// nodes in turn; accepted (acknowledged once JetStream has them) and processed (stored by some
/// node's intake worker) rates, and the nodes' CPU per appeal.
async fn cluster(url: &str, options: &BenchOptions) -> Result<()> {
    println!(
        "ClientHub cluster bench — {} cores shared by nats-server, the nodes and this load generator; \
         NATS at {url}; the same mix as the single-host bench",
        std::thread::available_parallelism()?
    );
    for &count in &options.nodes {
        let dir = tempfile::tempdir()?;
        let name = format!("bench{}n{count}", std::process::id());
        let every = options.snapshot_every.to_string();
        let args = ["--store", url, "--cluster", name.as_str(), "--snapshot-every", every.as_str()];
        let nodes: Vec<HostProcess> = (0..count)
            .map(|i| HostProcess::serve(&dir.path().join(format!("node{i}")), &args))
            .collect::<Result<_>>()?;
        let clients: Vec<Client> = nodes.iter().map(|n| Client::new(&n.base, Some("bench".into()))).collect();
        configure(&clients[0]).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (warm, _) = offer(&clients, 0, 500, 32).await?;
        let stored = async || -> Result<u64> {
            Ok(clients[0].get_json("/healthz").await?["appeals"].as_u64().unwrap_or(0))
        };
        while stored().await? < warm as u64 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let cpu_before: Duration = nodes.iter().map(|n| n.cpu()).sum::<Result<_>>()?;
        let started = Instant::now();
        let (ok, failed) = offer(&clients, 1_000_000, options.requests, options.connections).await?;
        let accepted = started.elapsed();
        while stored().await? < (warm + ok) as u64 {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "the cluster stopped processing");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let processed = started.elapsed();
        let cpu: Duration = nodes.iter().map(|n| n.cpu()).sum::<Result<Duration>>()? - cpu_before;
        println!(
            "{count} node{}: accepted {:.0} webhooks/s ({ok} ok, {failed} failed); processed {:.0} \
             appeals/s end to end; nodes' CPU {} per appeal",
            if count == 1 { "" } else { "s" },
            ok as f64 / accepted.as_secs_f64(),
            ok as f64 / processed.as_secs_f64(),
            micros(cpu / ok.max(1) as u32),
        );
        // Let the dispatcher's node take its snapshot, if one is due, then time a fresh node.
        let snapshot = async || -> Result<u64> {
            Ok(clients[0].get_json("/healthz").await?["cluster"]["snapshot_end"].as_u64().unwrap_or(0))
        };
        let due = (warm + ok) as u64 >= options.snapshot_every;
        while due && snapshot().await? == 0 {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(1200), "no snapshot was taken");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let joining = Instant::now();
        let joiner = HostProcess::serve(&dir.path().join("joiner"), &args)?;
        println!(
            "a fresh node joined {} appeals in {:.1}s ({})",
            warm + ok,
            joining.elapsed().as_secs_f64(),
            if due { "from a snapshot plus the stream's tail" } else { "replaying the whole state stream" }
        );
        drop(joiner);
    }
    Ok(())
}

/// `clienthub serve` as a child process, killed on drop.
struct HostProcess {
    process: std::process::Child,
    base: String,
}

impl HostProcess {
    fn serve(dir: &std::path::Path, extra: &[&str]) -> Result<Self> {
        use std::io::BufRead;
        // The load generator is one address: it may hold as many connections as the host serves.
        let mut process = std::process::Command::new(std::env::current_exe()?)
            .args(["serve", "--listen", "127.0.0.1:0", "--max-connections-per-address", "4096", "--data-dir"])
            .arg(dir)
            .args(extra)
            .env("CLIENTHUB_ADMIN_TOKEN", "bench")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting clienthub serve")?;
        let mut lines = std::io::BufReader::new(process.stdout.take().context("no stdout")?).lines();
        let listening = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("clienthub listening on ").map(|url| url.trim().to_string()));
        let Some(base) = listening else {
            // Reaped, not left a zombie (a refused start is tried again by the caller).
            let _ = process.kill();
            process.wait()?;
            anyhow::bail!("clienthub serve exited before listening");
        };
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self { process, base })
    }

    fn pid(&self) -> u32 {
        self.process.id()
    }

    /// User + system CPU time the host has used (`/proc/PID/stat`, in USER_HZ = 100 ticks).
    fn cpu(&self) -> Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        let after_name = stat.rsplit_once(')').context("odd /proc stat")?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(Duration::from_millis(ticks * 10))
    }

    /// A memory figure of `/proc/PID/status` (`VmRSS`, `VmHWM`, `RssAnon`, `RssFile`), in KiB.
    fn memory_kib(&self, field: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status.lines().find(|l| l.starts_with(field)).context("no such field")?;
        Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
    }

    /// The host's resident mapped files in KiB (`/proc/PID/smaps`): those under `search` (the
    /// search index), the program itself, and the rest (shared libraries).
    fn mapped_kib(&self, search: &std::path::Path) -> Result<[u64; 3]> {
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", self.pid()))?;
        let program = std::env::current_exe()?;
        let (mut kib, mut part) = ([0; 3], None);
        for line in smaps.lines() {
            if let Some(rss) = line.strip_prefix("Rss:") {
                if let Some(part) = part {
                    kib[part] += rss.trim().trim_end_matches("kB").trim().parse::<u64>()?;
                }
            } else if line.split_whitespace().next().is_some_and(|f| f.contains('-')) {
                // A mapping's header: address range, permissions, offset, device, inode, path.
                let path = line.split_whitespace().nth(5).map(std::path::Path::new);
                part = match path {
                    Some(path) if path.starts_with(search) => Some(0),
                    Some(path) if path == program => Some(1),
                    Some(path) if path.is_absolute() => Some(2),
                    _ => None,
                };
            }
        }
        Ok(kib)
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Per-stage costs in WASM and natively, and warm instances against a fresh Store per call.
fn stages(app: &crate::http::App, iterations: usize) -> Result<()> {
    let pipeline = app.registry.pipeline();
    let runtime = app.registry.runtime();
    let directory = app.store.directory();
    let adapter = pipeline.channels.get("telegram").context("telegram is active")?;
    let filter = pipeline.filters.first().context("a filter is active")?;
    let router = pipeline.router.as_ref().context("a router is active")?;

    let body = telegram(1, "Хочу вернуть заказ, магазин 112");
    let request = wit::HttpRequest {
        method: "POST".into(),
        path: "/hooks/telegram".into(),
        query: String::new(),
        headers: vec![
            wit::Header { name: "content-type".into(), value: "application/json".into() },
            wit::Header { name: "x-telegram-bot-api-secret-token".into(), value: TELEGRAM_SECRET.into() },
        ],
        body: body.clone(),
    };
    let appeal = wit_appeal();

    let instantiate = runtime.instantiation_time(&router.plugin, iterations)?;
    let wasm_adapter = median(iterations, || {
        runtime
            .handle(&adapter.plugin, directory.clone(), &request)
            .map(drop)
            .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let wasm_filter = median(iterations, || {
        runtime
            .check(&filter.plugin, directory.clone(), &appeal)
            .map(drop)
            .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let wasm_router = median(iterations, || {
        runtime
            .route(&router.plugin, directory.clone(), &appeal)
            .map(drop)
            .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let fresh_router =
        runtime.route_on_fresh_stores(&router.plugin, directory.clone(), &appeal, iterations)?;

    let mut harness = native_harness(&directory);
    let sdk_request =
        clienthub_sdk::testing::post("/hooks/telegram", &[("content-type", "application/json")], &body);
    let sdk_appeal = clienthub_sdk::testing::appeal("telegram", &appeal.text);
    let native_adapter = median(iterations, || {
        harness
            .run(|| telegram::Telegram::handle(sdk_request.clone()))
            .map(drop)
            .map_err(|e| anyhow::anyhow!("{e:?}"))
    })?;
    let native_filter = median(iterations, || {
        harness
            .run(|| contest_filter::ContestFilter::check(sdk_appeal.clone()))
            .map(drop)
            .map_err(anyhow::Error::msg)
    })?;
    let native_router = median(iterations, || {
        harness
            .run(|| rules_router::RulesRouter::route(sdk_appeal.clone()))
            .map(drop)
            .map_err(anyhow::Error::msg)
    })?;

    let store = &app.store;
    let durable = median(200.min(iterations), || {
        let mut a = crate::appeal::Appeal {
            id: ulid::Ulid::new().to_string(),
            channel: "bench".into(),
            text: "bench".into(),
            ..Default::default()
        };
        a.record(0, None, crate::event::Event::Received { raw_request: String::new() });
        store.put_appeal(&a)?;
        store.flush_now()
    })?;

    println!("instantiation of rules-router (new Store + instantiate + drop): {}", micros(instantiate));
    println!("per stage, median of {iterations} (warm instances)         wasm      native    tax");
    for (name, wasm, native) in [
        ("  telegram adapter", wasm_adapter, native_adapter),
        ("  contest-filter", wasm_filter, native_filter),
        ("  rules-router", wasm_router, native_router),
    ] {
        println!(
            "{name:<52} {:>9} {:>9} {:>6.1}×",
            micros(wasm),
            micros(native),
            wasm.as_secs_f64() / native.as_secs_f64().max(1e-9)
        );
    }
    let wasm_total = wasm_adapter + wasm_filter + wasm_router;
    let native_total = native_adapter + native_filter + native_router;
    println!(
        "  all three stages                                   {:>9} {:>9} {:>6.1}×",
        micros(wasm_total),
        micros(native_total),
        wasm_total.as_secs_f64() / native_total.as_secs_f64().max(1e-9)
    );
    println!(
        "rules-router with a fresh Store + instance per call: {} (vs {} on a warm instance)",
        micros(fresh_router),
        micros(wasm_router)
    );
    println!("durable write (one appeal + a lone journal sync, no group commit): {}", micros(durable));
    Ok(())
}

fn wit_appeal() -> wit::Appeal {
    wit::Appeal {
        id: "01BENCH".into(),
        channel: "telegram".into(),
        platform_id: "1".into(),
        conversation_key: "chat:1".into(),
        received_at: 0,
        contact: wit::Contact {
            name: Some("Bench".into()),
            phone: None,
            email: None,
            platform_user_id: None,
        },
        subject: None,
        text: "Хочу вернуть заказ, магазин 112".into(),
        attachments: vec![],
        metadata: vec![wit::MetaEntry { key: "store".into(), value: "112".into() }],
        tags: vec![],
    }
}

/// A native harness with the same directory the host has.
fn native_harness(directory: &crate::directory::Directory) -> Harness {
    let mut harness = Harness::new();
    for r in &directory.regions {
        let cities: Vec<&str> = r.cities.iter().map(String::as_str).collect();
        let stores: Vec<&str> = r.stores.iter().map(String::as_str).collect();
        harness = harness.with_region(&r.id, &cities, &stores);
    }
    for d in &directory.departments {
        harness = harness.with_department(&d.id);
    }
    for e in &directory.employees {
        let regions: Vec<&str> = e.regions.iter().map(String::as_str).collect();
        harness = harness.with_employee(&e.id, &e.department, &regions);
    }
    for t in &directory.topics {
        let keywords: Vec<&str> = t.keywords.iter().map(String::as_str).collect();
        harness = harness.with_topic(&t.id, &keywords, &t.department);
    }
    harness
}

fn median(iterations: usize, mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations.max(1) {
        let started = Instant::now();
        f()?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok(samples[samples.len() / 2])
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn micros(d: Duration) -> String {
    if d >= Duration::from_millis(10) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

const SAMPLE_DIRECTORY: &str = include_str!("../../../examples/directory.json");
