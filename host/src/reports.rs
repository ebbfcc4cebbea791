//! Reports over a period (appeals received in `[from, to)`), as tables the API serves as JSON
//! or CSV:
//! - `appeals` — counts by channel, topic, region, department or status;
//! - `times` — average and p90 reaction (received → taken into work) and resolution
//!   (received → resolved) minutes by topic or department, counted as the SLA counted them
//!   when the appeal was taken and resolved (business hours where the topic says so, pauses
//!   up to the limit excluded);
//! - `overdue` — missed reaction and resolution deadlines and the average minutes overdue, by
//!   topic or department;
//! - `dropped` — appeals dropped, by filter (`name@version`) and reason;
//! - `answers` — how many were answered, the share never answered, the first-reply time
//!   (received → first reply) and the handling time (taken → resolved), average and p90.
//!
//! Every report groups by channel, topic, region, department, status or assignee (the
//! employee).
//!
//! Counts, times and drops add up the per-day figures of the whole UTC days in the period
//! ([`crate::store::figures`]) and the appeals of the partial days at its ends, so a year
//! costs 365 entries per group and at most two days of appeals. Missed deadlines read only
//! the appeals in the `overdue` index.

use crate::appeal::Appeal;
use crate::directory::Directory;
use crate::store::AppealQuery;
use crate::store::Head;
use crate::store::Store;
use crate::store::figures::{DROPPED, Totals, day_of, day_prefix, day_start, dimension, parts};
use crate::work::sla;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Counts.
    Appeals,
    /// Reaction and resolution times.
    Times,
    /// Missed deadlines.
    Overdue,
    /// Dropped appeals by filter and reason.
    Dropped,
    /// Answered share, first-reply and handling times.
    Answers,
    /// The customers' ratings of the help (answers that came in the period).
    Csat,
}

impl Kind {
    /// From the URL's last segment.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "appeals" => Some(Kind::Appeals),
            "times" => Some(Kind::Times),
            "overdue" => Some(Kind::Overdue),
            "dropped" => Some(Kind::Dropped),
            "answers" => Some(Kind::Answers),
            "csat" => Some(Kind::Csat),
            _ => None,
        }
    }
}

pub use crate::store::figures::DIMENSIONS;

/// A report: named columns and rows of values.
#[derive(Debug, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, in column order.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// The rows as JSON objects.
    pub fn to_json(&self) -> Value {
        let rows = self.rows.iter().map(|row| {
            let object: Map<String, Value> = self.columns.iter().cloned().zip(row.iter().cloned()).collect();
            Value::Object(object)
        });
        Value::Array(rows.collect())
    }

    /// The table as CSV with a header line.
    ///
    /// # Errors
    /// Never in practice (writing to memory).
    pub fn to_csv(&self) -> anyhow::Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.columns)?;
        for row in &self.rows {
            writer.write_record(row.iter().map(|v| match v {
                Value::String(s) => spreadsheet_safe(s),
                Value::Null => String::new(),
                other => other.to_string(),
            }))?;
        }
        Ok(String::from_utf8(writer.into_inner()?)?)
    }
}

/// Builds a report of the appeals received in `[from, to)`, grouped `by` a dimension (ignored
/// by `dropped`); `now` ends the running clocks of open appeals. With a scope (`any_of`, see
/// [`crate::access::Scope::any_of`]) only the scope's appeals count: they are read from the
/// indexes one by one (the per-day figures cover everyone), and dropped appeals, which belong
/// to no department, are left out.
///
/// # Errors
/// On storage failure.
pub fn build(
    store: &Store,
    kind: Kind,
    by: &str,
    (from, to): (u64, u64),
    any_of: &[Vec<(String, String)>],
    now: u64,
) -> anyhow::Result<Table> {
    let figures = |dimension: &str, with_durations: bool| match any_of.is_empty() {
        true => figures(store, dimension, from, to, with_durations),
        false => scoped_figures(store, dimension, from, to, any_of),
    };
    Ok(match kind {
        Kind::Appeals => {
            let groups = figures(by, false)?;
            Table {
                columns: vec![by.into(), "appeals".into()],
                rows: groups.iter().map(|(k, f)| vec![json!(k), json!(f.appeals)]).collect(),
            }
        }
        Kind::Times => times(&figures(by, true)?, by),
        Kind::Answers => answers(&figures(by, true)?, by),
        Kind::Overdue => overdue(&overdue_appeals(store, by, from, to, any_of)?, by, &store.directory(), now),
        Kind::Dropped if !any_of.is_empty() => dropped(&BTreeMap::new()),
        Kind::Dropped => dropped(&figures(DROPPED, false)?),
        Kind::Csat => csat(store, by, (from, to), any_of)?,
    })
}

