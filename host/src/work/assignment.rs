//! Choosing the employee for a waiting appeal: among the router's candidates (or, when it
//! named none, the department's employees serving the region) whose role takes work, those
//! active, at work now
//! (working hours, days off, and — for people with an account — marked available) and not
//! full (`max_open`); then round-robin (after the last one
//! chosen in the department) or least-loaded (fewest open appeals, ties in candidate order).
//! Nobody eligible: the appeal waits in the department's fallback queue, with the reasons.

use crate::access::presence::State;
use crate::appeal::Appeal;
use crate::calendar::{self, Calendar};
use crate::directory::{Directory, Employee};
use crate::event::{Strategy, Unavailable, WaitReason};
use std::collections::{HashMap, HashSet};

/// What to do with a waiting appeal.
#[derive(Debug, PartialEq)]
pub enum Choice {
    /// Assign it to this employee.
    Assign {
        /// The employee's id.
        employee: String,
        /// How they were chosen.
        strategy: Strategy,
        /// Their open appeals before this one.
        open: u32,
    },
    /// Nobody can take it now: it waits in this queue.
    Wait {
        /// The queue it waits in.
        queue: String,
        /// Why.
        reason: WaitReason,
    },
    /// The router asked for manual assignment: it waits in its queue for an operator.
    Manual,
}

/// Who is at work now: each employee's open appeals, and the employees with an account who
/// are not available ([`crate::access::presence`]).
#[derive(Debug, Default)]
pub struct Team {
    /// Open appeals per employee.
    pub load: HashMap<String, u32>,
    /// Employees away or off.
    pub absent: HashMap<String, State>,
    /// Employees whose role takes no work (viewers, supervisors, admins): never candidates.
    pub takes_no_work: HashSet<String>,
}

/// Chooses for `appeal` given the team and the last employee round-robin chose in the
/// department.
pub fn choose(appeal: &Appeal, directory: &Directory, team: &Team, last: Option<&str>, now: u64) -> Choice {
    let load = &team.load;
    let decision = appeal.decision.as_ref();
    let strategy = decision.map(|d| d.strategy.as_str()).unwrap_or("round-robin");
    let department = appeal.work.department.as_deref().or(decision.and_then(|d| d.department.as_deref()));
    let queue = appeal.work.queue.clone().or(decision.map(|d| d.queue.clone())).unwrap_or_default();
    if strategy == "manual" {
        return Choice::Manual;
    }
    let candidates =
        candidates(appeal, directory, department).into_iter().filter(|e| !team.takes_no_work.contains(&e.id));
    let mut reasons = Vec::new();
    let eligible: Vec<&Employee> = candidates
        .filter(|e| match unavailable(e, directory, team, now) {
            Some(reason) => {
                reasons.push((e.id.clone(), reason));
                false
            }
            None => true,
        })
        .collect();
    let fallback = department
        .and_then(|d| directory.departments.iter().find(|x| x.id == d))
        .and_then(|d| d.fallback_queue.clone())
        .unwrap_or(queue);
    if eligible.is_empty() {
        let reason = match reasons.is_empty() {
            true => WaitReason::NobodyServes,
            false => WaitReason::NobodyFree(reasons),
        };
        return Choice::Wait { queue: fallback, reason };
    }
    let load_of = |e: &Employee| load.get(&e.id).copied().unwrap_or(0);
    let strategy = if strategy == "least-loaded" { Strategy::LeastLoaded } else { Strategy::RoundRobin };
    let chosen = match strategy {
        Strategy::LeastLoaded => {
            let least = eligible.iter().map(|e| load_of(e)).min().unwrap_or(0);
            eligible.iter().find(|e| load_of(e) == least).copied()
        }
        _ => {
            // Round-robin: the first eligible after the last one chosen, in candidate order.
            let after = last.and_then(|l| eligible.iter().position(|e| e.id == l)).map_or(0, |i| i + 1);
            eligible.get(after % eligible.len()).copied()
        }
    };
    // The empty case returned above.
    let chosen = chosen.expect("eligible is not empty");
    Choice::Assign { employee: chosen.id.clone(), strategy, open: load_of(chosen) }
}

/// The router's candidates that still exist, else the department's employees serving the
/// appeal's region.
fn candidates<'a>(appeal: &Appeal, directory: &'a Directory, department: Option<&str>) -> Vec<&'a Employee> {
    let named: Vec<&Employee> = appeal
        .decision
        .iter()
        .flat_map(|d| &d.candidates)
        .filter_map(|id| directory.employees.iter().find(|e| &e.id == id))
        .filter(|e| department.is_none_or(|d| e.department == d))
        .collect();
    if !named.is_empty() {
        return named;
    }
    let region = appeal.work.region.as_deref();
    directory
        .employees
        .iter()
        .filter(|e| Some(e.department.as_str()) == department)
        .filter(|e| e.regions.is_empty() || region.is_none_or(|r| e.regions.iter().any(|x| x == r)))
        .collect()
}

