//! `clienthub`: the host (`serve`), its benchmark (`bench`), and thin clients of the admin API
//! (`plugin`, `appeals`, `directory`, `token`, `contacts`, `backup`; `restore` works offline),
//! one module each.

mod appeals;
mod channels;
mod data;
mod directory;
mod people;
mod plugin;
mod scaffold;
mod serve;
mod table;
mod token;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use clienthub::client::Client;
use clienthub::http::limits::ConnectionLimits;
use clienthub::runtime::Limits;
use clienthub::runtime::outbound::Rate;
use clienthub::server::ServeOptions;
use clienthub::store::ClusterOptions;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// Where `serve` keeps state (`--store`).
#[derive(Debug, Clone, PartialEq)]
enum StoreChoice {
    /// This machine's data directory.
    Local,
    /// A node of a cluster on the NATS server at this URL.
    Nats(String),
}

impl StoreChoice {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            // `sled`: the name of the local store before it changed engines.
            "local" | "sled" => Ok(StoreChoice::Local),
            url if url.starts_with("nats://") || url.starts_with("tls://") => {
                Ok(StoreChoice::Nats(url.into()))
            }
            other => Err(format!("`local` or `nats://host:port`, not `{other}`")),
        }
    }
}

#[derive(Parser)]
#[command(name = "clienthub", version, about = "Omnichannel appeal hub with WebAssembly plugins")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Remote {
    /// The host's URL.
    #[arg(long, env = "CLIENTHUB_URL", default_value = "http://127.0.0.1:8080", global = true)]
    server: String,
    /// Admin token (default: $CLIENTHUB_ADMIN_TOKEN, else the admin-token file of --data-dir).
    #[arg(long, env = "CLIENTHUB_ADMIN_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// The host's data directory, whose admin-token file the CLI reads when no token is given.
    #[arg(long, env = "CLIENTHUB_DATA_DIR", default_value = "./clienthub-data", global = true)]
    data_dir: PathBuf,
    /// Machine output: JSON instead of tables and sentences.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the host.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Data directory (database, compiled plugins, admin token).
        #[arg(long, default_value = "./clienthub-data")]
        data_dir: PathBuf,
        /// Let `POST /api/clock/advance` move the host's clock (tests and demos of SLA clocks).
        #[arg(long)]
        clock_control: bool,
        /// Where state lives: `local` (this machine, the default) or `nats://host:4222` (a
        /// node of a cluster on NATS JetStream; the data directory is then this node's view).
        #[arg(long, env = "CLIENTHUB_STORE", default_value = "local", value_parser = StoreChoice::parse)]
        store: StoreChoice,
        /// The cluster's name: the prefix of its streams and buckets (several tenants can share
        /// one NATS under different names).
        #[arg(long, env = "CLIENTHUB_CLUSTER", default_value = "clienthub")]
        cluster: String,
        /// Copies JetStream keeps of the cluster's streams and buckets when it creates them
        /// (3 on a three-server NATS cluster).
        #[arg(long, default_value_t = 1)]
        replicas: usize,
        /// In a cluster: writes between snapshots of the state (a joining node loads the
        /// latest and replays only what came after; the stream is trimmed behind it).
        #[arg(long, default_value_t = 100_000)]
        snapshot_every: u64,
        /// Connections served at once; more are closed as they arrive.
        #[arg(long, default_value_t = 4096)]
        max_connections: usize,
        /// Connections served at once from one address (an IPv6 /64); a trusted proxy's are
        /// not counted against it.
        #[arg(long, default_value_t = 256)]
        max_connections_per_address: usize,
        /// Seconds a client may take to send a request's headers (and a kept-alive
        /// connection may sit idle).
        #[arg(long, default_value_t = 15)]
        header_timeout: u64,
        /// Seconds a client may take to send a request's body.
        #[arg(long, default_value_t = 30)]
        body_timeout: u64,
        /// Let outbound calls reach loopback and private addresses (tests against local
        /// stand-ins, a CRM on the office network); refused by default.
        #[arg(long)]
        allow_private_outbound: bool,
        /// Requests a second the CRM connector may make (Bitrix24 allows 2 on ordinary plans).
        #[arg(long, default_value_t = NonZeroU32::new(2).expect("not zero"))]
        crm_rate: NonZeroU32,
        /// Requests the CRM connector may make at once after a quiet spell (Bitrix24: 50).
        #[arg(long, default_value_t = NonZeroU32::new(50).expect("not zero"))]
        crm_burst: NonZeroU32,
        /// The URL the platforms reach this host at, for the webhook addresses
        /// `clienthub channels` prints (default: the listen address).
        #[arg(long, env = "CLIENTHUB_PUBLIC_URL")]
        public_url: Option<String>,
        /// A reverse proxy in front of the host (repeatable): its `X-Forwarded-For` names the
        /// source address the verification-failure limits count.
        #[arg(long)]
        trust_forwarded_from: Vec<std::net::IpAddr>,
        /// MiB the database's block cache may hold (memory stays bounded as history grows).
        #[arg(long, default_value_t = clienthub::store::DEFAULT_CACHE_BYTES >> 20)]
        cache_mib: u64,
        /// Days raw webhook requests (headers and body) are kept; the appeals stay.
        #[arg(long, default_value_t = 90)]
        raw_retention_days: u64,
        /// Days attachments' files (photos, recordings, documents) are kept after they were
        /// fetched; the appeals and their references stay.
        #[arg(long, default_value_t = 365)]
        attachment_retention_days: u64,
        /// MiB of the largest attachment file kept, below each kind's cap (photos 20, documents
        /// 50, audio and recordings 100, video 200); a larger one is refused and recorded.
        #[arg(long)]
        attachment_max_mib: Option<usize>,
        /// For plugin development: `plugin upload --dev` may replace a version's content
        /// (never on a production host).
        #[arg(long)]
        dev: bool,
    },
    /// Measure throughput, latency and the WASM tax on this machine (built with
    /// `--features bench`).
    #[cfg(feature = "bench")]
    Bench(clienthub::bench::BenchOptions),
    /// Manage plugins.
    Plugin {
        #[command(subcommand)]
        action: plugin::PluginAction,
        #[command(flatten)]
        remote: Remote,
    },
    /// Channels: webhook addresses, generated secrets and what to paste on each platform's
    /// side; opening a channel without verification.
    Channels {
        #[command(subcommand)]
        action: Option<channels::ChannelsAction>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Read appeals.
    Appeals {
        #[command(subcommand)]
        action: appeals::AppealsAction,
        #[command(flatten)]
        remote: Remote,
    },
    /// Issue, list or revoke API tokens (for services, or bound to an employee).
    Token {
        #[command(subcommand)]
        action: token::TokenAction,
        #[command(flatten)]
        remote: Remote,
    },
    /// Employees' accounts: invitations, the list, ending sessions.
    Employees {
        #[command(subcommand)]
        action: people::EmployeesAction,
        #[command(flatten)]
        remote: Remote,
    },
    /// The audit log as JSON lines, oldest first (sign-ins, invitations, changes, exports).
    Audit {
        /// Continue after this event id.
        #[arg(long)]
        after: Option<String>,
        /// At most this many events.
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        remote: Remote,
    },
    /// People's data: erasure on request.
    Contacts {
        #[command(subcommand)]
        action: data::ContactsAction,
        #[command(flatten)]
        remote: Remote,
    },
    /// Save a running host's data into an archive file (consistent for everything
    /// acknowledged before it began).
    Backup {
        /// The archive to write.
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        remote: Remote,
    },
    /// Rebuild a data directory from a backup archive (the host must not run on it).
    Restore {
        /// The archive.
        file: PathBuf,
        /// The new data directory (absent or empty).
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Import or export the routing directory.
    Directory {
        #[command(subcommand)]
        action: directory::DirectoryAction,
        #[command(flatten)]
        remote: Remote,
    },
}

pub fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // The database's own housekeeping (flushes, compactions) is not news.
                .unwrap_or_else(|_| "info,cranelift=warn,wasmtime=warn,fjall=warn,lsm_tree=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            listen,
            data_dir,
            clock_control,
            store,
            cluster,
            replicas,
            snapshot_every,
            max_connections,
            max_connections_per_address,
            header_timeout,
            body_timeout,
            allow_private_outbound,
            crm_rate,
            crm_burst,
            public_url,
            trust_forwarded_from,
            cache_mib,
            raw_retention_days,
            attachment_retention_days,
            attachment_max_mib,
            dev,
        } => {
            let cluster = match store {
                StoreChoice::Local => None,
                StoreChoice::Nats(url) => {
                    Some(ClusterOptions { url, name: cluster, replicas, snapshot_every })
                }
            };
            serve::run(ServeOptions {
                listen,
                data_dir,
                admin_token: std::env::var("CLIENTHUB_ADMIN_TOKEN").ok(),
                limits: Limits {
                    allow_private_outbound,
                    crm_rate: Rate { per_second: crm_rate, burst: crm_burst },
                    ..Limits::default()
                },
                clock_control,
                cluster,
                connections: ConnectionLimits {
                    max_connections: max_connections.max(1),
                    max_per_address: max_connections_per_address.max(1),
                    header_timeout: Duration::from_secs(header_timeout.max(1)),
                    body_timeout: Duration::from_secs(body_timeout.max(1)),
                },
                public_url,
                trusted_proxies: trust_forwarded_from,
                cache_bytes: cache_mib.max(8) << 20,
                raw_retention: Duration::from_secs(raw_retention_days.max(1).saturating_mul(86_400)),
                attachment_retention: Duration::from_secs(
                    attachment_retention_days.max(1).saturating_mul(86_400),
                ),
                attachment_max_bytes: attachment_max_mib.map(|mib| mib.max(1) << 20),
                development: dev,
            })
            .await
        }
        #[cfg(feature = "bench")]
        Command::Bench(options) => clienthub::bench::run(options).await,
        Command::Plugin { action, remote } => plugin::run(action, remote.json, client(remote)?).await,
        Command::Channels { action, remote } => channels::run(action, client(remote)?).await,
        Command::Appeals { action, remote } => appeals::run(action, remote.json, client(remote)?).await,
        Command::Directory { action, remote } => directory::run(action, client(remote)?).await,
        Command::Token { action, remote } => token::run(action, client(remote)?).await,
        Command::Employees { action, remote } => people::employees(action, client(remote)?).await,
        Command::Audit { after, limit, remote } => people::audit(client(remote)?, after, limit).await,
        Command::Contacts { action, remote } => data::contacts(action, client(remote)?).await,
        Command::Backup { to, remote } => data::backup(client(remote)?, &to).await,
        Command::Restore { file, data_dir } => data::restore(&file, &data_dir),
    }
}

