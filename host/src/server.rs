//! Starting the host: the data directory, the admin token, the runtime, the registry with the
//! first-party plugins on a fresh directory, the reply sender, the CRM delivery worker, the
//! dispatcher (assignment, escalation, SLA), the notifier, the attachments' fetcher and the
//! HTTP listener; in a cluster also the
//! intake workers, and the pipeline follows activations made on any node.

use crate::clock::{SharedClock, SystemClock, TestClock};
use crate::http::limits::{self, ConnectionLimits};
use crate::http::{self, App};
use crate::registry::Registry;
use crate::replies::{Outbox, RetryPolicy};
use crate::runtime::{Limits, Runtime};
use crate::store::ClusterOptions;
use crate::store::Store;
use crate::supervisor::{Rest, Role, Round, Supervisor};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `clienthub serve` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// Data directory (`./clienthub-data`).
    pub data_dir: PathBuf,
    /// Admin token; when `None`, read from or generated into `<data_dir>/admin-token`.
    pub admin_token: Option<String>,
    /// Limits on every plugin call.
    pub limits: Limits,
    /// Whether `POST /api/clock/advance` may move the host's clock (tests and demos): the host
    /// then runs on a [`TestClock`] instead of the system's.
    pub clock_control: bool,
    /// Connection cap and header and body deadlines of the HTTP server.
    pub connections: ConnectionLimits,
    /// The JetStream cluster this node joins; `None` keeps everything in the data directory.
    pub cluster: Option<ClusterOptions>,
    /// The URL the platforms reach this host at (`https://hub.example.ru`); by default the
    /// address it listens on.
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The most the database's block cache may hold ([`crate::store::DEFAULT_CACHE_BYTES`]).
    pub cache_bytes: u64,
    /// How long raw webhook requests are kept ([`DEFAULT_RAW_RETENTION`]); appeals stay.
    pub raw_retention: std::time::Duration,
    /// How long attachments' files are kept after they were fetched
    /// ([`DEFAULT_ATTACHMENT_RETENTION`]).
    pub attachment_retention: std::time::Duration,
    /// The largest attachment file kept, below each kind's own cap ([`crate::media::cap_of`]).
    pub attachment_max_bytes: Option<usize>,
    /// Started for plugin development: an upload may replace a version's content.
    pub development: bool,
}

/// Attachments' files are kept a year by default.
pub const DEFAULT_ATTACHMENT_RETENTION: std::time::Duration = std::time::Duration::from_secs(365 * 86_400);

/// Raw requests are kept 90 days by default.
pub const DEFAULT_RAW_RETENTION: std::time::Duration = std::time::Duration::from_secs(90 * 86_400);

/// Deletes raw requests older than `retention` every second (on the node that leads a
/// cluster), a thousand at a time: a seek when nothing is due.
fn purge_raw_requests(store: Store, retention: std::time::Duration, workers: &Supervisor) {
    let pause = Rest::Fixed(std::time::Duration::from_secs(1));
    workers.every("retention", Role::Leader, pause, None, move || {
        let store = store.clone();
        async move {
            let cutoff = store.now_ms().saturating_sub(retention.as_millis() as u64);
            let purged = store.purge_raw_before(cutoff, 1_000)?;
            if purged > 0 {
                tracing::info!(purged, "raw requests past their retention deleted");
            }
            Ok(Round::Rest)
        }
    });
}

/// Intake workers per cluster node: each processes one intake at a time, and most of an
/// intake's time is waiting for JetStream (8 measured 35 % slower than 32; 64 no faster).
const INTAKE_WORKERS: usize = 32;

/// A running host.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Shared state (store, registry, token).
    pub app: Arc<App>,
    /// Where the admin token is kept, when it was not given.
    pub token_file: Option<PathBuf>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<()>>,
    workers: Supervisor,
}

impl Running {
    /// Stops accepting, waits for the server task, stops the background workers (each
    /// finishing its round), then flushes the database.
    ///
    /// # Errors
    /// When the final flush fails.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.task.await??;
        self.workers.stop().await;
        self.app.store.flush_now()
    }
}

