//! `clienthub bench --history N`: a year of appeals in one data directory, and what reading
//! it costs. Appeals are loaded straight into the store through its own write path (so the
//! indexes, counters, per-day figures and search marks are made as in production), newest
//! first at a million a year (so a larger history reaches further back, and the open work is
//! that of the last two weeks whatever its size), each with its raw request; then at 100 k,
//! 500 k, 1 M (those not above N) and N a `clienthub serve` child process is started on the
//! directory and measured over HTTP: time to ready, RSS, disk per appeal, p50/p99 of inbox
//! pages, filters, searches, reports, `/healthz` and `/metrics`, the intake rate of a burst
//! of webhooks (against the same burst at an empty store first), and memory at rest and at a
//! steady state (the block cache at its bound after pages spread over the history). A
//! directory kept with `--keep` says what it holds (`bench-history.json`), so a later run
//! measures it again without loading.

use super::synthetic::{
    CHANNELS, DAY_MS, DEPARTMENTS, EMPLOYEES, OPEN_DAYS, PER_YEAR, REGIONS, TOPICS, load, splitmix, synthetic,
};
use super::{HostProcess, configure, micros, offer, percentile};
use crate::client::Client;
use crate::clock::{Clock, SystemClock};
use anyhow::{Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// Loads up to `total` appeals (into `keep`, else a temporary directory) and measures at each
/// checkpoint; `burst` webhooks measure the intake rate at each; the loader and the hosts
/// keep a block cache of `cache_mib`.
///
/// # Errors
/// When the store or the host fails.
pub async fn run(total: u64, burst: usize, keep: Option<&Path>, cache_mib: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = keep.map_or_else(|| dir.path().join("data"), Path::to_path_buf);
    let mut kept = Kept::read(&data)?;
    let now = kept.now;
    let mut checkpoints: Vec<u64> =
        [100_000, 500_000, 1_000_000].into_iter().filter(|c| *c < total && *c > kept.loaded).collect();
    checkpoints.push(total.max(kept.loaded));
    println!(
        "ClientHub history bench — {} cores; data dir {}; appeals loaded straight into the store \
         (its write path: indexes, figures, search marks), one raw request each, newest first at {PER_YEAR} a year (open work in the last {OPEN_DAYS} days only); \
         queries over HTTP on loopback, {RUNS} runs each (reports {REPORT_RUNS}); block cache {cache_mib} MiB",
        std::thread::available_parallelism()?,
        data.display()
    );
    // The rate every checkpoint's is compared with: an empty store, this machine, this run.
    let empty = tempfile::tempdir()?;
    let (host, _) = serve(&empty.path().join("data"), cache_mib).await?;
    let client = Client::new(&host.base, Some("bench".into()));
    configure(&client).await?;
    intake(&host, &client, "an empty store", 10_000_000, burst).await?;
    drop(host);
    let mut configured = kept.loaded > 0;
    for checkpoint in checkpoints {
        let started = Instant::now();
        load(&data, kept.loaded, checkpoint, now, cache_mib)?;
        println!(
            "\n== {checkpoint} appeals: loaded {} in {:.1}s ({:.0} appeals/s into the store)",
            checkpoint - kept.loaded,
            started.elapsed().as_secs_f64(),
            (checkpoint - kept.loaded) as f64 / started.elapsed().as_secs_f64()
        );
        kept.loaded = checkpoint;
        kept.write(&data)?;
        // The loaded appeals are indexed for search by a first host; the figures are of a
        // second one, restarted on the directory as after an upgrade or a reboot.
        let (first, _) = serve(&data, cache_mib).await?;
        let started = Instant::now();
        let client = Client::new(&first.base, Some("bench".into()));
        if !configured {
            configure(&client).await?;
            configured = true;
        }
        while client.get_json("/healthz").await?["search_caught_up"] != true {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "search index built for the loaded appeals in {:.1}s (RSS then {} MiB)",
            started.elapsed().as_secs_f64(),
            first.memory_kib("VmRSS")? >> 10
        );
        drop(first);
        let (host, ready) = serve(&data, cache_mib).await?;
        let client = Client::new(&host.base, Some("bench".into()));
        println!("restart to ready (listening): {}", micros(ready));
        println!(
            "background work settled {:.0} s after the restart (the database compacting what was loaded)",
            settled(&host).await?.as_secs_f64()
        );
        measure(&client, now, synthetic(checkpoint / 2, now).0.contact.phone.unwrap_or_default()).await?;
        intake(&host, &client, "this history", kept.next_burst, burst).await?;
        kept.next_burst += burst;
        kept.write(&data)?;
        let appeals = (checkpoint as usize + kept.next_burst - FIRST_BURST) as f64;
        let per_appeal = |dir: &Path| -> Result<f64> { Ok(dir_size(dir)? as f64 / 1024.0 / appeals) };
        // What the host holds once the burst is handled (indexed for search, its freed heap
        // handed back), besides what it held right after it.
        let after_burst = host.memory_kib("VmRSS")? >> 10;
        let rest = settled(&host).await? + crate::memory::TRIM_PERIOD;
        tokio::time::sleep(crate::memory::TRIM_PERIOD).await;
        println!(
            "RSS {after_burst} MiB after the burst; at rest {:.0} s later {}; data dir {:.0} MiB: \
             {:.2} KiB per appeal ({:.2} the database, {:.2} the search index)",
            rest.as_secs_f64(),
            memory(&host, &client, &data).await?,
            dir_size(&data)? as f64 / (1 << 20) as f64,
            per_appeal(&data)?,
            per_appeal(&data.join(crate::store::engine::DIR))?,
            per_appeal(&data.join("search"))?,
        );
        // A host that has served staff for hours has read far more of the history than the
        // queries above: its block cache is at its bound whatever the history's size.
        let span = checkpoint * (365 * DAY_MS / PER_YEAR);
        let pages = spread_pages(&client, now, span, cache_mib << 20).await?;
        tokio::time::sleep(crate::memory::TRIM_PERIOD).await;
        println!(
            "steady state, after {pages} pages of single filters read at times spread over the \
             history: {}",
            memory(&host, &client, &data).await?
        );
    }
    Ok(())
}

/// The number of the first webhook of a data directory's first burst.
const FIRST_BURST: usize = 20_000_000;

/// What a kept data directory holds (`bench-history.json` in it), so that a later run with
/// the same `--keep` measures it again instead of loading it anew.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    /// Appeals loaded.
    loaded: u64,
    /// The time the loaded appeals are dated back from (ms since the epoch).
    now: u64,
    /// The number of the next burst's first webhook (the bursts' appeals stay in the directory,
    /// and a webhook seen before would be answered as a repeat).
    next_burst: usize,
}

