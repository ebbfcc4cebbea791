//! Starting the real binary on a temp data dir and talking to it.

pub use clienthub::appeal::{Appeal, HistoryEvent, ReplyState, Status};
use clienthub::client::{Answer, Client};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const TOKEN: &str = "test-admin-token";

/// A running `clienthub serve`.
pub struct Host {
    child: Child,
    pub base: String,
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    pub api: Client,
    pub anonymous: Client,
    /// The arguments it was started with beyond the data dir (kept for a relaunch).
    extra: Vec<String>,
    /// The Telegram channel's generated `secret_token`, once read.
    telegram_secret: std::sync::OnceLock<String>,
}

/// How a test host starts: on a fresh temp data dir unless [`HostBuilder::dir`] names one,
/// with extra `serve` options, and logging to a file if asked. `Host::start()` is the plain one.
#[derive(Default)]
pub struct HostBuilder<'a> {
    dir: Option<&'a Path>,
    args: Vec<String>,
    log: Option<(&'a Path, &'a str)>,
}

impl<'a> HostBuilder<'a> {
    /// On `dir` (kept by the caller).
    pub fn dir(mut self, dir: &'a Path) -> Self {
        self.dir = Some(dir);
        self
    }

    /// With a clock the test may advance (`POST /api/clock/advance`).
    pub fn clock(self) -> Self {
        self.args(&["--clock-control"])
    }

    /// As a node of the cluster `name` on the NATS server at `url`.
    pub fn node(self, url: &str, name: &str) -> Self {
        self.args(&["--store", url, "--cluster", name])
    }

    /// With these extra `serve` options (`--public-outbound-only`: as production runs, without
    /// the `--allow-private-outbound` every test host otherwise gets for its stand-ins on
    /// loopback).
    pub fn args(mut self, extra: &[&str]) -> Self {
        self.args.extend(extra.iter().map(|a| a.to_string()));
        self
    }

    /// Logging at `level` into `log`.
    pub fn log(mut self, log: &'a Path, level: &'a str) -> Self {
        self.log = Some((log, level));
        self
    }

    /// Starts it; returns once it listens.
    pub fn start(self) -> Host {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        match self.dir {
            Some(dir) => Host::spawn(dir, &args, self.log),
            None => {
                let temp = tempfile::tempdir().unwrap();
                let mut host = Host::spawn(temp.path(), &args, self.log);
                host._temp = Some(temp);
                host
            }
        }
    }
}

impl Host {
    /// How to start a host other than the plain one.
    pub fn builder<'a>() -> HostBuilder<'a> {
        HostBuilder::default()
    }

    /// A host on a fresh temp data dir.
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// Moves the host's clock forward.
    pub async fn advance_minutes(&self, minutes: u64) {
        let moved =
            self.api.send_json("POST", "/api/clock/advance", &json!({ "minutes": minutes })).await.unwrap();
        assert!(moved["offset_ms"].as_u64().is_some(), "{moved}");
    }

    /// `/metrics` as text (it needs no token).
    pub async fn metrics(&self) -> String {
        let answer = self.anonymous.send("GET", "/metrics", None).await.unwrap();
        String::from_utf8(answer.body.to_vec()).unwrap()
    }

