//! `clienthub employees …` (invitations, accounts, sessions) and `clienthub audit` (the audit
//! log, page by page).

use super::print;
use anyhow::Result;
use clap::Subcommand;
use clienthub::client::Client;

#[derive(Subcommand)]
pub enum EmployeesAction {
    /// Make a one-time sign-in link for an employee of the directory (a new account, or a
    /// password reset); the link is printed once.
    Invite {
        /// The employee's id in the directory (their login).
        id: String,
        /// viewer, master, operator, supervisor or admin (default: the current role, else
        /// operator).
        #[arg(long)]
        role: Option<String>,
        /// Departments they see, comma-separated (`*` for all; default: their own).
        #[arg(long, value_delimiter = ',')]
        departments: Vec<String>,
    },
    /// The employees with their accounts, presence and open appeals.
    List,
    /// End every session of an employee.
    RevokeSessions {
        /// The employee's id.
        id: String,
    },
}

pub async fn employees(action: EmployeesAction, client: Client) -> Result<()> {
    match action {
        EmployeesAction::Invite { id, role, departments } => {
            let body = serde_json::json!({ "role": role, "departments": departments });
            let invited = client.send_json("POST", &format!("/api/employees/{id}/invite"), &body).await?;
            println!("{}", invited["link"].as_str().unwrap_or("?"));
            eprintln!(
                "приглашение для {id} ({}), действует до {} мс (shown once)",
                invited["role"].as_str().unwrap_or("?"),
                invited["expires_at"]
            );
            Ok(())
        }
        EmployeesAction::List => print(&client.get_json("/api/employees").await?),
        EmployeesAction::RevokeSessions { id } => {
            print(&client.send("DELETE", &format!("/api/employees/{id}/sessions"), None).await?.json()?)
        }
    }
}

/// Prints the audit log as JSON lines, oldest first: everything, or `limit` events after
/// `after`.
pub async fn audit(client: Client, after: Option<String>, limit: Option<usize>) -> Result<()> {
    let mut after = after;
    let mut left = limit.unwrap_or(usize::MAX);
    while left > 0 {
        let page = 1000.min(left);
        let mut path = format!("/api/audit?limit={page}");
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let answer = client.get_json(&path).await?;
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        for item in &items {
            println!("{item}");
        }
        left -= items.len().min(left);
        match answer["next"].as_str() {
            Some(next) if items.len() == page => after = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(())
}
