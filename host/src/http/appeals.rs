//! The appeals API: `GET /api/appeals` (filtered, newest first, paginated),
//! `GET /api/appeals/{id}` with its history, replies (`POST /api/appeals/{id}/replies`, and
//! `.../replies/{reply}/retry` for a failed one) and the operator actions (`take`, `handoff`,
//! `pause`, `resume`, `resolve`, `reopen`).

use super::App;
use super::bytes_body::Body;
use super::reply::{error, json, query_pairs, read_json, refused};
use crate::appeal::Status;
use crate::refusal::Refusal;
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
        (&Method::POST, ["reprocess"]) => reprocess_all(app, request).await,
        (&Method::POST, [id, "reprocess"]) => match reprocess(app, id.to_string()).await {
            Ok(appeal) => json(200, &appeal),
            Err(refusal) => refused(&refusal),
        },
        (&Method::POST, [id, verb @ ("take" | "handoff" | "pause" | "resume" | "resolve" | "reopen")]) => {
            act(app, id, verb, request).await
        }
        _ => error(
            405,
            "appeals: GET /api/appeals, GET /api/appeals/{id}, POST /api/appeals/{id}/replies, \
             POST /api/appeals/{id}/replies/{reply}/retry, \
             POST /api/appeals/{id}/take|handoff|pause|resume|resolve|reopen",
        ),
    }
}

/// The answer to queuing a reply: 202 once it is durable.
async fn replied(app: &App, result: Result<crate::appeal::Reply, Refusal>) -> Response<Body> {
    match result {
        Ok(reply) => match app.store.commit().await {
            Ok(()) => json(202, &reply),
            Err(e) => error(500, &format!("{e:#}")),
        },
        Err(refusal) => refused(&refusal),
    }
}

/// Reprocesses one triage appeal through the current pipeline, durably.
async fn reprocess(app: &App, id: String) -> Result<crate::appeal::Appeal, crate::refusal::Refusal> {
    let (pipeline, runtime, store) =
        (app.registry.pipeline(), app.registry.runtime().clone(), app.store.clone());
    let appeal = tokio::task::spawn_blocking(move || pipeline.reprocess(&store, &runtime, &id))
        .await
        .map_err(|e| anyhow::anyhow!("reprocessing failed: {e}"))??;
    app.store.commit().await?;
    Ok(appeal)
}

/// `POST /api/appeals/reprocess {"limit": 100}`: every triage appeal (newest first, up to the
/// limit) through the current pipeline; counts by the status each ends in.
async fn reprocess_all(app: &App, request: Request<Incoming>) -> Response<Body> {
    #[derive(Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Bulk {
        #[serde(default)]
        limit: Option<usize>,
    }
    let bulk = match read_json::<Bulk>(request).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let triage = match app.store.list_appeals(
        Some(Status::Triage),
        None,
        None,
        bulk.limit.unwrap_or(100).clamp(1, 1000),
    ) {
        Ok(list) => list,
        Err(e) => return error(500, &format!("{e:#}")),
    };
    let mut outcome: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for appeal in triage {
        let key = match reprocess(app, appeal.id).await {
            Ok(after) => after.status.name().to_string(),
            Err(refusal) => format!("refused: {refusal}"),
        };
        *outcome.entry(key).or_default() += 1;
    }
    json(200, &outcome)
}

/// The body of an operator action; every field is optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    /// take: who takes it; handoff: to whom.
    employee: Option<String>,
    /// handoff: to which department.
    department: Option<String>,
    /// handoff: up the escalation ladder.
    #[serde(default)]
    escalate: bool,
    /// handoff, pause: why.
    reason: Option<String>,
    /// Who acts, for the history.
    by: Option<String>,
}

/// An operator action (see [`crate::work::actions`]); answers the changed appeal.
async fn act(app: &App, id: &str, verb: &str, request: Request<Incoming>) -> Response<Body> {
    use crate::work::actions::{Action, HandOffTo, apply};
    let empty = request.headers().get(hyper::header::CONTENT_LENGTH).is_some_and(|v| v == "0")
        || (request.headers().get(hyper::header::CONTENT_LENGTH).is_none()
            && request.headers().get(hyper::header::TRANSFER_ENCODING).is_none());
    let body = match empty {
        true => ActionBody::default(),
        false => match read_json::<ActionBody>(request).await {
            Ok(body) => body,
            Err(response) => return response,
        },
    };
    let action = match verb {
        "take" => Action::Take { employee: body.employee },
        "handoff" => {
            let to = match (body.employee, body.department, body.escalate) {
                (Some(e), None, false) => HandOffTo::Employee(e),
                (None, Some(d), false) => HandOffTo::Department(d),
                (None, None, true) => HandOffTo::NextLevel,
                _ => return error(400, "handoff takes one of: employee, department, escalate: true"),
            };
            Action::HandOff { to, reason: body.reason }
        }
        "pause" => Action::Pause { reason: body.reason },
        "resume" => Action::Resume,
        "resolve" => Action::Resolve,
        _ => Action::Reopen,
    };
    match apply(&app.store, id, &action, body.by.as_deref()) {
        Ok(appeal) => match app.store.commit().await {
            Ok(()) => json(200, &appeal),
            Err(e) => error(500, &format!("{e:#}")),
        },
        Err(refusal) => refused(&refusal),
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