    /// The host process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/PID/status");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The sum of the samples of `/metrics` family `family` (`clienthub_notices_total`) whose
    /// labels include each of `labels` (`outcome="retry"`).
    pub async fn metric(&self, family: &str, labels: &[&str]) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .filter(|l| l.starts_with(family) && labels.iter().all(|label| l.contains(label)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Waits until background worker `worker` (`dispatcher`, `crm`, `notices`, `replies`, …)
    /// has finished two more rounds from now, so one began after the call: what it would do
    /// about the present state is done. What proves that nothing more happens, in place of a
    /// quiet spell of sleep.
    pub async fn rounds_pass(&self, worker: &str) {
        let label = format!("worker=\"{worker}\"");
        let start = self.metric("clienthub_worker_rounds_total", &[&label]).await;
        eventually_within(
            &format!("two rounds of the {worker} worker"),
            Duration::from_secs(30),
            async || self.metric("clienthub_worker_rounds_total", &[&label]).await >= start + 2.0,
        )
        .await;
    }

    /// Waits until the dispatcher has made two full passes from now.
    pub async fn dispatcher_passes(&self) {
        self.rounds_pass("dispatcher").await;
    }

    /// `--public-outbound-only` among `extra` is the tests' own switch: it drops the
    /// `--allow-private-outbound` every test host otherwise gets. Test hosts hold the CRM
    /// connector to 1000 requests a second (the stand-in portal limits nothing) unless `extra`
    /// names a `--crm-rate`.
    fn spawn(dir: &Path, extra: &[&str], log: Option<(&Path, &str)>) -> Self {
        let public_only = extra.contains(&"--public-outbound-only");
        let extra: Vec<&str> = extra.iter().copied().filter(|a| *a != "--public-outbound-only").collect();
        let mut command = Command::new(env!("CARGO_BIN_EXE_clienthub"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(if public_only { &[][..] } else { &["--allow-private-outbound"][..] })
            .args(if extra.contains(&"--crm-rate") {
                &[][..]
            } else {
                &["--crm-rate", "1000", "--crm-burst", "1000"][..]
            })
            .args(&extra)
            .env("CLIENTHUB_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some((log, level)) = log {
            command.env("RUST_LOG", level).stderr(std::fs::File::create(log).unwrap());
        }
        let mut child = command.spawn().expect("starting clienthub");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("clienthub exited before listening").unwrap();
            if let Some(url) = line.strip_prefix("clienthub listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            api: Client::new(&base, Some(TOKEN.into())),
            anonymous: Client::new(&base, None),
            base,
            dir: dir.to_path_buf(),
            _temp: None,
            telegram_secret: std::sync::OnceLock::new(),
            extra: extra
                .iter()
                .chain(public_only.then_some(&"--public-outbound-only"))
                .map(|a| a.to_string())
                .collect(),
        }
    }

    /// Stops the process with SIGINT (a clean shutdown) and waits.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }

    /// Kills the process with SIGKILL (a crash: no shutdown code runs) and waits.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// After a [`Host::kill`]: starts again on the same data dir.
    pub fn relaunch(mut self) -> Self {
        let temp = self._temp.take();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let mut again = Self::spawn(&self.dir, &extra, None);
        again._temp = temp;
        again
    }

    /// Stops and starts again on the same data dir.
    pub fn restart(mut self) -> Self {
        self.stop();
        self.relaunch()
    }

    /// POSTs a webhook.
    pub async fn hook(
        &self,
        channel: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
    ) -> Answer {
        let body = Some((content_type, body.to_vec()));
        self.anonymous.request("POST", &format!("/hooks/{channel}"), headers, body).await.unwrap()
    }

    /// POSTs a Telegram update as Telegram does, with the `secret_token` the host generated.
    pub async fn telegram(&self, body: &[u8]) -> Answer {
        let secret = self.telegram_secret().await;
        self.hook("telegram", &[("x-telegram-bot-api-secret-token", &secret)], "application/json", body).await
    }

    /// The secret Telegram must send (`clienthub channels secret telegram`).
    pub async fn telegram_secret(&self) -> String {
        if let Some(secret) = self.telegram_secret.get() {
            return secret.clone();
        }
        let secret = self.channel_secret("telegram", "secret_token").await;
        self.telegram_secret.get_or_init(|| secret).clone()
    }

    /// The generated `api_key` of webform, email or reviews, as an `X-Api-Key` header.
    pub async fn api_key(&self, channel: &str) -> [(&'static str, String); 1] {
        [("x-api-key", self.channel_secret(channel, "api_key").await)]
    }

    /// POSTs to a channel that takes an `X-Api-Key` (webform, email, reviews) with its key.
    pub async fn hook_with_key(&self, channel: &str, content_type: &str, body: &[u8]) -> Answer {
        let [(name, key)] = self.api_key(channel).await;
        self.hook(channel, &[(name, &key)], content_type, body).await
    }

    /// A channel's generated secret, as `GET /api/channels` shows it to the admin.
    pub async fn channel_secret(&self, channel: &str, key: &str) -> String {
        let channels = self.api.get_json("/api/channels").await.unwrap();
        let found = channels.as_array().unwrap().iter().find(|c| c["channel"] == channel);
        found
            .and_then(|c| c["secrets"][key].as_str())
            .unwrap_or_else(|| panic!("no {key} for {channel}"))
            .to_string()
    }

    /// An appeal by id, as the API shows it (`GET /api/appeals/{id}`), read into the host's
    /// own record type.
    pub async fn appeal(&self, id: &str) -> Appeal {
        serde_json::from_value(self.appeal_json(id).await).unwrap()
    }

    /// An appeal by id as the API's JSON (with `contact_appeals`).
    pub async fn appeal_json(&self, id: &str) -> Value {
        self.api.get_json(&format!("/api/appeals/{id}")).await.unwrap()
    }

    /// All appeals (up to 500), newest first.
    pub async fn appeals(&self, query: &str) -> Vec<Appeal> {
        let page = self.api.get_json(&format!("/api/appeals?limit=500{query}")).await.unwrap();
        serde_json::from_value(page["items"].clone()).unwrap()
    }

    /// Every stored appeal, newest first, page by page.
    pub async fn all_appeals(&self) -> Vec<Appeal> {
        self.all_appeals_where("").await
    }

    /// Every stored appeal a filter (`&status=routed`) lists, newest first, page by page.
    pub async fn all_appeals_where(&self, query: &str) -> Vec<Appeal> {
        let mut all: Vec<Appeal> = Vec::new();
        let mut path = format!("/api/appeals?limit=500{query}");
        loop {
            let page = self.api.get_json(&path).await.unwrap();
            all.extend(serde_json::from_value::<Vec<Appeal>>(page["items"].clone()).unwrap());
            match page["next"].as_str() {
                Some(next) => path = format!("/api/appeals?limit=500{query}&before={next}"),
                None => return all,
            }
        }
    }

    /// Uploads a fixture component; returns the answer.
    pub async fn upload(&self, path: &str) -> Answer {
        let bytes = std::fs::read(path).unwrap();
        self.api.send("POST", "/api/plugins", Some(("application/wasm", bytes))).await.unwrap()
    }

    /// Activates `name@version`.
    pub async fn activate(&self, name: &str, version: &str) -> Value {
        self.api
            .send_json(
                "POST",
                &format!("/api/plugins/{name}/activate"),
                // The tests that activate a router of another name mean to replace the active one.
                &json!({ "version": version, "replace": true }),
            )
            .await
            .unwrap()
    }

    /// Imports the sample routing directory.
    pub async fn import_directory(&self) {
        self.api.send_json("PUT", "/api/directory", &sample_directory()).await.unwrap();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appeal `id` once `check` holds for it (within 20 s; `what` names the wait in the failure).
pub async fn appeal_where(host: &Host, id: &str, what: &str, check: impl Fn(&Appeal) -> bool) -> Appeal {
    let mut last = None;
    let found = poll_until(Duration::from_secs(20), async || {
        let appeal = host.appeal(id).await;
        let found = check(&appeal).then(|| appeal.clone());
        last = Some(appeal);
        found
    });
    found.await.unwrap_or_else(|| panic!("never {what}: {last:#?}"))
}

/// What a check found: `true`, or `Some` of something.
pub trait Found {
    /// What was found.
    type Out;
    /// `Some` when found.
    fn found(self) -> Option<Self::Out>;
}

impl Found for bool {
    type Out = ();
    fn found(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Found for Option<T> {
    type Out = T;
    fn found(self) -> Option<T> {
        self
    }
}

/// Polls `check` every 50 ms until it finds what it looks for; panics after 30 s naming `what`.
/// The one way the tests wait for something the host does in the background.
pub async fn eventually<F: Found>(what: &str, check: impl AsyncFnMut() -> F) -> F::Out {
    eventually_within(what, Duration::from_secs(30), check).await
}

/// As [`eventually`], panicking after `limit`.
pub async fn eventually_within<F: Found>(
    what: &str,
    limit: Duration,
    check: impl AsyncFnMut() -> F,
) -> F::Out {
    let found = poll_until(limit, check).await;
    found.unwrap_or_else(|| panic!("waited {} s, never: {what}", limit.as_secs()))
}

/// Polls `check` every 50 ms until it finds what it looks for, for at most `limit`.
pub async fn poll_until<F: Found>(limit: Duration, mut check: impl AsyncFnMut() -> F) -> Option<F::Out> {
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = check().await.found() {
            return Some(found);
        }
        if started.elapsed() >= limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The appeal id a webhook answer carried.
pub fn appeal_id(answer: &Answer) -> String {
    answer
        .header("x-clienthub-appeal")
        .unwrap_or_else(|| {
            panic!("no appeal in HTTP {}: {}", answer.status, String::from_utf8_lossy(&answer.body))
        })
        .to_string()
}

/// WhatsApp's `X-Hub-Signature-256` of `body` under the app secret.
pub fn whatsapp_signature(app_secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Telegram text update with this id, chat and text.
pub fn telegram_update(update_id: i64, chat: i64, text: &str) -> Vec<u8> {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": chat, "is_bot": false, "first_name": "Test"},
            "chat": {"id": chat, "type": "private", "first_name": "Test"},
            "date": 1763900000,
            "text": text
        }
    })
    .to_string()
    .into_bytes()
}

pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)).unwrap()
}

pub fn sample_directory() -> Value {
    serde_json::from_slice(&fixture("examples/directory.json")).unwrap()
}

/// The stages of an appeal's history, in order, as "stage by plugin".
pub fn stages(appeal: &Appeal) -> Vec<String> {
    appeal.history.iter().map(|e| format!("{} {}", e.stage(), e.plugin.as_deref().unwrap_or("-"))).collect()
}

/// The last history event of an appeal that is not the dispatcher's (`waiting`, `assigned`,
/// which may land at any moment after routing).
pub fn last_event(appeal: &Appeal) -> HistoryEvent {
    appeal
        .history
        .iter()
        .rev()
        .find(|e| e.stage() != "waiting" && e.stage() != "assigned")
        .cloned()
        .expect("an appeal has a history")
}

/// The detail of the last history event at `stage`, in English words without names.
pub fn last_detail(appeal: &Appeal, stage: &str) -> String {
    appeal.history.iter().rev().find(|e| e.stage() == stage).map(words).unwrap_or_default()
}

/// A history event in English words, ids as they are (what the API shows with `?lang=en` when
/// the directory names nobody).
pub fn words(event: &HistoryEvent) -> String {
    clienthub::text::render(&event.event, clienthub::text::Lang::En, &clienthub::text::NoNames)
}