impl Kept {
    const FILE: &str = "bench-history.json";

    fn read(data: &Path) -> Result<Self> {
        match std::fs::read(data.join(Self::FILE)) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Self { loaded: 0, now: SystemClock.now_ms(), next_burst: FIRST_BURST })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn write(&self, data: &Path) -> Result<()> {
        Ok(std::fs::write(data.join(Self::FILE), serde_json::to_vec(self)?)?)
    }
}

/// Offers `burst` webhooks (numbered from `first`) on 64 connections and prints the rate at
/// `when`, with the journal syncs the host made meanwhile.
async fn intake(host: &HostProcess, client: &Client, when: &str, first: usize, burst: usize) -> Result<()> {
    const SYNCS: [&str; 2] = ["clienthub_store_syncs_total", "clienthub_store_sync_seconds_total"];
    let [syncs, seconds] = metrics(client, SYNCS).await?;
    let (before, cpu) = (Instant::now(), host.cpu()?);
    let (ok, failed) = offer(std::slice::from_ref(client), first, burst, 64).await?;
    let (elapsed, cpu) = (before.elapsed().as_secs_f64(), host.cpu()? - cpu);
    let [syncs_after, seconds_after] = metrics(client, SYNCS).await?;
    println!(
        "intake at {when}: {:.0} appeals/s ({ok} ok, {failed} failed, 64 connections); the host's \
         CPU {:.2} ms an appeal; {:.0} journal syncs, {:.2} ms each on average",
        ok as f64 / elapsed,
        cpu.as_secs_f64() * 1000.0 / ok.max(1) as f64,
        syncs_after - syncs,
        (seconds_after - seconds) * 1000.0 / (syncs_after - syncs).max(1.0)
    );
    Ok(())
}