/// A client of the host at `--server`, with the token of `--token` (or
/// `CLIENTHUB_ADMIN_TOKEN`), else the one `serve` wrote into the data directory; a 401 names
/// where it came from.
fn client(remote: Remote) -> Result<Client> {
    Ok(match remote.token {
        Some(token) => {
            Client::new(&remote.server, Some(token)).token_from("--token or CLIENTHUB_ADMIN_TOKEN")
        }
        None => {
            let file = remote.data_dir.join("admin-token");
            match std::fs::read_to_string(&file) {
                Ok(token) => Client::new(&remote.server, Some(token.trim().to_string()))
                    .token_from(file.display().to_string()),
                Err(_) => Client::new(&remote.server, None).token_from(file.display().to_string()),
            }
        }
    })
}

fn read_input(file: &PathBuf) -> Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("reading {}", file.display()))
    }
}

/// An API answer read into its type.
fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value)
        .context("the host's answer is not what this client expects (another version?)")
}

/// Prints an answer as JSON, its secrets masked ([`masked`]).
fn print(value: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(&masked(value.clone()))?);
    Ok(())
}

/// `value` with the values of keys that hold secrets (`bot_token`, `app_secret`, `api_key`,
/// `password`, …) masked down to their last four characters: a terminal, a shared screen or a
/// pasted log shows no channel's credentials.
fn masked(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    const SECRET: [&str; 6] = ["token", "secret", "password", "api_key", "salt", "signing_key"];
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let lower = key.to_ascii_lowercase();
                    match value {
                        Value::String(text) if SECRET.iter().any(|s| lower.contains(s)) => {
                            let tail: String =
                                text.chars().skip(text.chars().count().saturating_sub(4)).collect();
                            let shown = if text.chars().count() > 8 {
                                format!("••••{tail}")
                            } else {
                                "••••".into()
                            };
                            (key, Value::String(shown))
                        }
                        other => (key, masked(other)),
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::StoreChoice;

    #[test]
    fn secrets_are_masked_in_what_the_cli_prints() {
        let config = serde_json::json!({"config": {"bot_token": "123456:ABC-def-ghijklmn", "app_secret": "short",
            "open_lines": {"client_secret": "cs-0123456789"}, "chat_id": "-100200"}, "tokens": [{"name": "ci"}]});
        let shown = super::masked(config);
        assert_eq!(shown["config"]["bot_token"], "••••klmn");
        assert_eq!(shown["config"]["app_secret"], "••••");
        assert_eq!(shown["config"]["open_lines"]["client_secret"], "••••6789");
        assert_eq!(shown["config"]["chat_id"], "-100200");
        assert_eq!(shown["tokens"][0]["name"], "ci", "only strings under secret-named keys");
    }

    #[test]
    fn store_values_parse_or_say_what_is_expected() {
        assert_eq!(StoreChoice::parse("local"), Ok(StoreChoice::Local));
        assert_eq!(StoreChoice::parse("sled"), Ok(StoreChoice::Local));
        assert_eq!(
            StoreChoice::parse("nats://127.0.0.1:4222"),
            Ok(StoreChoice::Nats("nats://127.0.0.1:4222".into()))
        );
        assert!(StoreChoice::parse("postgres://x").unwrap_err().contains("nats://host:port"));
    }
}
