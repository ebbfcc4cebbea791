//! `clienthub token …`: API tokens for people and services.

use super::print;
use anyhow::Result;
use clap::Subcommand;
use clienthub::client::Client;

#[derive(Subcommand)]
pub enum TokenAction {
    /// Issue a token; it is printed once.
    Create {
        /// viewer, master, operator, supervisor or admin.
        #[arg(long)]
        role: String,
        /// The service it is for.
        #[arg(long, required_unless_present = "employee")]
        name: Option<String>,
        /// The employee it acts for (their scope, their name on every action).
        #[arg(long, conflicts_with = "name")]
        employee: Option<String>,
    },
    /// List issued tokens (ids, roles, names; never the tokens).
    List,
    /// Revoke a token by its id.
    Revoke {
        /// The id from `token list`.
        id: String,
    },
}

pub async fn run(action: TokenAction, client: Client) -> Result<()> {
    match action {
        TokenAction::Create { role, name, employee } => {
            let body = serde_json::json!({ "role": role, "name": name.clone().unwrap_or_default(), "employee": employee });
            let name = name.or(employee).unwrap_or_default();
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