/// The host's memory now: RSS, its heap (what malloc holds in use and free; the database's
/// block cache and memtables are in it) and its mapped files (the search index under `data`,
/// the program, shared libraries), and its peak RSS.
async fn memory(host: &HostProcess, client: &Client, data: &Path) -> Result<String> {
    let [cache, memtables, in_use, free] = metrics(
        client,
        [
            r#"clienthub_store_memory_bytes{part="block_cache"}"#,
            r#"clienthub_store_memory_bytes{part="memtables"}"#,
            r#"clienthub_process_heap_bytes{part="in_use"}"#,
            r#"clienthub_process_heap_bytes{part="free"}"#,
        ],
    )
    .await?
    .map(|bytes| bytes as u64 >> 20);
    let [search, program, libraries] = host.mapped_kib(&data.join("search"))?.map(|kib| kib >> 10);
    Ok(format!(
        "RSS {} MiB ({} of heap: malloc's {in_use} in use, of which the database's block cache \
         {cache} and memtables {memtables}, and {free} free; {} of mapped files: the search index \
         {search}, the program {program}, libraries {libraries}; peak {} MiB)",
        host.memory_kib("VmRSS")? >> 10,
        host.memory_kib("RssAnon")? >> 10,
        host.memory_kib("RssFile")? >> 10,
        host.memory_kib("VmHWM")? >> 10,
    ))
}

/// Reads pages of single filters (region, department, assignee, topic, channel) ending at
/// times spread over the last `span` ms, eight at a time, as staff looking up older appeals
/// would, until the block cache reaches 95 % of `bound` or stops growing; the pages read.
async fn spread_pages(client: &Client, now: u64, span: u64, bound: u64) -> Result<usize> {
    const ROUND: usize = 1_000;
    const CACHE: &str = r#"clienthub_store_memory_bytes{part="block_cache"}"#;
    let path = |i: u64| {
        let pick = |n: u64| splitmix(i ^ n) % n;
        let filter = match pick(5) {
            0 => format!("region=r-{:02}", pick(REGIONS)),
            1 => format!("department=d-{:02}", pick(DEPARTMENTS)),
            2 => format!("assignee=e-{:03}", pick(EMPLOYEES)),
            3 => format!("topic=t-{:02}", pick(TOPICS)),
            _ => format!("channel={}", CHANNELS[pick(CHANNELS.len() as u64) as usize]),
        };
        format!("/api/appeals?limit=50&{filter}&to={}", now - splitmix(i) % span.max(1))
    };
    let [mut cache] = metrics(client, [CACHE]).await?;
    let mut pages = 0;
    loop {
        futures_util::stream::iter(pages..pages + ROUND)
            .map(|i| async move {
                let path = path(i as u64);
                let answer = client.request("GET", &path, &[], None).await?;
                anyhow::ensure!(answer.status == 200, "{path}: {}", answer.status);
                anyhow::Ok(())
            })
            .buffer_unordered(8)
            .try_collect::<()>()
            .await?;
        pages += ROUND;
        let [now_cached] = metrics(client, [CACHE]).await?;
        let grown = now_cached - cache;
        cache = now_cached;
        if cache >= bound as f64 * 0.95 || grown < (1 << 20) as f64 {
            return Ok(pages);
        }
    }
}

/// The values of the host's `/metrics` named `names` (with their labels, as written there).
async fn metrics<const N: usize>(client: &Client, names: [&str; N]) -> Result<[f64; N]> {
    let answer = client.send("GET", "/metrics", None).await?;
    let text = String::from_utf8_lossy(&answer.body);
    let mut values = [0.0; N];
    for (value, name) in values.iter_mut().zip(names) {
        let line = text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' '));
        *value = line.with_context(|| format!("no {name} in /metrics"))?.trim().parse()?;
    }
    Ok(values)
}

/// Waits until `host` is at rest (under a quarter of a core over a second, at most 10 minutes;
/// the dispatcher's tick over the open work the bursts left takes about a tenth): the
/// load wrote in minutes what a chain receives in months, and the database compacts it on the
/// host's threads after the restart; the queries are measured on a host at rest, as it is
/// between the bursts of a working day. How long it took.
async fn settled(host: &HostProcess) -> Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(600) {
        let before = host.cpu()?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if host.cpu()? - before < Duration::from_millis(250) {
            break;
        }
    }
    Ok(started.elapsed())
}

