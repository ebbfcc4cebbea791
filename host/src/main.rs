//! `clienthub`: the host (`serve`), its benchmark (`bench`), and thin clients of the admin API
//! (`plugin`, `appeals`, `directory`).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use clienthub::client::Client;
use clienthub::server::{ServeOptions, start};
use clienthub::store::cluster::ClusterOptions;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Admin token (default: $CLIENTHUB_ADMIN_TOKEN, else ./clienthub-data/admin-token).
    #[arg(long, env = "CLIENTHUB_ADMIN_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
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
        /// Where state lives: `sled` (this machine, the default) or `nats://host:4222` (a
        /// node of a cluster on NATS JetStream; the data directory is then this node's view).
        #[arg(long, env = "CLIENTHUB_STORE", default_value = "sled")]
        store: String,
        /// The cluster's name: the prefix of its streams and buckets (several tenants can share
        /// one NATS under different names).
        #[arg(long, env = "CLIENTHUB_CLUSTER", default_value = "clienthub")]
        cluster: String,
        /// Copies JetStream keeps of the cluster's streams and buckets when it creates them
        /// (3 on a three-server NATS cluster).
        #[arg(long, default_value_t = 1)]
        replicas: usize,
    },
    /// Measure throughput, latency and the WASM tax on this machine.
    Bench(clienthub::bench::BenchOptions),
    /// Manage plugins.
    Plugin {
        #[command(subcommand)]
        action: PluginAction,
        #[command(flatten)]
        remote: Remote,
    },
    /// Read appeals.
    Appeals {
        #[command(subcommand)]
        action: AppealsAction,
        #[command(flatten)]
        remote: Remote,
    },
    /// Issue, list or revoke API tokens (admin, operator, viewer).
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[command(flatten)]
        remote: Remote,
    },
    /// Import or export the routing directory.
    Directory {
        #[command(subcommand)]
        action: DirectoryAction,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand)]
