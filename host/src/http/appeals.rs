//! The appeals API: `GET /api/appeals` (filtered, newest first, paginated),
//! `GET /api/appeals/{id}` with its history, replies (`POST /api/appeals/{id}/replies`, and
//! `.../replies/{reply}/retry` for a failed one) and the operator actions (`take`, `handoff`,
//! `pause`, `resume`, `resolve`, `reopen`). Every one reads and acts only within the caller's
//! scope, and records the caller as the author.

use super::App;
use super::call::read_json;
use super::call::{Answer, Call};
use super::error::ApiError;
use super::reply::{json, query_pairs};
use crate::appeal::Status;
use crate::store::AppealQuery;
use crate::store::index::FIELDS;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// `GET /api/appeals/{id}[?lang=en]`: the appeal with its history (each event in words, in the
/// reader's language) and the contact's other appeals.
pub async fn show(call: Call) -> Answer {
    let appeal = call.visible_appeal(call.param(0))?;
    let earlier = match call.caller.scope.contact_details {
        true => earlier_appeals(&call, &appeal)?,
        false => Vec::new(),
    };
    let mut body = super::history::shown(&call, &appeal);
    body["contact_appeals"] = serde_json::Value::Array(earlier);
    let directory = call.app.store.directory();
    body["checklist"] =
        serde_json::to_value(crate::work::checklist::state(&appeal, &directory)).unwrap_or_default();
    // Where each attachment's file stands: the console shows or plays it.
    let records = call.app.store.file_records(&appeal.id)?;
    let files: Vec<super::files::FileView> =
        records.iter().map(|(n, r)| super::files::FileView::of(*n, r)).collect();
    body["files"] = serde_json::to_value(files).unwrap_or_default();
    // Whether the composer may offer a reply: the adapter renders one, nothing is sent.
    let answerable = tokio::task::block_in_place(|| {
        crate::replies::answerable(&call.app.registry, &call.app.store, &appeal)
    });
    body["reply"] = serde_json::json!({"possible": answerable.is_ok(), "why": answerable.err()});
    Ok(json(200, &body))
}

/// `GET /api/appeals/{id}/replies`.
pub async fn replies(call: Call) -> Answer {
    Ok(json(200, &call.visible_appeal(call.param(0))?.replies))
}

/// `POST /api/appeals/{id}/replies {"text"}`: queued, answered once durable; the author is the
/// caller (an `author` naming anyone else is refused). External masters reply only where
/// their department allows it.
pub async fn reply(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewReply {
        text: String,
        #[serde(default)]
        author: Option<String>,
    }
    let appeal = call.visible_appeal(call.param(0))?;
    if call.caller.role == crate::access::Role::Master {
        let directory = call.app.store.directory();
        let department = appeal.work.department.as_deref().unwrap_or_default();
        let allowed = directory.departments.iter().any(|d| d.id == department && d.masters_may_reply);
        if !allowed {
            return Err(ApiError::new(
                403,
                "мастер не отвечает клиенту в этом отделе: напишите заметку (masters may not reply to customers here)",
            )
            .code("masters_may_not_reply"));
        }
    }
    let new: NewReply = call.json().await?;
    call.only_self("author", new.author.as_deref())?;
    let writer =
        crate::replies::Writer { name: Some(call.caller.author()), actor: Some(call.caller.actor()) };
    let reply = call.app.outbox.queue(&appeal.id, &new.text, writer)?;
    durable(&call.app, 202, &reply).await
}

/// `POST /api/appeals/{id}/replies/{reply}/retry`: a failed reply queued again.
pub async fn retry_reply(call: Call) -> Answer {
    call.visible_appeal(call.param(0))?;
    let reply = call.app.outbox.requeue(call.param(0), call.param(1), &call.caller.actor())?;
    durable(&call.app, 202, &reply).await
}

/// Answers `value` with `status` once every write so far is durable.
async fn durable(app: &App, status: u16, value: &impl serde::Serialize) -> Answer {
    app.store.commit().await?;
    Ok(json(status, value))
}

