//! `clienthub plugin …`: upload, list, activate, roll back, shadow, replay and configure
//! plugins through the admin API.

use super::table::Table;
use super::{print, read_input, typed};
use anyhow::{Context, Result};
use clap::Subcommand;
use clienthub::client::Client;
use clienthub::registry::{Activation, PluginRecord};
use clienthub::rollout::replay::Page;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PluginAction {
    /// Write a new plugin crate (a working example, its tests, a small release profile).
    New {
        /// What the plugin is.
        #[arg(value_enum)]
        kind: super::scaffold::Kind,
        /// Its name (the crate's, the manifest's, a channel's `/hooks/<name>`).
        name: String,
        /// The folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The SDK's folder (default: the sdk/ of the checkout this binary was built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build the plugin crate in a folder into the `.wasm` to upload (installs the
    /// wasm32-wasip2 target when it is missing).
    Build {
        /// The crate's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Upload a component (.wasm), or build a plugin crate's folder and upload what it built;
    /// validated by the host.
    Upload {
        /// The component file, or a plugin crate's folder.
        file: PathBuf,
        /// Activate it right away.
        #[arg(long)]
        activate: bool,
        /// With --activate: replace the active router of another name.
        #[arg(long)]
        replace: bool,
        /// Replace the same version's content (only on a host started with `serve --dev`).
        #[arg(long)]
        dev: bool,
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
        /// Replace the active router of another name (one router is active at a time).
        #[arg(long)]
        replace: bool,
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

pub async fn run(action: PluginAction, json: bool, client: Client) -> Result<()> {
    match action {
        PluginAction::New { kind, name, dir, sdk } => super::scaffold::new(kind, &name, &dir, sdk),
        PluginAction::Build { dir } => super::scaffold::build(&dir).map(drop),
        PluginAction::Upload { file, activate, replace, dev } => {
            let file = if file.is_dir() { super::scaffold::build(&file)? } else { file };
            let bytes = read_input(&file)?;
            let path = if dev { "/api/plugins?dev=true" } else { "/api/plugins" };
            let record: PluginRecord =
                typed(client.send("POST", path, Some(("application/wasm", bytes))).await?.json()?)?;
            println!(
                "uploaded {}{}",
                record.label(),
                if dev { " (development: replaced in place)" } else { "" }
            );
            if activate {
                let body = serde_json::json!({ "version": record.version, "replace": replace });
                client.send_json("POST", &format!("/api/plugins/{}/activate", record.name), &body).await?;
                println!("activated");
            }
            Ok(())
        }
        PluginAction::List => {
            let list = client.get_json("/api/plugins").await?;
            if json {
                return print(&list);
            }
            let mut table = Table::new(&["NAME", "KIND", "ACTIVE", "VERSIONS"]);
            for plugin in list.as_array().into_iter().flatten() {
                let versions: Vec<&str> = plugin["versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["version"].as_str())
                    .collect();
                table.row(vec![
                    plugin["name"].as_str().unwrap_or("?").into(),
                    plugin["versions"][0]["kind"].as_str().unwrap_or("?").into(),
                    plugin["active"].as_str().unwrap_or("-").into(),
                    versions.join(", "),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }
        PluginAction::Activate { name, version, position, replace } => {
            let body = serde_json::json!({ "version": version, "position": position, "replace": replace });
            let state = client.send_json("POST", &format!("/api/plugins/{name}/activate"), &body).await?;
            state_changed(&state, json)
        }
        PluginAction::Rollback { name } => state_changed(
            &client.send("POST", &format!("/api/plugins/{name}/rollback"), None).await?.json()?,
            json,
        ),
        PluginAction::Deactivate { name } => {
            let path = format!("/api/plugins/{name}/deactivate");
            state_changed(&client.send("POST", &path, None).await?.json()?, json)
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

/// A plugin's activation state after a change: the change it logged last, in a sentence
/// (`rules-router: rolled back from 0.2.0 to 0.1.1; active 0.1.1`), or the record as JSON.
fn state_changed(state: &serde_json::Value, json: bool) -> Result<()> {
    if json {
        return print(state);
    }
    let state: Activation = typed(state.clone())?;
    let last = state.log.last().map_or("unchanged", |(_, what)| what.as_str());
    println!("{}: {last}; active {}", state.name, state.active.as_deref().unwrap_or("none"));
    Ok(())
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
        let page: Page =
            typed(client.send_json("POST", &format!("/api/plugins/{name}/replay"), &body).await?)?;
        let seen = page.compared + page.skipped;
        done += seen;
        compared += page.compared;
        differed += page.differed;
        differences.extend(page.differences);
        if last == usize::MAX {
            eprint!("\r{done} appeals");
        } else {
            let filled = (done * 30 / last.max(1)).min(30);
            eprint!("\r[{}{}] {done}/{last}", "#".repeat(filled), " ".repeat(30 - filled));
        }
        match page.next {
            Some(next) if seen > 0 => before = Some(next),
            _ => break,
        }
    }
    eprintln!();
    println!("{name}@{version}: compared {compared}, differed {differed}");
    for d in differences.iter().take(20) {
        println!("{}  active: {}\n{}  {version}: {}", d.appeal, d.active, " ".repeat(26), d.shadow);
    }
    Ok(())
}