/// The ratings customers gave in `[from, to)` (when they answered), per value of `by`: how
/// many, the average, how many were low (at or below the directory's `csat.low`).
fn csat(
    store: &Store,
    by: &str,
    (from, to): (u64, u64),
    any_of: &[Vec<(String, String)>],
) -> anyhow::Result<Table> {
    let scope = AppealQuery { any_of: any_of.to_vec(), ..AppealQuery::default() };
    let low = store.directory().csat.as_ref().map_or(2, |c| c.low);
    let mut ratings: Vec<(String, u8)> = Vec::new();
    store.survey_answers(from, to, |appeal, rating| ratings.push((appeal.to_string(), rating)))?;
    let mut groups: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for (id, rating) in ratings {
        let Some(appeal) = store.appeal(&id)? else { continue };
        if !scope.admits(&appeal) {
            continue;
        }
        let group = groups.entry(dimension(&appeal, by).unwrap_or_else(|| "-".into())).or_default();
        group.0 += 1;
        group.1 += u64::from(rating);
        group.2 += u64::from(rating <= low);
    }
    let columns = [by, "ratings", "average", "low", "low_share"].map(String::from).to_vec();
    let rows = groups
        .into_iter()
        .map(|(key, (count, sum, lows))| {
            let average = (sum as f64 / count as f64 * 100.0).round() / 100.0;
            let share = (lows as f64 / count as f64 * 1000.0).round() / 1000.0;
            vec![json!(key), json!(count), json!(average), json!(lows), json!(share)]
        })
        .collect();
    Ok(Table { columns, rows })
}

/// Figures per value of `dimension` over the appeals of a scope received in `[from, to)`.
fn scoped_figures(
    store: &Store,
    dimension: &str,
    from: u64,
    to: u64,
    any_of: &[Vec<(String, String)>],
) -> anyhow::Result<BTreeMap<String, Totals>> {
    let query =
        AppealQuery { any_of: any_of.to_vec(), from: Some(from), to: Some(to), ..AppealQuery::default() };
    let mut groups: BTreeMap<String, Totals> = BTreeMap::new();
    let mut before: Option<String> = None;
    loop {
        let page = store.list_appeals(&query, before.as_deref(), 500)?;
        before = page.last().map(|a| a.id.clone());
        for appeal in &page {
            let prefix = day_prefix(dimension, day_of(appeal.received_at));
            for part in parts(appeal, None).into_iter().filter(|p| p.key.starts_with(&prefix)) {
                let value = String::from_utf8_lossy(&part.key[prefix.len()..]).into_owned();
                groups.entry(value).or_default().add_part(&part);
            }
        }
        if page.len() < 500 {
            return Ok(groups);
        }
    }
}

/// Figures per value of `dimension` over `[from, to)`: whole UTC days from the per-day
/// figures, the partial days at either end from the appeals themselves.
fn figures(
    store: &Store,
    dimension: &str,
    from: u64,
    to: u64,
    with_durations: bool,
) -> anyhow::Result<BTreeMap<String, Totals>> {
    let first = day_of(from) + u32::from(day_start(day_of(from)) < from);
    let last = day_of(to).max(first);
    let mut groups: BTreeMap<String, Totals> = BTreeMap::new();
    store.day_figures(dimension, first..last, |value, f| {
        groups.entry(value).or_default().add_figures(&f, with_durations)
    })?;
    let mut add = |head: Head| {
        let (prefix_len, day) = (dimension.len() + 5, day_of(head.appeal.received_at));
        let parts = parts(&head.appeal, head.dropped_by.as_deref());
        for part in parts.into_iter().filter(|p| p.key.starts_with(&day_prefix(dimension, day))) {
            let value = String::from_utf8_lossy(&part.key[prefix_len..]).into_owned();
            groups.entry(value).or_default().add_part(&part);
        }
    };
    match first < last {
        true => {
            store.appeals_received(from, day_start(first).min(to), &mut add)?;
            store.appeals_received(day_start(last).max(from), to, &mut add)?;
        }
        false => store.appeals_received(from, to, &mut add)?,
    }
    Ok(groups)
}

/// The appeals received in `[from, to)` that missed a deadline (from the `overdue` index),
/// grouped by `by`.
fn overdue_appeals(
    store: &Store,
    by: &str,
    from: u64,
    to: u64,
    any_of: &[Vec<(String, String)>],
) -> anyhow::Result<Groups> {
    let query = AppealQuery {
        terms: vec![("overdue".into(), "yes".into())],
        any_of: any_of.to_vec(),
        from: Some(from),
        to: Some(to),
    };
    let mut groups: Groups = BTreeMap::new();
    let mut before: Option<String> = None;
    loop {
        let page = store.list_appeals(&query, before.as_deref(), 500)?;
        before = page.last().map(|a| a.id.clone());
        for a in &page {
            groups.entry(dimension(a, by).unwrap_or_else(|| "-".into())).or_default().push(a.clone());
        }
        if page.len() < 500 {
            return Ok(groups);
        }
    }
}

/// A text cell a spreadsheet will not run as a formula: one starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return gets a leading `'` (OWASP's CSV injection guidance). Numbers
/// are written as numbers and never pass through here.
pub fn spreadsheet_safe(text: &str) -> String {
    match text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{text}"),
        false => text.to_string(),
    }
}

/// Appeals grouped by the value of a dimension.
type Groups = BTreeMap<String, Vec<Appeal>>;

