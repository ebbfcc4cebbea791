//! `clienthub appeals …`: list, show, reply to and act on appeals through the appeals API.

use super::table::Table;
use super::{print, typed};
use anyhow::{Context, Result};
use clap::Subcommand;
use clienthub::appeal::{Appeal, Reply};
use clienthub::client::Client;

#[derive(Subcommand)]
pub enum AppealsAction {
    /// List appeals, newest first.
    List {
        /// Search: words in any form, a phone typed any way, an e-mail, a platform id.
        #[arg(long, short)]
        query: Option<String>,
        /// Filters, `field=value` (status, channel, queue, department, region, assignee, topic,
        /// from, to); repeatable.
        #[arg(long = "where", value_name = "FIELD=VALUE")]
        filters: Vec<String>,
        /// Only this status (new, routed, in_work, paused, dropped, triage, resolved).
        #[arg(long)]
        status: Option<String>,
        /// Only this channel.
        #[arg(long)]
        channel: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only the ids, one a line (for scripts: `ID=$(clienthub appeals list -q --limit 1)`).
        #[arg(long, short = 'Q')]
        quiet: bool,
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
        /// The text (its author is the token's holder).
        text: String,
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

pub async fn run(action: AppealsAction, json: bool, client: Client) -> Result<()> {
    match action {
        AppealsAction::List { query: search, filters, status, channel, limit, quiet } => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("limit", &limit.to_string());
            if let Some(q) = &search {
                query.append_pair("q", q);
            }
            for filter in &filters {
                let (field, value) = filter.split_once('=').context("a filter is FIELD=VALUE")?;
                query.append_pair(field, value);
            }
            if let Some(s) = &status {
                query.append_pair("status", s);
            }
            if let Some(c) = &channel {
                query.append_pair("channel", c);
            }
            let mut page = client.get_json(&format!("/api/appeals?{}", query.finish())).await?;
            if json {
                return print(&page);
            }
            let items: Vec<Appeal> = typed(page["items"].take())?;
            if quiet {
                items.iter().for_each(|a| println!("{}", a.id));
                return Ok(());
            }
            let mut table = Table::new(&["ID", "CHANNEL", "STATUS", "QUEUE", "ASSIGNEE", "TEXT"]);
            for a in items {
                table.row(vec![
                    a.id.clone(),
                    a.channel.clone(),
                    a.status.name().to_string(),
                    a.decision.as_ref().map_or("-", |d| d.queue.as_str()).to_string(),
                    a.work.assignee.clone().unwrap_or_else(|| "-".into()),
                    a.text.chars().take(60).collect::<String>().replace('\n', " "),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }
        AppealsAction::Show { id } => print(&client.get_json(&format!("/api/appeals/{id}")).await?),
        AppealsAction::Reply { id, text } => {
            let body = serde_json::json!({ "text": text });
            let reply = client.send_json("POST", &format!("/api/appeals/{id}/replies"), &body).await?;
            println!("reply {} queued", typed::<Reply>(reply)?.id);
            Ok(())
        }
        AppealsAction::RetryReply { id, reply } => print(
            &client.send("POST", &format!("/api/appeals/{id}/replies/{reply}/retry"), None).await?.json()?,
        ),
        AppealsAction::Reprocess { id, all } => match (id, all) {
            (Some(id), false) => {
                let appeal =
                    client.send("POST", &format!("/api/appeals/{id}/reprocess"), None).await?.json()?;
                println!("{id} {}", typed::<Appeal>(appeal)?.status.name());
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

/// An operator action; prints the appeal's id, status, assignee and department.
async fn act(client: &Client, id: &str, verb: &str, body: serde_json::Value) -> Result<()> {
    let appeal: Appeal = typed(client.send_json("POST", &format!("/api/appeals/{id}/{verb}"), &body).await?)?;
    println!(
        "{id} {} assignee {} department {}",
        appeal.status.name(),
        appeal.work.assignee.as_deref().unwrap_or("-"),
        appeal.work.department.as_deref().unwrap_or("-")
    );
    Ok(())
}