/// `POST /api/appeals/{id}/reprocess`: one triage appeal through the current pipeline.
pub async fn reprocess_one(call: Call) -> Answer {
    let appeal = call.visible_appeal(call.param(0))?;
    let reprocessed = call.caller.scope.redact(reprocess(&call.app, appeal.id).await?);
    Ok(json(200, &super::history::shown(&call, &reprocessed)))
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
pub async fn reprocess_all(mut call: Call) -> Answer {
    #[derive(Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Bulk {
        #[serde(default)]
        limit: Option<usize>,
    }
    let bulk: Bulk = call.json().await?;
    let limit = bulk.limit.unwrap_or(100).clamp(1, 1000);
    let query = AppealQuery {
        terms: vec![("status".into(), "triage".into())],
        any_of: call.caller.scope.any_of(),
        ..AppealQuery::default()
    };
    let triage = call.app.store.list_appeals(&query, None, limit)?;
    let mut outcome: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for appeal in triage {
        let key = match reprocess(&call.app, appeal.id).await {
            Ok(after) => after.status.name().to_string(),
            Err(refusal) => format!("refused: {refusal}"),
        };
        *outcome.entry(key).or_default() += 1;
    }
    Ok(json(200, &outcome))
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
    /// Who acts: only ever the caller (anyone else is refused).
    by: Option<String>,
}

/// `POST /api/appeals/{id}/take|handoff|pause|resume|resolve|reopen`: an operator action (see
/// [`crate::work::actions`]); answers the changed appeal.
pub async fn act(mut call: Call) -> Answer {
    use crate::work::actions::{Action, HandOffTo, apply};
    let request = call.take_request();
    let verb = request.uri().path().rsplit('/').next().unwrap_or_default().to_string();
    let headers = request.headers();
    let empty = headers.get(hyper::header::CONTENT_LENGTH).is_some_and(|v| v == "0")
        || (headers.get(hyper::header::CONTENT_LENGTH).is_none()
            && headers.get(hyper::header::TRANSFER_ENCODING).is_none());
    let body = match empty {
        true => ActionBody::default(),
        false => read_json::<ActionBody>(request).await?,
    };
    call.only_self("by", body.by.as_deref())?;
    let appeal = call.visible_appeal(call.param(0))?;
    // An external master takes, pauses, resumes and resolves what was handed to their group;
    // handing on and reopening are the call centre's.
    if call.caller.role == crate::access::Role::Master && matches!(verb.as_str(), "handoff" | "reopen") {
        return Err(ApiError::new(403, format!("an external master may not {verb} an appeal")));
    }
    let directory = call.app.store.directory();
    // Choosing someone else (taking for them, handing to them) is for employees of the
    // caller's scope.
    let assigns = |employee: &Option<String>| -> Result<(), ApiError> {
        let Some(id) = employee.as_deref() else { return Ok(()) };
        if call.caller.employee.as_deref() == Some(id) {
            return Ok(());
        }
        let covered = directory.employees.iter().any(|e| e.id == id && call.caller.scope.covers(e));
        let may = call.caller.role.allows(crate::access::Role::Supervisor) || verb == "handoff";
        match (covered, may) {
            (true, true) => Ok(()),
            (false, _) if call.caller.scope.everything => Ok(()),
            _ => Err(ApiError::new(
                403,
                format!("назначать '{id}' вы не можете: сотрудник вне вашей зоны (you cannot assign '{id}')"),
            )),
        }
    };
    assigns(&body.employee)?;
    let employee = body.employee.or_else(|| (verb == "take").then(|| call.caller.employee.clone()).flatten());
    let action = match verb.as_str() {
        "take" => Action::Take { employee },
        "handoff" => {
            let to = match (employee, body.department, body.escalate) {
                (Some(e), None, false) => HandOffTo::Employee(e),
                (None, Some(d), false) => HandOffTo::Department(d),
                (None, None, true) => HandOffTo::NextLevel,
                _ => {
                    return Err(ApiError::invalid(
                        "handoff takes one of: employee, department, escalate: true",
                    ));
                }
            };
            Action::HandOff { to, reason: body.reason }
        }
        "pause" => Action::Pause { reason: body.reason },
        "resume" => Action::Resume,
        "resolve" => Action::Resolve,
        _ => Action::Reopen,
    };
    let changed = apply(&call.app.store, &appeal.id, &action, Some(&call.caller.actor()))?;
    durable(&call.app, 200, &super::history::shown(&call, &call.caller.scope.redact(changed))).await
}