/// A host on `data`, and how long it took to listen. The previous process's database closes
/// on its background threads a moment after it is gone, so a refusal is tried again.
async fn serve(data: &Path, cache_mib: u64) -> Result<(HostProcess, Duration)> {
    let (mut tries, cache_mib) = (0, cache_mib.to_string());
    loop {
        let started = Instant::now();
        match HostProcess::serve(data, &["--cache-mib", &cache_mib]) {
            Ok(host) => return Ok((host, started.elapsed())),
            Err(_) if tries < 20 => tries += 1,
            Err(e) => return Err(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs of each query: a p99 of 1,000 is its tenth-worst, not (as of 200) its second-worst.
const RUNS: usize = 1_000;
/// Runs of each report.
const REPORT_RUNS: usize = 50;

/// p50/p99 of every query, over HTTP.
async fn measure(client: &Client, now: u64, phone: String) -> Result<()> {
    // The phone as people type it: `8 912 345-67-89`.
    let digits = &phone[2..];
    let typed = format!("8%20{}%20{}-{}-{}", &digits[..3], &digits[3..6], &digits[6..8], &digits[8..]);
    let (day, month, year) = (now - DAY_MS, now - 30 * DAY_MS, now - 365 * DAY_MS);
    let queries: Vec<(&str, String, usize)> = vec![
        ("inbox page (newest 50)", "/api/appeals?limit=50".into(), RUNS),
        ("filter status=in_work", "/api/appeals?limit=50&status=in_work".into(), RUNS),
        ("filter status=triage (rare)", "/api/appeals?limit=50&status=triage".into(), RUNS),
        ("filter channel=vk", "/api/appeals?limit=50&channel=vk".into(), RUNS),
        ("filter department=d-03", "/api/appeals?limit=50&department=d-03".into(), RUNS),
        ("filter region=r-07", "/api/appeals?limit=50&region=r-07".into(), RUNS),
        ("filter assignee=e-042", "/api/appeals?limit=50&assignee=e-042".into(), RUNS),
        ("filter topic=t-05", "/api/appeals?limit=50&topic=t-05".into(), RUNS),
        (
            "status+department+region+channel",
            "/api/appeals?limit=50&status=resolved&department=d-03&region=r-07&channel=telegram".into(),
            RUNS,
        ),
        (
            "status+assignee+region+month",
            format!("/api/appeals?limit=50&status=resolved&assignee=e-042&region=r-07&from={month}&to={now}"),
            RUNS,
        ),
        (
            "search word (верните)",
            "/api/appeals?limit=50&q=%D0%B2%D0%B5%D1%80%D0%BD%D0%B8%D1%82%D0%B5".into(),
            RUNS,
        ),
        ("search word + region", "/api/appeals?limit=50&region=r-07&q=%D0%B1%D1%80%D0%B0%D0%BA".into(), RUNS),
        ("search phone as 8 9xx xxx-xx-xx", format!("/api/appeals?limit=50&q={typed}"), RUNS),
        (
            "report appeals by topic, 1 day",
            format!("/api/reports/appeals?by=topic&from={day}&to={now}"),
            REPORT_RUNS,
        ),
        (
            "report appeals by topic, 1 month",
            format!("/api/reports/appeals?by=topic&from={month}&to={now}"),
            REPORT_RUNS,
        ),
        (
            "report appeals by topic, 1 year",
            format!("/api/reports/appeals?by=topic&from={year}&to={now}"),
            REPORT_RUNS,
        ),
        (
            "report times by department, 1 year",
            format!("/api/reports/times?by=department&from={year}&to={now}"),
            REPORT_RUNS,
        ),
        ("/healthz", "/healthz".into(), RUNS),
        ("/metrics", "/metrics".into(), RUNS),
    ];
    for (name, path, runs) in queries {
        let mut samples = Vec::with_capacity(runs);
        let mut found = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let answer = client.request("GET", &path, &[], None).await?;
            samples.push(started.elapsed());
            anyhow::ensure!(answer.status == 200, "{path}: {}", answer.status);
            let json = answer.json().unwrap_or_default();
            found = json.as_array().or(json["items"].as_array()).map_or(0, Vec::len);
        }
        samples.sort();
        println!(
            "  {name:<40} p50 {:>9}  p99 {:>9}  ({found} rows)",
            micros(percentile(&samples, 0.5)),
            micros(percentile(&samples, 0.99))
        );
    }
    Ok(())
}

/// Bytes of every file under `dir`. The database compacts meanwhile: a file or directory
/// gone between listing and reading counts nothing.
fn dir_size(dir: &Path) -> Result<u64> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let entries = match std::fs::read_dir(dir) {
        Err(e) if gone(&e) => return Ok(0),
        listed => listed.with_context(|| format!("reading {}", dir.display()))?,
    };
    let mut total = 0;
    for entry in entries {
        let entry = entry?;
        total += match entry.metadata() {
            Err(e) if gone(&e) => 0,
            Ok(meta) if meta.is_dir() => dir_size(&entry.path())?,
            meta => meta?.len(),
        };
    }
    Ok(total)
}