/// Milliseconds as minutes with one decimal.
fn minutes(ms: f64) -> f64 {
    (ms / 60_000.0 * 10.0).round() / 10.0
}

/// A tally's cells: how many, the average and the 90th percentile in minutes.
fn tally(t: &crate::store::figures::Tally) -> [Value; 3] {
    [json!(t.count), json!(t.average_ms().map(minutes)), json!(t.p90_ms().map(minutes))]
}

/// Reaction and resolution times per group: count, average and 90th percentile.
fn times(groups: &BTreeMap<String, Totals>, by: &str) -> Table {
    let columns = [
        "reaction_count",
        "reaction_avg_min",
        "reaction_p90_min",
        "resolution_count",
        "resolution_avg_min",
        "resolution_p90_min",
    ];
    Table {
        columns: std::iter::once(by).chain(columns).map(String::from).collect(),
        rows: groups
            .iter()
            .map(|(k, f)| {
                [json!(k)].into_iter().chain(tally(&f.reaction)).chain(tally(&f.resolution)).collect()
            })
            .collect(),
    }
}

/// Per group: answered appeals, the share never answered, first-reply and handling times.
fn answers(groups: &BTreeMap<String, Totals>, by: &str) -> Table {
    let columns = [
        "appeals",
        "answered",
        "never_answered_share",
        "first_reply_avg_min",
        "first_reply_p90_min",
        "handling_count",
        "handling_avg_min",
        "handling_p90_min",
    ];
    let share = |f: &Totals| match f.appeals {
        0 => None,
        n => Some(((n - f.first_reply.count.min(n)) as f64 / n as f64 * 1000.0).round() / 1000.0),
    };
    Table {
        columns: std::iter::once(by).chain(columns).map(String::from).collect(),
        rows: groups
            .iter()
            .map(|(k, f)| {
                let [answered, first_avg, first_p90] = tally(&f.first_reply);
                [json!(k), json!(f.appeals), answered, json!(share(f)), first_avg, first_p90]
                    .into_iter()
                    .chain(tally(&f.handling))
                    .collect()
            })
            .collect(),
    }
}

/// Overdue reactions and resolutions per group (groups with none are left out), and by how
/// much on average.
fn overdue(groups: &Groups, by: &str, directory: &Directory, now: u64) -> Table {
    let limit = sla::pause_limit(directory);
    Table {
        columns: vec![
            by.into(),
            "reaction_overdue".into(),
            "resolution_overdue".into(),
            "avg_overdue_min".into(),
        ],
        rows: groups
            .iter()
            .filter_map(|(k, list)| {
                let mut late = Vec::new();
                let (mut reaction, mut resolution) = (0, 0);
                for a in list {
                    let credit = sla::pause_credit(&a.work, limit, now);
                    if let (Some(_), Some(due)) = (a.work.reaction_overdue_at, a.work.reaction_due) {
                        reaction += 1;
                        late.push(a.work.taken_at.unwrap_or(now).saturating_sub(due + credit));
                    }
                    if let (Some(_), Some(due)) = (a.work.resolution_overdue_at, a.work.resolution_due) {
                        resolution += 1;
                        late.push(a.work.resolved_at.unwrap_or(now).saturating_sub(due + credit));
                    }
                }
                (reaction + resolution > 0).then(|| {
                    vec![json!(k), json!(reaction), json!(resolution), json!(average(&late).map(minutes))]
                })
            })
            .collect(),
    }
}

/// Dropped appeals by the filter that dropped them and its reason.
fn dropped(groups: &BTreeMap<String, Totals>) -> Table {
    let rows = groups.iter().map(|(key, f)| {
        let (filter, reason) = key.split_once('\0').unwrap_or((key, ""));
        vec![json!(filter), json!(reason), json!(f.appeals)]
    });
    Table { columns: vec!["filter".into(), "reason".into(), "appeals".into()], rows: rows.collect() }
}

/// The average of durations.
fn average(values: &[u64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<u64>() as f64 / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::{Table, average};
    use serde_json::json;

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_escaped() {
        let table = Table {
            columns: vec!["department".into(), "appeals".into()],
            rows: vec![
                vec![json!("=HYPERLINK(\"http://evil\")"), json!(1)],
                vec![json!("+1+cmd|'/C calc'!A0"), json!(2)],
                vec![json!("@evil"), json!(-3)],
                vec![json!("-2+3"), json!(4)],
                vec![json!("\tTab"), json!(5)],
                vec![json!("Возвраты"), json!(6)],
            ],
        };
        let csv = table.to_csv().unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://evil\"\")\",1");
        assert_eq!(lines[2], "'+1+cmd|'/C calc'!A0,2");
        assert_eq!(lines[3], "'@evil,-3", "numbers stay numbers");
        assert_eq!(lines[4], "'-2+3,4");
        assert_eq!(lines[5], "'\tTab,5");
        assert_eq!(lines[6], "Возвраты,6");
    }

    #[test]
    fn an_average_of_nothing_is_none() {
        assert_eq!(average(&[1, 2, 6]), Some(3.0));
        assert_eq!(average(&[]), None);
    }
}