/// Why an employee cannot take an appeal now, if they cannot.
fn unavailable(e: &Employee, directory: &Directory, team: &Team, now: u64) -> Option<Unavailable> {
    if !e.active {
        return Some(Unavailable::Inactive);
    }
    match team.absent.get(&e.id) {
        Some(State::Away) => return Some(Unavailable::Away),
        Some(_) => return Some(Unavailable::Off),
        None => {}
    }
    // An employee's day and hours are reckoned in their (first) region's time zone.
    let zone = directory.zone_of(e.regions.first().map(String::as_str));
    let today = zone.date_at(now);
    if e.days_off.iter().any(|d| calendar::parse_date(d) == Some(today)) {
        return Some(Unavailable::DayOff);
    }
    if let Some(hours) = &e.working_hours {
        let calendar = Calendar { hours, days_off: &[], zone };
        if !calendar.is_working(now) {
            return Some(Unavailable::OffWork);
        }
    }
    if e.max_open.is_some_and(|max| team.load.get(&e.id).copied().unwrap_or(0) >= max) {
        return Some(Unavailable::Full);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appeal::{Decision, Status};

    fn directory() -> Directory {
        serde_json::from_value(serde_json::json!({
            "departments": [{"id": "returns", "fallback_queue": "returns-backlog"}],
            "employees": [
                {"id": "a", "department": "returns", "max_open": 2},
                {"id": "b", "department": "returns"},
                {"id": "c", "department": "returns", "working_hours": {"days": [1,2,3,4,5], "start": "09:00", "end": "18:00"}},
            ],
            "utc_offset_minutes": 180
        }))
        .unwrap()
    }

    fn appeal(strategy: &str) -> Appeal {
        let mut a = Appeal { status: Status::Routed, ..Appeal::default() };
        a.decision = Some(Decision {
            queue: "returns".into(),
            region: None,
            department: Some("returns".into()),
            topic: None,
            candidates: vec!["a".into(), "b".into(), "c".into()],
            strategy: strategy.into(),
            priority: "normal".into(),
            reaction_minutes: None,
            reason: String::new(),
        });
        a.work.department = Some("returns".into());
        a
    }

    /// Monday 2026-11-23 12:00 and 22:00 in Moscow.
    const NOON: u64 = 1_795_424_400_000;
    const NIGHT: u64 = NOON + 10 * 3_600_000;

    fn assigned(choice: Choice) -> String {
        match choice {
            Choice::Assign { employee, .. } => employee,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn round_robin_takes_turns_in_candidate_order() {
        let d = directory();
        let load = HashMap::new();
        let mut last = None;
        let mut order = Vec::new();
        for _ in 0..6 {
            let chosen = assigned(choose(
                &appeal("round-robin"),
                &d,
                &Team { load: load.clone(), ..Team::default() },
                last.as_deref(),
                NOON,
            ));
            last = Some(chosen.clone());
            order.push(chosen);
        }
        assert_eq!(order, ["a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn least_loaded_picks_the_fewest_open_and_full_employees_are_skipped() {
        let d = directory();
        let load = HashMap::from([("a".to_string(), 2), ("b".to_string(), 3), ("c".to_string(), 1)]);
        assert_eq!(
            assigned(choose(
                &appeal("least-loaded"),
                &d,
                &Team { load: load.clone(), ..Team::default() },
                None,
                NOON
            )),
            "c"
        );
        // a is full (max_open 2) even though b has more.
        let load = HashMap::from([("a".to_string(), 2), ("b".to_string(), 3), ("c".to_string(), 9)]);
        assert_eq!(
            assigned(choose(
                &appeal("least-loaded"),
                &d,
                &Team { load: load.clone(), ..Team::default() },
                None,
                NOON
            )),
            "b"
        );
    }

    #[test]
    fn working_hours_and_days_off_decide_who_is_eligible_and_nobody_means_the_fallback_queue() {
        let mut d = directory();
        let load = HashMap::new();
        // At night c is off work: round-robin after b wraps to a.
        assert_eq!(
            assigned(choose(
                &appeal("round-robin"),
                &d,
                &Team { load: load.clone(), ..Team::default() },
                Some("b"),
                NIGHT
            )),
            "a"
        );
        d.employees[0].days_off = vec!["2026-11-23".into()];
        d.employees[1].active = false;
        match choose(&appeal("round-robin"), &d, &Team { load: load.clone(), ..Team::default() }, None, NIGHT)
        {
            Choice::Wait { queue, reason } => {
                assert_eq!(queue, "returns-backlog");
                assert_eq!(
                    reason,
                    WaitReason::NobodyFree(vec![
                        ("a".into(), Unavailable::DayOff),
                        ("b".into(), Unavailable::Inactive),
                        ("c".into(), Unavailable::OffWork)
                    ])
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            choose(&appeal("manual"), &d, &Team { load: load.clone(), ..Team::default() }, None, NOON),
            Choice::Manual
        );
    }

    #[test]
    fn people_away_or_off_are_passed_by() {
        let d = directory();
        let absent = HashMap::from([("a".to_string(), State::Away), ("b".to_string(), State::Off)]);
        let team = Team { absent, ..Team::default() };
        assert_eq!(assigned(choose(&appeal("round-robin"), &d, &team, None, NOON)), "c");
        // c's role takes no work (a viewer, say): nobody serves then.
        let team = Team { takes_no_work: HashSet::from(["c".to_string()]), ..team };
        let choice = choose(&appeal("round-robin"), &d, &team, None, NOON);
        assert!(
            matches!(&choice, Choice::Wait { reason: WaitReason::NobodyFree(people), .. } if people.len() == 2),
            "{choice:?}"
        );
        let absent = ["a", "b", "c"].map(|e| (e.to_string(), State::Off)).into();
        match choose(&appeal("round-robin"), &d, &Team { absent, ..Team::default() }, None, NOON) {
            Choice::Wait { reason: WaitReason::NobodyFree(people), .. } => {
                assert_eq!(people[0], ("a".into(), Unavailable::Off));
            }
            other => panic!("{other:?}"),
        }
    }
}
