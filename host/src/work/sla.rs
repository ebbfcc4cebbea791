//! SLA clocks. Deadlines come from the route: the directory's topic gives the reaction time
//! (received → taken into work) and the resolution time (received → resolved), counted in the
//! directory's business hours — in the time zone of the appeal's region when it has one, else
//! at the directory's offset — when the topic says so; the router's `reaction-minutes` stands
//! in when the topic has none, and the directory's first line's minutes for what the route
//! gave to no department. A pause stops the clock — its time is added to both deadlines —
//! for at most the directory's pause limit. A missed deadline is flagged once.

use crate::appeal::{Appeal, Work};
use crate::calendar::Calendar;
use crate::directory::Directory;

/// Default longest pause that stops the clock.
const DEFAULT_PAUSE_LIMIT_MINUTES: u32 = 1440;

/// Sets up an appeal's work after routing: department, region and queue from the decision,
/// and its SLA deadlines.
pub fn start(appeal: &mut Appeal, directory: &Directory) {
    let Some(decision) = &appeal.decision else { return };
    let (reaction_due, resolution_due) = deadlines(appeal, directory);
    // What the route gave to no department (a call, a text no topic matched) is the first
    // line's, in its queue.
    let first_line = first_line(appeal, directory)
        .and_then(|f| directory.departments.iter().find(|d| d.id == f.department));
    let (department, queue) = match first_line {
        Some(d) => (Some(d.id.clone()), d.queue.clone()),
        None => (decision.department.clone(), decision.queue.clone()),
    };
    appeal.work = Work {
        department,
        region: decision.region.clone(),
        queue: Some(queue),
        since: appeal.received_at,
        reaction_due,
        resolution_due,
        ..Work::default()
    };
}

/// The reaction and resolution deadlines of an appeal's route (its topic's minutes, else the
/// router's reaction minutes), counted from its receipt.
pub fn deadlines(appeal: &Appeal, directory: &Directory) -> (Option<u64>, Option<u64>) {
    let Some(decision) = &appeal.decision else { return (None, None) };
    let topic = decision.topic.as_ref().and_then(|t| directory.topics.iter().find(|x| &x.id == t));
    let received = appeal.received_at;
    let deadline = |minutes: Option<u32>| {
        let span = u64::from(minutes?) * 60_000;
        Some(match (topic.is_some_and(|t| t.business_hours), &directory.business_hours) {
            (true, Some(hours)) => {
                let calendar =
                    Calendar { hours, days_off: &directory.holidays, zone: zone(appeal, directory) };
                calendar.after_working(received, span)
            }
            _ => received + span,
        })
    };
    let first = first_line(appeal, directory);
    (
        deadline(
            topic
                .and_then(|t| t.reaction_minutes)
                .or(decision.reaction_minutes)
                .or(first.and_then(|f| f.reaction_minutes)),
        ),
        deadline(topic.and_then(|t| t.resolution_minutes).or(first.and_then(|f| f.resolution_minutes))),
    )
}

/// The directory's first line, when the appeal's route names no department.
fn first_line<'a>(appeal: &Appeal, directory: &'a Directory) -> Option<&'a crate::directory::FirstLine> {
    let routed_nowhere = appeal.decision.as_ref().is_some_and(|d| d.department.is_none());
    directory.first_line.as_ref().filter(|_| routed_nowhere)
}

/// Where an appeal's business time is reckoned: its region's time zone, else the directory's.
fn zone(appeal: &Appeal, directory: &Directory) -> crate::calendar::Zone {
    let region = appeal.work.region.as_deref().or(appeal.decision.as_ref().and_then(|d| d.region.as_deref()));
    directory.zone_of(region)
}

/// The longest a pause stops the clock, in ms.
pub fn pause_limit(directory: &Directory) -> u64 {
    u64::from(directory.pause_limit_minutes.unwrap_or(DEFAULT_PAUSE_LIMIT_MINUTES)) * 60_000
}

/// Paused time that counts, now: what was counted plus the running pause, up to the limit.
pub fn pause_credit(work: &Work, limit: u64, now: u64) -> u64 {
    let running = work.paused_at.map_or(0, |at| now.saturating_sub(at));
    (work.paused_ms + running).min(limit)
}

/// Milliseconds from receipt to `until` as the SLA counts them: business time when the topic
/// says so; for resolution, minus the pause that counted.
pub fn elapsed(a: &Appeal, directory: &Directory, until: u64, resolution: bool) -> u64 {
    let topic = a
        .decision
        .as_ref()
        .and_then(|d| d.topic.as_ref())
        .and_then(|t| directory.topics.iter().find(|x| &x.id == t));
    let raw = match (topic.is_some_and(|t| t.business_hours), &directory.business_hours) {
        (true, Some(hours)) => Calendar { hours, days_off: &directory.holidays, zone: zone(a, directory) }
            .working_between(a.received_at, until),
        _ => until.saturating_sub(a.received_at),
    };
    match resolution {
        true => raw.saturating_sub(a.work.paused_ms.min(pause_limit(directory))),
        false => raw,
    }
}

/// A missed deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// Not taken into work in time.
    Reaction,
    /// Not resolved in time.
    Resolution,
}

impl Breach {
    /// For the history and notices.
    pub fn name(self) -> &'static str {
        match self {
            Breach::Reaction => "reaction",
            Breach::Resolution => "resolution",
        }
    }
}

