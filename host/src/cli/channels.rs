//! `clienthub channels …`: what to paste on each platform's side (webhook address, generated
//! secrets), which channels wait for a platform-issued secret, and opening a channel without
//! verification (explicitly) or requiring it again.

use super::print;
use anyhow::Result;
use clap::Subcommand;
use clienthub::client::Client;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum ChannelsAction {
    /// Every active channel: address, state, secrets and the platform-side setup (the default).
    Show {
        /// Print the API's JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Language of the setup texts: ru or en.
        #[arg(long, default_value = "ru")]
        lang: String,
    },
    /// Print one generated secret of a channel (for scripts: `--secret secret_token`).
    Secret {
        /// The channel (`telegram`).
        channel: String,
        /// The configuration key; the channel's first generated secret by default.
        key: Option<String>,
    },
    /// Accept a channel's deliveries without verifying them (anyone can then post to it).
    OpenUnverified {
        /// The channel.
        channel: String,
    },
    /// Require verification again.
    RequireVerification {
        /// The channel.
        channel: String,
    },
}

pub async fn run(action: Option<ChannelsAction>, client: Client) -> Result<()> {
    match action.unwrap_or(ChannelsAction::Show { json: false, lang: "ru".into() }) {
        ChannelsAction::Show { json: true, lang } => {
            print(&client.get_json(&format!("/api/channels?lang={lang}")).await?)
        }
        ChannelsAction::Show { json: false, lang } => {
            for channel in
                client.get_json(&format!("/api/channels?lang={lang}")).await?.as_array().into_iter().flatten()
            {
                println!("{}", describe(channel));
            }
            Ok(())
        }
        ChannelsAction::Secret { channel, key } => {
            let channels = client.get_json("/api/channels").await?;
            let found = channels.as_array().into_iter().flatten().find(|c| c["channel"] == channel.as_str());
            let secrets = found.map(|c| &c["secrets"]).and_then(Value::as_object);
            let value = secrets.and_then(|s| match &key {
                Some(key) => s.get(key),
                None => s.values().next(),
            });
            match value.and_then(Value::as_str) {
                Some(secret) => {
                    println!("{secret}");
                    Ok(())
                }
                None => anyhow::bail!("{channel} has no such generated secret (see `clienthub channels`)"),
            }
        }
        ChannelsAction::OpenUnverified { channel } => verification(&client, &channel, false).await,
        ChannelsAction::RequireVerification { channel } => verification(&client, &channel, true).await,
    }
}

async fn verification(client: &Client, channel: &str, required: bool) -> Result<()> {
    let path = format!("/api/channels/{channel}/verification");
    print(&client.send_json("PUT", &path, &json!({ "required": required })).await?)
}

/// A channel as a few lines of text.
fn describe(channel: &Value) -> String {
    let name = channel["channel"].as_str().unwrap_or("?");
    let state = match channel["verification"]["state"].as_str() {
        Some("verified") => "проверка подписи включена / verified".to_string(),
        Some("unverified") => "ОТКРЫТ БЕЗ ПРОВЕРКИ / open without verification".to_string(),
        _ => format!("НЕ НАСТРОЕН / not configured: {}", channel["refusal"].as_str().unwrap_or("")),
    };
    let mut text = format!(
        "{name} ({}) — {state}\n  {}\n",
        channel["plugin"].as_str().unwrap_or("?"),
        channel["url"].as_str().unwrap_or("")
    );
    for (key, value) in channel["secrets"].as_object().into_iter().flatten() {
        text.push_str(&format!("  {key}: {}\n", value.as_str().unwrap_or("")));
    }
    if let Some(setup) = channel["setup"].as_str() {
        text.push_str(&format!("  {setup}\n"));
    }
    text
}