/// Opens the data directory, installs the first-party plugins on a fresh one, and starts
/// serving.
///
/// # Errors
/// When the data directory, the database, the engine or the listener cannot be set up.
pub async fn start(options: ServeOptions) -> Result<Running> {
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating the data directory {}", options.data_dir.display()))?;
    let (admin_token, token_file) = match options.admin_token {
        Some(token) if !token.is_empty() => (token, None),
        _ if options.cluster.is_some() => {
            anyhow::bail!("a cluster node needs CLIENTHUB_ADMIN_TOKEN, the same on every node")
        }
        _ => {
            let (token, file) = token_from_file(&options.data_dir)?;
            (token, Some(file))
        }
    };
    let test_clock = options.clock_control.then(|| Arc::new(TestClock::default()));
    let clock: SharedClock = match &test_clock {
        Some(test_clock) => test_clock.clone(),
        None => Arc::new(SystemClock),
    };
    let store = match &options.cluster {
        None => Store::open(&options.data_dir, clock.clone(), options.cache_bytes)?,
        Some(cluster) => Store::join(&options.data_dir, cluster, clock.clone(), options.cache_bytes).await?,
    };
    let runtime = Runtime::new(&options.data_dir.join("compiled"), options.limits, clock)?;
    let registry = tokio::task::block_in_place(|| -> Result<_> {
        let registry = Registry::open(store.clone(), runtime, options.development)?;
        registry.install_first_party()?;
        Ok(registry)
    })?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    let addr = listener.local_addr()?;
    let workers = Supervisor::new(store.clone());
    let outbox = Outbox::new(store.clone(), registry.clone(), RetryPolicy::default());
    outbox.spawn(&workers);
    let files = Arc::new(crate::store::files::Files::open(&options.data_dir.join("attachments"))?);
    crate::delivery::CrmDelivery::new(store.clone(), registry.clone(), files.clone()).spawn(&workers);
    crate::work::Dispatcher::new(store.clone(), registry.clone()).spawn(&workers);
    purge_raw_requests(store.clone(), options.raw_retention, &workers);
    crate::media::Fetcher::new(
        store.clone(),
        registry.clone(),
        files.clone(),
        options.attachment_retention,
        options.attachment_max_bytes,
    )
    .spawn(&workers);
    let search = Arc::new(crate::search::Search::open(&options.data_dir.join("search"), &store)?);
    search.follow(store.clone(), std::time::Duration::from_millis(200), &workers);
    registry.follow_other_nodes(&workers);
    let intake = crate::pipeline::intake::Sink::new(store.clone(), registry.clone());
    intake.spawn_workers(INTAKE_WORKERS, &workers);
    let open_files = limits::raise_open_files();
    let gate = limits::Gate::new(options.connections);
    let public_url = match &options.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{addr}"),
    };
    crate::work::notices::Notifier::new(store.clone(), registry.clone(), files.clone(), public_url.clone())
        .spawn(&workers);
    let app = Arc::new(App {
        store,
        registry,
        outbox,
        test_clock,
        admin_token,
        intake,
        gate,
        open_files,
        public_url,
        trusted_proxies: options.trusted_proxies.clone(),
        lockout: Default::default(),
        password_checks: Default::default(),
        streams: Default::default(),
        search,
        files,
    });
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(http::serve(listener, app.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(Running { addr, app, token_file, shutdown, task, workers })
}

/// Reads `<dir>/admin-token`, or generates one there (mode 0600) on first start.
fn token_from_file(dir: &Path) -> Result<(String, PathBuf)> {
    let path = dir.join("admin-token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        let token = token.trim().to_string();
        if !token.is_empty() {
            return Ok((token, path));
        }
    }
    let token = format!("cht_{}{}", ulid::Ulid::new(), ulid::Ulid::new()).to_lowercase();
    std::fs::write(&path, format!("{token}\n")).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok((token, path))
}