/// Deadlines the open appeal has missed by `now` and that are not flagged yet, with each
/// effective deadline.
pub fn breaches(appeal: &Appeal, limit: u64, now: u64) -> Vec<(Breach, u64)> {
    let work = &appeal.work;
    if !appeal.status.is_open() {
        return Vec::new();
    }
    let credit = pause_credit(work, limit, now);
    let mut found = Vec::new();
    if let Some(due) = work.reaction_due.map(|d| d + credit)
        && work.taken_at.is_none()
        && work.reaction_overdue_at.is_none()
        && now >= due
    {
        found.push((Breach::Reaction, due));
    }
    if let Some(due) = work.resolution_due.map(|d| d + credit)
        && work.resolution_overdue_at.is_none()
        && now >= due
    {
        found.push((Breach::Resolution, due));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appeal::{Decision, Status};

    fn routed(topic: &str, received: u64) -> Appeal {
        Appeal {
            status: Status::Routed,
            received_at: received,
            decision: Some(Decision {
                queue: "returns".into(),
                region: Some("msk".into()),
                department: Some("returns".into()),
                topic: Some(topic.into()),
                candidates: vec![],
                strategy: "round-robin".into(),
                priority: "normal".into(),
                reaction_minutes: None,
                reason: String::new(),
            }),
            ..Appeal::default()
        }
    }

    fn directory() -> Directory {
        serde_json::from_value(serde_json::json!({
            "departments": [{"id": "returns"}],
            "topics": [
                {"id": "refund", "department": "returns", "reaction_minutes": 30, "resolution_minutes": 240},
                {"id": "office", "department": "returns", "reaction_minutes": 60, "business_hours": true}
            ],
            "business_hours": {"days": [1,2,3,4,5], "start": "09:00", "end": "18:00"},
            "utc_offset_minutes": 180,
            "pause_limit_minutes": 60
        }))
        .unwrap()
    }

    /// Monday 2026-11-23 12:00 Moscow.
    const NOON: u64 = 1_795_424_400_000;
    const MIN: u64 = 60_000;

    #[test]
    fn deadlines_come_from_the_topic_in_wall_or_business_time() {
        let d = directory();
        let mut a = routed("refund", NOON);
        start(&mut a, &d);
        assert_eq!(a.work.reaction_due, Some(NOON + 30 * MIN));
        assert_eq!(a.work.resolution_due, Some(NOON + 240 * MIN));
        // Received at 17:30 with 60 business minutes: due the next morning at 09:30.
        let mut late = routed("office", NOON + 330 * MIN);
        start(&mut late, &d);
        assert_eq!(late.work.reaction_due, Some(NOON + (24 * 60 - 150) * MIN));
        assert_eq!(late.work.resolution_due, None);
    }

    #[test]
    fn business_time_runs_in_the_region_s_time_zone() {
        let mut d = directory();
        d.regions = serde_json::from_value(serde_json::json!([
            {"id": "msk", "time_zone": "Europe/Moscow"},
            {"id": "vvo", "time_zone": "Asia/Vladivostok"}
        ]))
        .unwrap();
        // Monday 16:30 in Moscow is 23:30 in Vladivostok (UTC+10).
        let at = NOON + 270 * MIN;
        let mut moscow = routed("office", at);
        moscow.decision.as_mut().unwrap().region = Some("msk".into());
        start(&mut moscow, &d);
        assert_eq!(moscow.work.reaction_due, Some(at + 60 * MIN), "17:30 the same day in Moscow");
        let mut vladivostok = routed("office", at);
        vladivostok.decision.as_mut().unwrap().region = Some("vvo".into());
        start(&mut vladivostok, &d);
        // Tuesday 09:00–10:00 in Vladivostok = Tuesday 02:00–03:00 in Moscow.
        assert_eq!(vladivostok.work.reaction_due, Some(NOON + (24 * 60 - 540) * MIN));
        assert_eq!(elapsed(&vladivostok, &d, NOON + (24 * 60 - 570) * MIN, false), 30 * MIN);
    }

    #[test]
    fn a_pause_stops_the_clock_up_to_the_limit_and_a_breach_is_flagged_once() {
        let d = directory();
        let limit = pause_limit(&d);
        let mut a = routed("refund", NOON);
        start(&mut a, &d);
        assert!(breaches(&a, limit, NOON + 29 * MIN).is_empty());
        assert_eq!(breaches(&a, limit, NOON + 30 * MIN), [(Breach::Reaction, NOON + 30 * MIN)]);
        // Paused at 12:10 for 20 minutes: due 12:50.
        a.work.paused_at = Some(NOON + 10 * MIN);
        assert!(breaches(&a, limit, NOON + 45 * MIN).is_empty());
        // Still paused after the 60-minute limit: the clock runs again (due 13:30).
        assert!(breaches(&a, limit, NOON + 89 * MIN).is_empty());
        assert_eq!(breaches(&a, limit, NOON + 90 * MIN)[0].0, Breach::Reaction);
        a.work.reaction_overdue_at = Some(NOON + 90 * MIN);
        assert!(breaches(&a, limit, NOON + 91 * MIN).is_empty(), "flagged once");
        a.work.taken_at = Some(NOON);
        a.work.reaction_overdue_at = None;
        assert!(breaches(&a, limit, NOON + 91 * MIN).is_empty(), "taken in time");
    }
}
