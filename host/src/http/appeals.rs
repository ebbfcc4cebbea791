//! The appeals API: `GET /api/appeals` (filtered, newest first, paginated) and
//! `GET /api/appeals/{id}` with its history.

use super::App;
use super::bytes_body::Body;
use super::reply::{error, json, query_pairs};
use crate::appeal::Status;
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
        _ => error(405, "appeals: GET /api/appeals or GET /api/appeals/{id}"),
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
                        &format!("unknown status '{value}': use new, routed, dropped or triage"),
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
