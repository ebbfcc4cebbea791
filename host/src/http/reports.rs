//! `GET /api/reports/{appeals|times|overdue|dropped}?from=&to=&by=&format=json|csv`: the
//! reports of [`crate::reports`] over the appeals received in `[from, to)` (ms since the
//! epoch, or `YYYY-MM-DD` in the directory's offset from UTC; default: everything).

use super::App;
use super::bytes_body::Body;
use super::reply::{error, json, query_pairs};
use crate::reports::{DIMENSIONS, Kind, build};
use hyper::{Method, Response};

pub async fn handle(app: &App, method: &Method, rest: &[&str], query: Option<&str>) -> Response<Body> {
    let (&Method::GET, [name]) = (method, rest) else {
        return error(405, "reports: GET /api/reports/appeals|times|overdue|dropped");
    };
    let Some(kind) = Kind::parse(name) else {
        return error(404, &format!("no report '{name}': use appeals, times, overdue or dropped"));
    };
    let offset = app.store.directory().utc_offset_minutes;
    let (mut from, mut to, mut by, mut csv) = (0, u64::MAX, None, false);
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "from" | "to" => match instant(&value, offset) {
                Some(at) if key == "from" => from = at,
                Some(at) => to = at,
                None => {
                    return error(
                        400,
                        &format!("{key}: '{value}' is neither ms since the epoch nor YYYY-MM-DD"),
                    );
                }
            },
            "by" if DIMENSIONS.contains(&value.as_str()) => by = Some(value),
            "by" => return error(400, &format!("by: use one of {}", DIMENSIONS.join(", "))),
            "format" => csv = value == "csv",
            other => return error(400, &format!("unknown parameter '{other}': use from, to, by, format")),
        }
    }
    let by = by.unwrap_or_else(|| if kind == Kind::Appeals { "channel" } else { "topic" }.to_string());
    let store = app.store.clone();
    let now = crate::clock::now_ms();
    let table = match tokio::task::spawn_blocking(move || build(&store, kind, &by, from, to, now)).await {
        Ok(Ok(table)) => table,
        Ok(Err(e)) => return error(500, &format!("{e:#}")),
        Err(e) => return error(500, &format!("the report failed: {e}")),
    };
    if !csv {
        return json(200, &table.to_json());
    }
    match table.to_csv() {
        Ok(text) => Response::builder()
            .header("content-type", "text/csv; charset=utf-8")
            .header("content-disposition", format!("attachment; filename=\"{name}.csv\""))
            .body(Body::new(text.into()))
            .expect("a valid response"),
        Err(e) => error(500, &format!("{e:#}")),
    }
}

/// Ms since the epoch, or the start of a `YYYY-MM-DD` day at `offset` minutes from UTC.
fn instant(text: &str, offset: i32) -> Option<u64> {
    if let Ok(ms) = text.parse::<u64>() {
        return Some(ms);
    }
    let date = crate::calendar::parse_date(text)?;
    let offset = time::UtcOffset::from_whole_seconds(offset * 60).ok()?;
    u64::try_from(date.midnight().assume_offset(offset).unix_timestamp() * 1000).ok()
}
