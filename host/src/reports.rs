//! Reports over a period (appeals received in `[from, to)`), as tables the API serves as JSON
//! or CSV:
//! - `appeals` — counts by channel, topic, region, department or status;
//! - `times` — average and p90 reaction (received → taken into work) and resolution
//!   (received → resolved) minutes by topic or department, counted as the SLA counts them
//!   (business hours where the topic says so, pauses up to the limit excluded);
//! - `overdue` — missed reaction and resolution deadlines and the average minutes overdue, by
//!   topic or department;
//! - `dropped` — appeals dropped, by filter (`name@version`) and reason.

use crate::appeal::{Appeal, Status};
use crate::calendar::Calendar;
use crate::directory::Directory;
use crate::store::Store;
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
}

impl Kind {
    /// From the URL's last segment.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "appeals" => Some(Kind::Appeals),
            "times" => Some(Kind::Times),
            "overdue" => Some(Kind::Overdue),
            "dropped" => Some(Kind::Dropped),
            _ => None,
        }
    }
}

/// The dimensions a report groups by.
pub const DIMENSIONS: [&str; 5] = ["channel", "topic", "region", "department", "status"];

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
/// by `dropped`); `now` ends the running clocks of open appeals.
///
/// # Errors
/// On storage failure.
pub fn build(store: &Store, kind: Kind, by: &str, from: u64, to: u64, now: u64) -> anyhow::Result<Table> {
    let directory = store.directory();
    let mut appeals = Vec::new();
    store.appeals_received(from, to, |a| appeals.push(a))?;
    let key = |a: &Appeal| dimension(a, by).unwrap_or_else(|| "-".into());
    let mut groups: Groups = BTreeMap::new();
    for appeal in &appeals {
        groups.entry(key(appeal)).or_default().push(appeal);
    }
    Ok(match kind {
        Kind::Appeals => Table {
            columns: vec![by.into(), "appeals".into()],
            rows: groups.iter().map(|(k, list)| vec![json!(k), json!(list.len())]).collect(),
        },
        Kind::Times => times(&groups, by, &directory),
        Kind::Overdue => overdue(&groups, by, &directory, now),
        Kind::Dropped => dropped(&appeals),
    })
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
type Groups<'a> = BTreeMap<String, Vec<&'a Appeal>>;

/// Milliseconds as minutes with one decimal.
fn minutes(ms: f64) -> f64 {
    (ms / 60_000.0 * 10.0).round() / 10.0
}

/// Reaction and resolution times per group: count, average and 90th percentile.
fn times(groups: &Groups, by: &str, directory: &Directory) -> Table {
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
            .map(|(k, list)| {
                let reaction: Vec<u64> = list
                    .iter()
                    .filter_map(|a| Some(elapsed(a, directory, a.work.taken_at?, false)))
                    .collect();
                let resolution: Vec<u64> = list
                    .iter()
                    .filter_map(|a| Some(elapsed(a, directory, a.work.resolved_at?, true)))
                    .collect();
                let (ra, rp) = stats(&reaction);
                let (sa, sp) = stats(&resolution);
                vec![
                    json!(k),
                    json!(reaction.len()),
                    json!(ra.map(minutes)),
                    json!(rp.map(minutes)),
                    json!(resolution.len()),
                    json!(sa.map(minutes)),
                    json!(sp.map(minutes)),
                ]
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
                    vec![json!(k), json!(reaction), json!(resolution), json!(stats(&late).0.map(minutes))]
                })
            })
            .collect(),
    }
}

/// Dropped appeals by the filter that dropped them and its reason.
fn dropped(appeals: &[Appeal]) -> Table {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for a in appeals.iter().filter(|a| a.status == Status::Dropped) {
        if let Some(event) = a.history.iter().rev().find(|e| e.stage == "dropped") {
            *counts.entry((event.plugin.clone().unwrap_or_default(), event.detail.clone())).or_default() += 1;
        }
    }
    Table {
        columns: vec!["filter".into(), "reason".into(), "appeals".into()],
        rows: counts.into_iter().map(|((f, r), n)| vec![json!(f), json!(r), json!(n)]).collect(),
    }
}

/// The value of a dimension for an appeal.
fn dimension(a: &Appeal, by: &str) -> Option<String> {
    let decision = a.decision.as_ref();
    match by {
        "channel" => Some(a.channel.clone()),
        "status" => Some(a.status.name().to_string()),
        "topic" => decision.and_then(|d| d.topic.clone()),
        "region" => a.work.region.clone().or(decision.and_then(|d| d.region.clone())),
        _ => a.work.department.clone().or(decision.and_then(|d| d.department.clone())),
    }
}

/// Milliseconds from receipt to `until` as the SLA counts them: business time when the topic
/// says so; for resolution, minus the pause that counted.
fn elapsed(a: &Appeal, directory: &Directory, until: u64, resolution: bool) -> u64 {
    let topic = a
        .decision
        .as_ref()
        .and_then(|d| d.topic.as_ref())
        .and_then(|t| directory.topics.iter().find(|x| &x.id == t));
    let raw = match (topic.is_some_and(|t| t.business_hours), &directory.business_hours) {
        (true, Some(hours)) => Calendar {
            hours,
            days_off: &directory.holidays,
            utc_offset_minutes: directory.utc_offset_minutes,
        }
        .working_between(a.received_at, until),
        _ => until.saturating_sub(a.received_at),
    };
    match resolution {
        true => raw.saturating_sub(a.work.paused_ms.min(sla::pause_limit(directory))),
        false => raw,
    }
}

/// (average, p90) of durations; the p90 is the nearest-rank value.
fn stats(values: &[u64]) -> (Option<f64>, Option<f64>) {
    if values.is_empty() {
        return (None, None);
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let average = sorted.iter().sum::<u64>() as f64 / sorted.len() as f64;
    let rank = (sorted.len() * 9).div_ceil(10).max(1);
    (Some(average), Some(sorted[rank - 1] as f64))
}

#[cfg(test)]
mod tests {
    use super::{Table, stats};
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
    fn p90_is_the_nearest_rank() {
        let values: Vec<u64> = (1..=10).collect();
        assert_eq!(stats(&values), (Some(5.5), Some(9.0)));
        assert_eq!(stats(&[7]), (Some(7.0), Some(7.0)));
        assert_eq!(stats(&[]), (None, None));
    }
}
