//! `clienthub directory import|export`: the routing directory as a JSON file.

use super::{print, read_input};
use anyhow::{Context, Result};
use clap::Subcommand;
use clienthub::client::Client;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum DirectoryAction {
    /// Replace the directory with a JSON file (`-` for stdin); references are validated.
    Import {
        /// JSON file.
        file: PathBuf,
    },
    /// Print the directory as JSON.
    Export,
}

pub async fn run(action: DirectoryAction, client: Client) -> Result<()> {
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