/// `GET /api/appeals?status=&channel=&limit=&before=`: newest first, a page at a time; with
/// `view=` ([`super::views`]) or `sort=deadline`, nearest deadline first; `q=№ 10452` finds
/// the appeal of that short number.
pub async fn list(call: Call) -> Answer {
    let mut query = AppealQuery { any_of: call.caller.scope.any_of(), ..AppealQuery::default() };
    let (mut before, mut search, mut by_deadline) = (None, None, false);
    let mut limit = DEFAULT_LIMIT;
    let offset = call.app.store.directory().utc_offset_minutes;
    for (key, value) in query_pairs(call.query()) {
        match key.as_str() {
            "status" if Status::parse(&value).is_none() => {
                return Err(ApiError::invalid(format!(
                    "unknown status '{value}': use new, routed, in_work, paused, triage, dropped or resolved"
                )));
            }
            field if FIELDS.contains(&field) => query.terms.push((field.to_string(), value)),
            "from" | "to" => {
                let at = super::reports::instant(&value, offset).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "{key}: '{value}' is neither ms since the epoch nor YYYY-MM-DD"
                    ))
                })?;
                *(if key == "from" { &mut query.from } else { &mut query.to }) = Some(at);
            }
            "view" => {
                let terms =
                    super::views::terms(&value, call.caller.employee.as_deref()).ok_or_else(|| {
                        ApiError::invalid(format!(
                            "unknown view '{value}': use {}",
                            super::views::VIEWS.join(", ")
                        ))
                    })?;
                query.terms.extend(terms);
                by_deadline |= super::views::by_deadline(&value);
            }
            "sort" if value == "deadline" => by_deadline = true,
            "sort" if value == "newest" => by_deadline = false,
            "sort" => return Err(ApiError::invalid("sort is deadline or newest")),
            "before" | "cursor" => before = Some(value),
            "q" if !value.trim().is_empty() => search = Some(value),
            "q" => {}
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => return Err(ApiError::invalid(format!("limit must be 1..={MAX_LIMIT}"))),
            },
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown parameter '{other}': use q, view, sort, {}, from, to, limit, before",
                    FIELDS.join(", ")
                )));
            }
        }
    }
    let scope = &call.caller.scope;
    // «№ 10452» or «10452»: the appeal of that short number, when there is one in scope.
    if let Some(number) = search.as_deref().and_then(short_number) {
        let query = AppealQuery { terms: vec![("number".into(), number.to_string())], ..query.clone() };
        let items: Vec<_> =
            call.app.store.list_appeals(&query, None, 1)?.into_iter().map(|a| scope.redact(a)).collect();
        if !items.is_empty() {
            return Ok(json(200, &Page { items: &items, next: None }));
        }
    }
    if let Some(q) = search {
        let items: Vec<_> =
            found(&call.app, &q, &query, limit)?.into_iter().map(|a| scope.redact(a)).collect();
        return Ok(json(200, &Page { items: &items, next: None }));
    }
    if by_deadline {
        // Open work is bounded: the view's first MAX_LIMIT, nearest deadline first, one page.
        let mut items = call.app.store.list_appeals(&query, None, MAX_LIMIT)?;
        super::views::sort_by_deadline(&mut items);
        items.truncate(limit);
        let items: Vec<_> = items.into_iter().map(|a| scope.redact(a)).collect();
        return Ok(json(200, &Page { items: &items, next: None }));
    }
    let items: Vec<_> = call
        .app
        .store
        .list_appeals(&query, before.as_deref(), limit)?
        .into_iter()
        .map(|a| scope.redact(a))
        .collect();
    let next = if items.len() == limit { items.last().map(|a| a.id.as_str()) } else { None };
    Ok(json(200, &Page { items: &items, next }))
}

/// The short number a search asks for: digits, after «№» or «#» if any.
fn short_number(q: &str) -> Option<u64> {
    let digits = q.trim().trim_start_matches(['№', '#']).trim();
    (!digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// A page of appeals as the API answers it, written straight from the records (no
/// intermediate JSON tree): the items and the cursor of the next page, if any.
#[derive(serde::Serialize)]
struct Page<'a> {
    items: &'a [crate::appeal::Appeal],
    next: Option<&'a str>,
}

/// The best `limit` search hits for `q` that also satisfy `query`'s filters, best first.
fn found(
    app: &App,
    q: &str,
    query: &AppealQuery,
    limit: usize,
) -> anyhow::Result<Vec<crate::appeal::Appeal>> {
    let mut out = Vec::new();
    // The index filters; the record decides (it may have moved on since it was indexed).
    for id in app.search.find(q, query, limit)? {
        if let Some(appeal) = app.store.appeal(&id)?.filter(|a| query.admits(a)) {
            out.push(appeal);
        }
    }
    Ok(out)
}

/// The contact's other appeals (any channel) in the caller's scope, newest first: id,
/// channel, status, time, text.
fn earlier_appeals(call: &Call, appeal: &crate::appeal::Appeal) -> anyhow::Result<Vec<serde_json::Value>> {
    let app = &call.app;
    let Some(contact) = &appeal.contact_id else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for id in app.store.contact_appeals(contact, 51)?.into_iter().filter(|id| *id != appeal.id).take(50) {
        if let Some(other) = app.store.appeal(&id)?.filter(|a| call.caller.scope.admits(a)) {
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