enum PluginAction {
    /// Upload a component (.wasm); validated by the host.
    Upload {
        /// The component file.
        file: PathBuf,
        /// Activate it right away.
        #[arg(long)]
        activate: bool,
    },
    /// List plugins, their versions and which is active.
    List,
    /// Activate a version.
    Activate {
        /// Plugin name.
        name: String,
        /// Version to activate.
        version: String,
        /// Position in the filter chain (lower runs first).
        #[arg(long)]
        position: Option<i64>,
    },
    /// Re-activate the previously active version.
    Rollback {
        /// Plugin name.
        name: String,
    },
    /// Deactivate a plugin.
    Deactivate {
        /// Plugin name.
        name: String,
    },
    /// Run a candidate version in shadow beside the active one (with VERSION), show the
    /// comparison so far (without), or stop it (--stop).
    Shadow {
        /// Plugin name.
        name: String,
        /// The candidate version.
        version: Option<String>,
        /// Stop the shadow run.
        #[arg(long)]
        stop: bool,
    },
    /// Replay a candidate version over the newest stored appeals (or a time range) and show
    /// the differences.
    Replay {
        /// Plugin name.
        name: String,
        /// The candidate version.
        version: String,
        /// At most this many appeals, newest first (default: 500, or all of a time range).
        #[arg(long)]
        last: Option<usize>,
        /// Only appeals received at or after this time (RFC 3339: 2026-11-20T09:00:00+03:00).
        #[arg(long, value_parser = rfc3339_ms)]
        since: Option<u64>,
        /// Only appeals received at or before this time (RFC 3339).
        #[arg(long, value_parser = rfc3339_ms)]
        until: Option<u64>,
    },
    /// Allow a plugin to have the host call these hosts besides its manifest's (a self-hosted
    /// Bot API server, a proxy): `host`, `host:port` or `*.domain`. No hosts clears the list.
    AllowHosts {
        /// Plugin name.
        name: String,
        /// The hosts.
        hosts: Vec<String>,
    },
    /// Set a plugin's configuration from a JSON file (`-` for stdin).
    Config {
        /// Plugin name.
        name: String,
        /// JSON file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AppealsAction {
    /// List appeals, newest first.
    List {
        /// Only this status (new, routed, dropped, triage, resolved).
        #[arg(long)]
        status: Option<String>,
        /// Only this channel.
        #[arg(long)]
        channel: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show one appeal with its history.
    Show {
        /// Appeal id.
        id: String,
    },
    /// Reply to the customer through the appeal's channel (queued; see `show` for the outcome).
    Reply {
        /// Appeal id.
        id: String,
        /// The text.
        text: String,
        /// Who replies.
        #[arg(long)]
        author: Option<String>,
    },
    /// Queue a failed reply again.
    RetryReply {
        /// Appeal id.
        id: String,
        /// Reply id.
        reply: String,
    },
    /// Run triage appeals through the current pipeline again (after a fix): one, or all.
    Reprocess {
        /// Appeal id (omit with --all).
        id: Option<String>,
        /// Every appeal in triage (newest first, up to 1000).
        #[arg(long)]
        all: bool,
    },
    /// Take an appeal into work.
    Take {
        /// Appeal id.
        id: String,
        /// Who takes it (an employee id); default: its assignee.
        #[arg(long)]
        employee: Option<String>,
    },
    /// Hand an appeal off to an employee, a department, or the next escalation level.
    Handoff {
        /// Appeal id.
        id: String,
        /// To this employee.
        #[arg(long, group = "to")]
        employee: Option<String>,
        /// To this department.
        #[arg(long, group = "to")]
        department: Option<String>,
        /// Up the department's escalation ladder.
        #[arg(long, group = "to")]
        escalate: bool,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Pause an appeal (waiting for the customer): its SLA clock stops, up to the limit.
    Pause {
        /// Appeal id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// End a pause.
    Resume {
        /// Appeal id.
        id: String,
    },
    /// Mark an appeal resolved; the customer's next message opens a new appeal.
    Resolve {
        /// Appeal id.
        id: String,
    },
    /// Reopen a resolved appeal.
    Reopen {
        /// Appeal id.
        id: String,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Issue a token; it is printed once.
    Create {
        /// admin, operator or viewer.
        #[arg(long)]
        role: String,
        /// Whom it is for.
        #[arg(long)]
        name: String,
    },
    /// List issued tokens (ids, roles, names; never the tokens).
    List,
    /// Revoke a token by its id.
    Revoke {
        /// The id from `token list`.
        id: String,
    },
}

#[derive(Subcommand)]
enum DirectoryAction {
    /// Replace the directory with a JSON file (`-` for stdin); references are validated.
    Import {
        /// JSON file.
        file: PathBuf,
    },
    /// Print the directory as JSON.
    Export,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,cranelift=warn,wasmtime=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve { listen, data_dir, clock_control, store, cluster, replicas } => {
            let cluster = match store.as_str() {
                "sled" => None,
                url if url.starts_with("nats://") || url.starts_with("tls://") => {
                    Some(ClusterOptions { url: url.to_string(), name: cluster, replicas })
                }
                other => anyhow::bail!("--store is `sled` or `nats://host:port`, not `{other}`"),
            };
            serve(ServeOptions {
                listen,
                data_dir,
                admin_token: std::env::var("CLIENTHUB_ADMIN_TOKEN").ok(),
                limits: Default::default(),
                clock_control,
                cluster,
            })
            .await
        }
        Command::Bench(options) => clienthub::bench::run(options).await,
        Command::Plugin { action, remote } => plugin(action, client(remote)?).await,
        Command::Appeals { action, remote } => appeals(action, client(remote)?).await,
        Command::Directory { action, remote } => directory(action, client(remote)?).await,
        Command::Token { action, remote } => token(action, client(remote)?).await,
    }
}

async fn serve(options: ServeOptions) -> Result<()> {
    let running = start(options).await?;
    if let Some(file) = &running.token_file {
        println!("admin token: {} (set CLIENTHUB_ADMIN_TOKEN to choose your own)", file.display());
    }
    println!("clienthub listening on http://{}", running.addr);
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    running.stop().await
}

fn client(remote: Remote) -> Result<Client> {
    let token = match remote.token {
        Some(token) => Some(token),
        None => std::fs::read_to_string("clienthub-data/admin-token").ok().map(|t| t.trim().to_string()),
    };
    Ok(Client::new(&remote.server, token))
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

fn print(value: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn plugin(action: PluginAction, client: Client) -> Result<()> {
    match action {
        PluginAction::Upload { file, activate } => {
            let bytes = read_input(&file)?;
            let record =
                client.send("POST", "/api/plugins", Some(("application/wasm", bytes))).await?.json()?;
            println!(
                "uploaded {}@{}",
                record["name"].as_str().unwrap_or("?"),
                record["version"].as_str().unwrap_or("?")
            );
            if activate {
                let name = record["name"].as_str().unwrap_or_default();
                let body = serde_json::json!({ "version": record["version"] });
                client.send_json("POST", &format!("/api/plugins/{name}/activate"), &body).await?;
                println!("activated");
            }
            Ok(())
        }
        PluginAction::List => {
            let list = client.get_json("/api/plugins").await?;
            for plugin in list.as_array().into_iter().flatten() {
                let versions: Vec<&str> = plugin["versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["version"].as_str())
                    .collect();
                let kind = plugin["versions"][0]["kind"].as_str().unwrap_or("?");
                println!(
                    "{:<20} {:<8} active {:<10} versions {}",
                    plugin["name"].as_str().unwrap_or("?"),
                    kind,
                    plugin["active"].as_str().unwrap_or("-"),
                    versions.join(", ")
                );
            }
            Ok(())
        }
        PluginAction::Activate { name, version, position } => {
            let body = serde_json::json!({ "version": version, "position": position });
            print(&client.send_json("POST", &format!("/api/plugins/{name}/activate"), &body).await?)
        }
        PluginAction::Rollback { name } => {
            print(&client.send("POST", &format!("/api/plugins/{name}/rollback"), None).await?.json()?)
        }
        PluginAction::Deactivate { name } => {
            print(&client.send("POST", &format!("/api/plugins/{name}/deactivate"), None).await?.json()?)
        }
        PluginAction::Shadow { name, version, stop } => {
            let path = format!("/api/plugins/{name}/shadow");
            match (version, stop) {
                (_, true) => print(&client.send("DELETE", &path, None).await?.json()?),
                (Some(version), false) => {
                    client.send_json("POST", &path, &serde_json::json!({ "version": version })).await?;
                    println!("{name}@{version} runs in shadow");
                    Ok(())
                }
                (None, false) => print(&client.get_json(&path).await?),
            }
        }
        PluginAction::Replay { name, version, last, since, until } => {
            let last = last.unwrap_or(if since.or(until).is_some() { usize::MAX } else { 500 });
            replay(&client, &name, &version, last, (since, until)).await
        }
        PluginAction::AllowHosts { name, hosts } => {
            let body = serde_json::json!({ "hosts": hosts });
            print(&client.send_json("PUT", &format!("/api/plugins/{name}/outbound-hosts"), &body).await?)
        }
        PluginAction::Config { name, file } => {
            let value: serde_json::Value =
                serde_json::from_slice(&read_input(&file)?).context("the config is not JSON")?;
            print(&client.send_json("PUT", &format!("/api/plugins/{name}/config"), &value).await?)
        }
    }
}

async fn appeals(action: AppealsAction, client: Client) -> Result<()> {
    match action {
        AppealsAction::List { status, channel, limit } => {
            let mut path = format!("/api/appeals?limit={limit}");
            if let Some(s) = status {
                path.push_str(&format!("&status={s}"));
            }
            if let Some(c) = channel {
                path.push_str(&format!("&channel={c}"));
            }
            let page = client.get_json(&path).await?;
            for a in page["items"].as_array().into_iter().flatten() {
                println!(
                    "{}  {:<9} {:<8} {:<14} {}",
                    a["id"].as_str().unwrap_or("?"),
                    a["channel"].as_str().unwrap_or("?"),
                    a["status"].as_str().unwrap_or("?"),
                    a["decision"]["queue"].as_str().unwrap_or("-"),
                    a["text"].as_str().unwrap_or("").chars().take(60).collect::<String>().replace('\n', " ")
                );
            }
            Ok(())
        }
        AppealsAction::Show { id } => print(&client.get_json(&format!("/api/appeals/{id}")).await?),
        AppealsAction::Reply { id, text, author } => {
            let body = serde_json::json!({ "text": text, "author": author });
            let reply = client.send_json("POST", &format!("/api/appeals/{id}/replies"), &body).await?;
            println!("reply {} queued", reply["id"].as_str().unwrap_or("?"));
            Ok(())
        }
        AppealsAction::RetryReply { id, reply } => print(
            &client.send("POST", &format!("/api/appeals/{id}/replies/{reply}/retry"), None).await?.json()?,
        ),
        AppealsAction::Reprocess { id, all } => match (id, all) {
            (Some(id), false) => {
                let appeal =
                    client.send("POST", &format!("/api/appeals/{id}/reprocess"), None).await?.json()?;
                println!("{id} {}", appeal["status"].as_str().unwrap_or("?"));
                Ok(())
            }
            (None, true) => print(
                &client
                    .send_json("POST", "/api/appeals/reprocess", &serde_json::json!({ "limit": 1000 }))
                    .await?,
            ),
            _ => anyhow::bail!("give an appeal id or --all"),
        },
        AppealsAction::Take { id, employee } => {
            act(&client, &id, "take", serde_json::json!({ "employee": employee })).await
        }
        AppealsAction::Handoff { id, employee, department, escalate, reason } => {
            let body = serde_json::json!({ "employee": employee, "department": department, "escalate": escalate, "reason": reason });
            act(&client, &id, "handoff", body).await
        }
        AppealsAction::Pause { id, reason } => {
            act(&client, &id, "pause", serde_json::json!({ "reason": reason })).await
        }
        AppealsAction::Resume { id } => act(&client, &id, "resume", serde_json::json!({})).await,
        AppealsAction::Resolve { id } => act(&client, &id, "resolve", serde_json::json!({})).await,
        AppealsAction::Reopen { id } => act(&client, &id, "reopen", serde_json::json!({})).await,
    }
}

async fn token(action: TokenAction, client: Client) -> Result<()> {
    match action {
        TokenAction::Create { role, name } => {
            let body = serde_json::json!({ "role": role, "name": name });
            let issued = client.send_json("POST", "/api/tokens", &body).await?;
            println!("{}", issued["token"].as_str().unwrap_or("?"));
            eprintln!(
                "{} token for {name}, id {} (shown once)",
                role,
                issued["issued"]["id"].as_str().unwrap_or("?")
            );
            Ok(())
        }
        TokenAction::List => print(&client.get_json("/api/tokens").await?),
        TokenAction::Revoke { id } => {
            print(&client.send("DELETE", &format!("/api/tokens/{id}"), None).await?.json()?)
        }
    }
}

/// An RFC 3339 time as milliseconds since the Unix epoch.
fn rfc3339_ms(text: &str) -> Result<u64, String> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time (2026-11-20T09:00:00+03:00): {e}"))?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| "before 1970".to_string())
}

/// Replays page by page, drawing a progress bar on stderr (a count for a time range); prints
/// the differences.
async fn replay(
    client: &Client,
    name: &str,
    version: &str,
    last: usize,
    (since, until): (Option<u64>, Option<u64>),
) -> Result<()> {
    let (mut done, mut compared, mut differed, mut before) = (0, 0, 0, None::<String>);
    let mut differences = Vec::new();
    while done < last {
        let limit = (last - done).min(50);
        let body = serde_json::json!({ "version": version, "limit": limit, "before": before,
            "since": since, "until": until });
        let page = client.send_json("POST", &format!("/api/plugins/{name}/replay"), &body).await?;
        let seen = page["compared"].as_u64().unwrap_or(0) + page["skipped"].as_u64().unwrap_or(0);
        done += seen as usize;
        compared += page["compared"].as_u64().unwrap_or(0);
        differed += page["differed"].as_u64().unwrap_or(0);
        differences.extend(page["differences"].as_array().cloned().unwrap_or_default());
        if last == usize::MAX {
            eprint!("\r{done} appeals");
        } else {
            let filled = (done * 30 / last.max(1)).min(30);
            eprint!("\r[{}{}] {done}/{last}", "#".repeat(filled), " ".repeat(30 - filled));
        }
        match page["next"].as_str() {
            Some(next) if seen > 0 => before = Some(next.to_string()),
            _ => break,
        }
    }
    eprintln!();
    println!("{name}@{version}: compared {compared}, differed {differed}");
    for d in differences.iter().take(20) {
        println!(
            "{}  active: {}\n{}  {version}: {}",
            d["appeal"].as_str().unwrap_or("?"),
            d["active"].as_str().unwrap_or(""),
            " ".repeat(26),
            d["shadow"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// An operator action; prints the appeal's id, status, assignee and department.
async fn act(client: &Client, id: &str, verb: &str, body: serde_json::Value) -> Result<()> {
    let appeal = client.send_json("POST", &format!("/api/appeals/{id}/{verb}"), &body).await?;
    let field = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    println!(
        "{id} {} assignee {} department {}",
        field(&appeal["status"]),
        field(&appeal["work"]["assignee"]),
        field(&appeal["work"]["department"])
    );
    Ok(())
}

async fn directory(action: DirectoryAction, client: Client) -> Result<()> {
    match action {
        DirectoryAction::Import { file } => {
            let value: serde_json::Value =
                serde_json::from_slice(&read_input(&file)?).context("the directory file is not JSON")?;
            let saved = client.send_json("PUT", "/api/directory", &value).await?;
            let count = |k: &str| saved[k].as_array().map_or(0, Vec::len);
            println!(
                "imported {} regions, {} departments, {} employees, {} topics",
                count("regions"),
                count("departments"),
                count("employees"),
                count("topics")
            );
            Ok(())
        }
        DirectoryAction::Export => print(&client.get_json("/api/directory").await?),
    }
}
