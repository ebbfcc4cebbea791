//! The appeals API: `GET /api/appeals` (filtered, newest first, paginated),
//! `GET /api/appeals/{id}` with its history, replies (`POST /api/appeals/{id}/replies`, and
//! `.../replies/{reply}/retry` for a failed one) and the operator's `resolve` / `reopen`.

use super::App;
use super::bytes_body::Body;
use super::reply::{error, json, query_pairs, read_json};
use crate::appeal::{Status, now_ms};
use crate::replies::ReplyError;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

pub async fn handle(app: &App, method: &Method, rest: &[&str], request: Request<Incoming>) -> Response<Body> {
    match (method, rest) {
        (&Method::GET, []) => list(app, request.uri().query()),
        (&Method::GET, [id]) => match app.store.appeal(id) {
            Ok(Some(appeal)) => match earlier_appeals(app, &appeal) {
                Ok(earlier) => {
                    let mut body = serde_json::to_value(&appeal).unwrap_or_default();
                    body["contact_appeals"] = serde_json::Value::Array(earlier);
                    json(200, &body)
                }
                Err(e) => error(500, &format!("{e:#}")),
            },
            Ok(None) => error(404, &format!("no appeal {id}")),
            Err(e) => error(500, &format!("{e:#}")),
        },
        (&Method::GET, [id, "replies"]) => match app.store.appeal(id) {
            Ok(Some(appeal)) => json(200, &appeal.replies),
            Ok(None) => error(404, &format!("no appeal {id}")),
            Err(e) => error(500, &format!("{e:#}")),
        },
        (&Method::POST, [id, "replies"]) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct NewReply {
                text: String,
                #[serde(default)]
                author: Option<String>,
            }
            match read_json::<NewReply>(request).await {
                Ok(r) => replied(app, app.outbox.queue(id, &r.text, r.author)).await,
                Err(response) => response,
            }
        }
        (&Method::POST, [id, "replies", reply, "retry"]) => replied(app, app.outbox.requeue(id, reply)).await,
        (&Method::POST, [id, action @ ("resolve" | "reopen")]) => set_status(app, id, action).await,
        _ => error(
            405,
            "appeals: GET /api/appeals, GET /api/appeals/{id}, POST /api/appeals/{id}/replies, \
             POST /api/appeals/{id}/replies/{reply}/retry, POST /api/appeals/{id}/resolve|reopen",
        ),
    }
}

/// The answer to queuing a reply: 202 once it is durable.
async fn replied(app: &App, result: Result<crate::appeal::Reply, ReplyError>) -> Response<Body> {
    match result {
        Ok(reply) => match app.store.commit().await {
            Ok(()) => json(202, &reply),
            Err(e) => error(500, &format!("{e:#}")),
        },
        Err(ReplyError::NotFound(m)) => error(404, &m),
        Err(ReplyError::Invalid(m)) => error(400, &m),
        Err(ReplyError::Conflict(m)) => error(409, &m),
        Err(ReplyError::Internal(e)) => error(500, &format!("{e:#}")),
    }
}

/// Resolves an appeal (a later message in its conversation opens a new one) or reopens it.
async fn set_status(app: &App, id: &str, action: &str) -> Response<Body> {
    let now = now_ms();
    let changed = app.store.update_appeal(id, None, |appeal| {
        let status = match action {
            "resolve" => Status::Resolved,
            _ if appeal.decision.is_some() => Status::Routed,
            _ => Status::New,
        };
        if appeal.status != status && (action == "resolve" || appeal.status == Status::Resolved) {
            appeal.status = status;
            appeal.record(now, if action == "resolve" { "resolved" } else { "reopened" }, None, "");
        }
    });
    match changed {
        Ok(Some(_)) => match (app.store.commit().await, app.store.appeal(id)) {
            (Ok(()), Ok(Some(appeal))) => json(200, &appeal),
            (Err(e), _) | (_, Err(e)) => error(500, &format!("{e:#}")),
            (_, Ok(None)) => error(404, &format!("no appeal {id}")),
        },
        Ok(None) => error(404, &format!("no appeal {id}")),
        Err(e) => error(500, &format!("{e:#}")),
    }
}

fn list(app: &App, query: Option<&str>) -> Response<Body> {
    let mut status = None;
    let mut channel = None;
    let mut before = None;
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "status" => match Status::parse(&value) {
                Some(s) => status = Some(s),
                None => {
                    return error(
                        400,
                        &format!("unknown status '{value}': use new, routed, dropped, triage or resolved"),
                    );
                }
            },
            "channel" => channel = Some(value),
            "before" | "cursor" => before = Some(value),
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => return error(400, &format!("limit must be 1..={MAX_LIMIT}")),
            },
            other => {
                return error(
                    400,
                    &format!("unknown parameter '{other}': use status, channel, limit, before"),
                );
            }
        }
    }
    match app.store.list_appeals(status, channel.as_deref(), before.as_deref(), limit) {
        Ok(items) => {
            let next = (items.len() == limit).then(|| items.last().map(|a| a.id.clone())).flatten();
            json(200, &serde_json::json!({ "items": items, "next": next }))
        }
        Err(e) => error(500, &format!("{e:#}")),
    }
}

/// The contact's other appeals (any channel), newest first: id, channel, status, time, text.
fn earlier_appeals(app: &App, appeal: &crate::appeal::Appeal) -> anyhow::Result<Vec<serde_json::Value>> {
    let Some(contact) = &appeal.contact_id else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for id in app.store.contact_appeals(contact, 51)?.into_iter().filter(|id| *id != appeal.id).take(50) {
        if let Some(other) = app.store.appeal(&id)? {
            out.push(serde_json::json!({
                "id": other.id,
                "channel": other.channel,
                "status": other.status,
                "received_at": other.received_at,
                "text": other.text.chars().take(200).collect::<String>(),
            }));
        }
    }
    Ok(out)
}
