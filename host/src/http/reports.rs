//! `GET /api/reports/{appeals|times|overdue|dropped|answers}?from=&to=&by=&format=json|csv`: the
//! reports of [`crate::reports`] over the appeals received in `[from, to)` (ms since the
//! epoch, or `YYYY-MM-DD` in the directory's offset from UTC; default: everything), counting
//! only the appeals in the caller's scope.

use super::bytes_body::full;
use super::call::{Answer, Call};
use super::error::ApiError;
use super::reply::{json, query_pairs};
use crate::reports::{DIMENSIONS, Kind, build};
use hyper::Response;

/// One report, as JSON or CSV.
pub async fn report(call: Call) -> Answer {
    let name = call.param(0).to_string();
    let kind = Kind::parse(&name).ok_or_else(|| {
        ApiError::not_found(format!(
            "no report '{name}': use appeals, times, overdue, dropped, answers or csat"
        ))
    })?;
    let offset = call.app.store.directory().utc_offset_minutes;
    let (mut from, mut to, mut by, mut csv) = (0, u64::MAX, None, false);
    for (key, value) in query_pairs(call.query()) {
        match key.as_str() {
            "from" | "to" => match instant(&value, offset) {
                Some(at) if key == "from" => from = at,
                Some(at) => to = at,
                None => {
                    return Err(ApiError::invalid(format!(
                        "{key}: '{value}' is neither ms since the epoch nor YYYY-MM-DD"
                    )));
                }
            },
            "by" if DIMENSIONS.contains(&value.as_str()) => by = Some(value),
            "by" => return Err(ApiError::invalid(format!("by: use one of {}", DIMENSIONS.join(", ")))),
            "format" => csv = value == "csv",
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown parameter '{other}': use from, to, by, format"
                )));
            }
        }
    }
    let by = by.unwrap_or_else(|| if kind == Kind::Appeals { "channel" } else { "topic" }.to_string());
    let by_name = by.clone();
    let store = call.app.store.clone();
    let now = call.app.store.now_ms();
    let any_of = call.caller.scope.any_of();
    let table = tokio::task::spawn_blocking(move || build(&store, kind, &by, (from, to), &any_of, now))
        .await
        .map_err(|e| ApiError::internal(format!("the report failed: {e}")))??;
    if !csv {
        return Ok(json(200, &table.to_json()));
    }
    call.audit(
        "report_exported",
        &name,
        vec![format!("by={by_name}"), format!("from={from}"), format!("to={to}")],
    )?;
    Ok(Response::builder()
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", format!("attachment; filename=\"{name}.csv\""))
        .body(full(table.to_csv()?))
        // The headers are constants and a report name `Kind::parse` accepted.
        .expect("a valid response"))
}

/// Ms since the epoch, or the start of a `YYYY-MM-DD` day at `offset` minutes from UTC.
pub(super) fn instant(text: &str, offset: i32) -> Option<u64> {
    if let Ok(ms) = text.parse::<u64>() {
        return Some(ms);
    }
    let date = crate::calendar::parse_date(text)?;
    let offset = time::UtcOffset::from_whole_seconds(offset * 60).ok()?;
    u64::try_from(date.midnight().assume_offset(offset).unix_timestamp() * 1000).ok()
}
