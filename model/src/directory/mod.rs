//! The routing directory: regions, departments, employees and topics, edited by admins as
//! one JSON document and read by routers through the `directory` host import.

use crate::calendar::Hours;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

mod names;
mod patterns;
pub use patterns::{IdPattern, extract_ids};

/// The whole directory, as imported and exported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// Regions.
    #[serde(default)]
    pub regions: Vec<Region>,
    /// Departments.
    #[serde(default)]
    pub departments: Vec<Department>,
    /// Employees.
    #[serde(default)]
    pub employees: Vec<Employee>,
    /// Topics.
    #[serde(default)]
    pub topics: Vec<Topic>,
    /// The company's business hours, for SLA clocks counted in business time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<Hours>,
    /// Dates (`2026-12-31`) that are not business days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    /// The offset from UTC of every time of day here, in minutes (Moscow: 180).
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// The longest a pause stops an appeal's SLA clock, in minutes (default 1440).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_limit_minutes: Option<u32>,
    /// Who hears of new work as it arrives ([`NoticeRule`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<NoticeRule>,
    /// Asking customers to rate the help after a resolution (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csat: Option<Csat>,
    /// Identifiers read from an appeal's text into its metadata (a vending machine's number).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<IdPattern>,
    /// The first line (the call centre): the department that owns what the route gave to
    /// none — calls, appeals no topic matched — with its deadlines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_line: Option<FirstLine>,
    /// How long an employee may be off (signed out, or «не на работе») before their open
    /// appeals go back to the queue, in minutes (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_after_minutes: Option<u32>,
}

/// The department that owns work no route gave to anyone, and its SLA.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstLine {
    /// Its department (an id).
    pub department: String,
    /// Minutes from receipt to taking into work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_minutes: Option<u32>,
    /// Minutes from receipt to resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_minutes: Option<u32>,
}

/// Minutes an employee may be off before their open appeals go back to the queue.
pub const DEFAULT_RETURN_AFTER_MINUTES: u32 = 15;

/// The customer's verdict: after an appeal is resolved, its customer is asked through their
/// own channel to rate the help from 1 to 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Csat {
    /// The channels whose customers are asked (`telegram`, `whatsapp`, …).
    pub channels: Vec<String>,
    /// Only appeals of these topics (empty: every topic).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// The question (default: «Оцените, пожалуйста, как мы помогли: от 1 до 5»).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// A rating at or below this is low (default 2).
    #[serde(default = "low_default")]
    pub low: u8,
    /// A low rating opens the appeal again.
    #[serde(default)]
    pub reopen_on_low: bool,
    /// A low rating is a notice to the department's manager (their `notify`).
    #[serde(default)]
    pub notify_manager_on_low: bool,
}

fn low_default() -> u8 {
    2
}

impl Csat {
    /// Whether the customer of an appeal from `channel` about `topic` is asked.
    pub fn asks(&self, channel: &str, topic: Option<&str>) -> bool {
        self.channels.iter().any(|c| c == channel)
            && (self.topics.is_empty() || topic.is_some_and(|t| self.topics.iter().any(|x| x == t)))
    }

    /// The question.
    pub fn question(&self) -> &str {
        self.question.as_deref().unwrap_or("Оцените, пожалуйста, как мы помогли: от 1 до 5")
    }
}

/// The events a notice rule can name, and the history stage each is.
pub const NOTICE_EVENTS: [(&str, &str); 4] =
    [("new", "routed"), ("assigned", "assigned"), ("handed_off", "handed_off"), ("escalated", "escalated")];

/// A notice when work arrives: which events, for which appeals, to whom, and when not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRule {
    /// `new` (an appeal routed), `assigned` (to a person), `handed_off`, `escalated`.
    pub events: Vec<String>,
    /// Only appeals of this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Only appeals of this department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Only appeals of this region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Where it goes: a chat, mailbox or webhook; or `{"channel": "assignee"}`, the assigned
    /// employee's own `notify`.
    pub to: Notify,
    /// Quiet hours in the appeal's region's time, `22:00-08:00`: a notice waits until they end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet: Option<String>,
}

impl NoticeRule {
    /// Quiet hours as (start, end) minutes after midnight; the span may wrap midnight.
    pub fn quiet_minutes(&self) -> Option<(u32, u32)> {
        let (from, to) = self.quiet.as_deref()?.split_once('-')?;
        let hours = crate::calendar::Hours { days: vec![], start: from.trim().into(), end: "24:00".into() };
        let start = hours.minutes()?.0;
        let hours = crate::calendar::Hours { days: vec![], start: "00:00".into(), end: to.trim().into() };
        let end = hours.minutes().map_or(0, |m| m.1);
        Some((start, end))
    }
}

/// Where a notice goes: a channel whose adapter sends replies, or a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// A channel whose adapter sends replies (`telegram`, `email`, …), with `to`; or `webhook`.
    pub channel: String,
    /// The chat id (Telegram), address (e-mail) or URL (webhook); empty for `assignee`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
}

/// A region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Stable id.
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub name: String,
    /// Cities that belong to it.
    #[serde(default)]
    pub cities: Vec<String>,
    /// Store numbers that belong to it.
    #[serde(default)]
    pub stores: Vec<String>,
    /// Its IANA time zone (`Europe/Kaliningrad`, `Asia/Vladivostok`): working hours, holidays
    /// and SLA business time of its appeals and employees are reckoned there (default: the
    /// directory's `utc_offset_minutes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// A department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// Stable id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Its queue (defaults to the id).
    #[serde(default)]
    pub queue: String,
    /// Where its appeals wait when no employee is eligible or everyone is full (default: its
    /// queue). They are assigned as soon as someone frees up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_queue: Option<String>,
    /// The next escalation level (call centre → operators → technicians): a department id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<String>,
    /// An appeal not taken into work this many minutes after it reached this department moves
    /// up to `escalate_to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after_minutes: Option<u32>,
    /// The manager (an employee id) overdue appeals are reported to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// Where overdue notices go (the manager's or the brigade's chat, an e-mail, a webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// Per region, where its overdue notices go instead (each region's brigade chat).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub notify_regions: std::collections::BTreeMap<String, Notify>,
    /// An outside contractor's group (service masters): its people get the `master` role's
    /// limits — only this department's appeals in their regions, no contact details beyond
    /// the job's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// Whether this department's external masters may reply to customers themselves.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub masters_may_reply: bool,
}

/// An employee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Employee {
    /// Stable id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Department id.
    pub department: String,
    /// Region ids served; empty means all.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Takes appeals now.
    #[serde(default = "yes")]
    pub active: bool,
    /// The employee's user id in the CRM (Bitrix24 `ASSIGNED_BY_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_user_id: Option<String>,
    /// When the employee works (default: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<Hours>,
    /// Dates (`2026-11-24`) the employee is off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_off: Vec<String>,
    /// Open appeals the employee can hold at once (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u32>,
    /// The employee's own chat or mailbox, for notices addressed to the assignee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
}

fn yes() -> bool {
    true
}

/// A topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Stable id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Keywords and phrases that mark it, matched by word forms (`вернуть` finds `Верните`).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Keywords matched word for word, where a word form would be too broad.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exact_keywords: Vec<String>,
    /// Words or phrases that rule the topic out when present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<String>,
    /// Where it applies: channels (`vk`) or `channel/kind` (`vk/comment`); empty: everywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Weight when several topics match (the highest wins; equal: list order).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// Handling department id.
    pub department: String,
    /// Minutes to take into work.
    #[serde(default)]
    pub reaction_minutes: Option<u32>,
    /// Minutes to resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_minutes: Option<u32>,
    /// Count its SLA minutes in the directory's business hours only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub business_hours: bool,
    /// The steps of this kind of request (a service master's checklist): an appeal of the topic
    /// gets them; required ones must be ticked off before it is resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<ChecklistItem>,
}

/// One step of a topic's checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Stable id within the topic.
    pub id: String,
    /// What to do.
    pub text: String,
    /// Must be done before the appeal is resolved.
    #[serde(default)]
    pub required: bool,
}

impl Directory {
    /// Where local time is reckoned for `region`: its time zone, else the directory's offset.
    pub fn zone_of(&self, region: Option<&str>) -> crate::calendar::Zone {
        region
            .and_then(|id| self.regions.iter().find(|r| r.id == id))
            .and_then(|r| r.time_zone.as_deref())
            .and_then(crate::calendar::Zone::named)
            .unwrap_or(crate::calendar::Zone::Offset(self.utc_offset_minutes))
    }

    /// What changed from `self` to `next`, one line per entry: `employee e-4 added`,
    /// `topic refund changed`, `region spb removed`, `business hours changed`.
    pub fn changes(&self, next: &Directory) -> Vec<String> {
        fn entries<T: PartialEq>(
            kind: &str,
            old: &[T],
            new: &[T],
            id: impl Fn(&T) -> &str,
            out: &mut Vec<String>,
        ) {
            for n in new {
                match old.iter().find(|o| id(o) == id(n)) {
                    None => out.push(format!("{kind} {} added", id(n))),
                    Some(o) if o != n => out.push(format!("{kind} {} changed", id(n))),
                    Some(_) => {}
                }
            }
            for o in old.iter().filter(|o| !new.iter().any(|n| id(n) == id(o))) {
                out.push(format!("{kind} {} removed", id(o)));
            }
        }
        let mut out = Vec::new();
        entries("region", &self.regions, &next.regions, |r| &r.id, &mut out);
        entries("department", &self.departments, &next.departments, |d| &d.id, &mut out);
        entries("employee", &self.employees, &next.employees, |e| &e.id, &mut out);
        entries("topic", &self.topics, &next.topics, |t| &t.id, &mut out);
        let rest = |d: &Directory| Directory {
            regions: vec![],
            departments: vec![],
            employees: vec![],
            topics: vec![],
            ..d.clone()
        };
        if rest(self) != rest(next) {
            out.push("business hours, holidays or offset changed".into());
        }
        out
    }

    /// Checks ids are unique and non-empty and every reference points at something that
    /// exists; fills default names and queues. Returns every problem found, not just the first.
    ///
    /// # Errors
    /// The list of problems, each naming the record and the missing reference.
    pub fn validated(mut self) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        self.check_references(&mut problems);
        self.check_times(&mut problems);
        self.check_patterns(&mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        self.fill_names();
        Ok(self)
    }

    /// Identifier patterns compile, have proper keys, and name regions that exist.
    fn check_patterns(&self, problems: &mut Vec<String>) {
        for (n, pattern) in self.patterns.iter().enumerate() {
            let key_ok = !pattern.key.is_empty()
                && pattern.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !key_ok {
                problems.push(format!(
                    "patterns[{n}]: key `{}` is not lower-case Latin, digits and _",
                    pattern.key
                ));
            }
            if let Err(e) = pattern.compile() {
                problems.push(format!("patterns[{n}] ({}): {e}", pattern.key));
            }
            if let Some(region) = &pattern.region
                && !self.regions.iter().any(|r| &r.id == region)
            {
                problems.push(format!("patterns[{n}] ({}): unknown region {region}", pattern.key));
            }
        }
    }

    /// Ids are unique and not empty; every id an entry names exists.
    fn check_references(&self, problems: &mut Vec<String>) {
        let mut ids = |kind: &str, list: Vec<&str>| -> HashSet<String> {
            let mut seen = HashSet::new();
            for id in list {
                if id.trim().is_empty() {
                    problems.push(format!("a {kind} has an empty id"));
                } else if !seen.insert(id.to_string()) {
                    problems.push(format!("{kind} id '{id}' is used twice"));
                }
            }
            seen
        };
        let regions = ids("region", self.regions.iter().map(|r| r.id.as_str()).collect());
        let departments = ids("department", self.departments.iter().map(|d| d.id.as_str()).collect());
        ids("employee", self.employees.iter().map(|e| e.id.as_str()).collect());
        let topics = ids("topic", self.topics.iter().map(|t| t.id.as_str()).collect());
        for t in self.csat.iter().flat_map(|c| &c.topics).filter(|t| !topics.contains(*t)) {
            problems.push(format!("csat names unknown topic '{t}'"));
        }
        if self.csat.as_ref().is_some_and(|c| !(1..=5).contains(&c.low)) {
            problems.push("csat: `low` is a rating from 1 to 5".into());
        }
        for (n, rule) in self.notices.iter().enumerate() {
            let named = [
                ("topic", &rule.topic, &topics),
                ("department", &rule.department, &departments),
                ("region", &rule.region, &regions),
            ];
            for (kind, id, known) in named {
                if let Some(id) = id.as_ref().filter(|id| !known.contains(*id)) {
                    problems.push(format!("notice {} names unknown {kind} '{id}'", n + 1));
                }
            }
        }
        for e in &self.employees {
            if !departments.contains(&e.department) {
                problems.push(format!("employee '{}' names unknown department '{}'", e.id, e.department));
            }
            for r in e.regions.iter().filter(|r| !regions.contains(*r)) {
                problems.push(format!("employee '{}' names unknown region '{r}'", e.id));
            }
        }
        for r in &self.regions {
            if let Some(zone) = r.time_zone.as_deref().filter(|z| crate::calendar::Zone::named(z).is_none()) {
                problems.push(format!(
                    "region '{}': unknown time zone '{zone}' (an IANA name such as Europe/Moscow)",
                    r.id
                ));
            }
        }
        for t in &self.topics {
            let mut items = HashSet::new();
            for item in &t.checklist {
                if item.id.is_empty() || !items.insert(item.id.as_str()) {
                    problems.push(format!(
                        "topic '{}': checklist item id '{}' is empty or used twice",
                        t.id, item.id
                    ));
                }
            }
            if !departments.contains(&t.department) {
                problems.push(format!("topic '{}' names unknown department '{}'", t.id, t.department));
            }
            if t.business_hours && self.business_hours.is_none() {
                problems.push(format!(
                    "topic '{}' counts business hours, but the directory has no business_hours",
                    t.id
                ));
            }
        }
        let employees: HashSet<&str> = self.employees.iter().map(|e| e.id.as_str()).collect();
        if let Some(first) = self.first_line.as_ref().filter(|f| !departments.contains(&f.department)) {
            problems.push(format!("first_line names unknown department '{}'", first.department));
        }
        for d in &self.departments {
            if let Some(next) = d.escalate_to.as_ref().filter(|next| !departments.contains(*next)) {
                problems.push(format!("department '{}' escalates to unknown department '{next}'", d.id));
            }
            if let Some(manager) = d.manager.as_ref().filter(|m| !employees.contains(m.as_str())) {
                problems.push(format!("department '{}' names unknown manager '{manager}'", d.id));
            }
            for r in d.notify_regions.keys().filter(|r| !regions.contains(*r)) {
                problems.push(format!("department '{}' notifies for unknown region '{r}'", d.id));
            }
            if d.escalate_after_minutes.is_some() && d.escalate_to.is_none() {
                problems.push(format!("department '{}' has escalate_after_minutes but no escalate_to", d.id));
            }
        }
    }

    /// Working hours parse and days off are dates.
    fn check_times(&self, problems: &mut Vec<String>) {
        // Offsets on Earth run from UTC−12:00 to UTC+14:00; minutes from a minute to a year.
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            problems.push(format!(
                "utc_offset_minutes {} is not an offset on Earth (-720 to 840)",
                self.utc_offset_minutes
            ));
        }
        const YEAR: u32 = 366 * 24 * 60;
        let mut minutes: Vec<(String, Option<u32>)> = vec![
            ("pause_limit_minutes".into(), self.pause_limit_minutes),
            ("return_after_minutes".into(), self.return_after_minutes),
        ];
        if let Some(first) = &self.first_line {
            minutes.push(("first_line: reaction_minutes".into(), first.reaction_minutes));
            minutes.push(("first_line: resolution_minutes".into(), first.resolution_minutes));
        }
        for d in &self.departments {
            minutes
                .push((format!("department '{}': escalate_after_minutes", d.id), d.escalate_after_minutes));
        }
        for t in &self.topics {
            minutes.push((format!("topic '{}': reaction_minutes", t.id), t.reaction_minutes));
            minutes.push((format!("topic '{}': resolution_minutes", t.id), t.resolution_minutes));
        }
        for (what, value) in minutes {
            if let Some(value) = value.filter(|m| !(1..=YEAR).contains(m)) {
                problems.push(format!("{what} {value} is not between 1 and {YEAR} (a year)"));
            }
        }
        let hours = self.business_hours.iter().map(|h| ("business_hours".to_string(), h));
        let staff = self
            .employees
            .iter()
            .filter_map(|e| e.working_hours.as_ref().map(|h| (format!("employee '{}'", e.id), h)));
        for (owner, h) in hours.chain(staff) {
            if h.minutes().is_none() || h.days.iter().any(|d| !(1..=7).contains(d)) {
                problems.push(format!("{owner}: hours need days 1-7 and HH:MM start before end"));
            }
        }
        for (n, rule) in self.notices.iter().enumerate() {
            let known = |e: &String| crate::event::NoticeKind::parse(e).is_some_and(|k| k.for_rules());
            if rule.events.is_empty() || !rule.events.iter().all(known) {
                problems.push(format!("notice {}: events are new, assigned, handed_off, escalated", n + 1));
            }
            if rule.to.to.trim().is_empty() && rule.to.channel != "assignee" {
                problems.push(format!("notice {}: `to` names no chat, mailbox or URL", n + 1));
            }
            if rule.quiet.is_some() && rule.quiet_minutes().is_none() {
                problems.push(format!("notice {}: quiet hours are HH:MM-HH:MM", n + 1));
            }
        }
        let dates = self.holidays.iter().chain(self.employees.iter().flat_map(|e| &e.days_off));
        for date in dates.filter(|d| crate::calendar::parse_date(d).is_none()) {
            problems.push(format!("'{date}' is not a date (YYYY-MM-DD)"));
        }
    }

    /// An entry without a name is called by its id; a department without a queue uses its id.
    fn fill_names(&mut self) {
        let fill = |name: &mut String, id: &str| {
            if name.is_empty() {
                *name = id.to_string();
            }
        };
        self.regions.iter_mut().for_each(|r| fill(&mut r.name, &r.id));
        self.employees.iter_mut().for_each(|e| fill(&mut e.name, &e.id));
        self.topics.iter_mut().for_each(|t| fill(&mut t.name, &t.id));
        for d in &mut self.departments {
            fill(&mut d.name, &d.id);
            fill(&mut d.queue, &d.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_references_are_all_reported() {
        let dir: Directory = serde_json::from_str(
            r#"{"departments":[{"id":"sales"}],
                "employees":[{"id":"e1","department":"service","regions":["spb"]}],
                "topics":[{"id":"t","department":"returns"}]}"#,
        )
        .unwrap();
        let problems = dir.validated().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("unknown department 'service'"));
    }

    #[test]
    fn defaults_are_filled() {
        let dir: Directory = serde_json::from_str(r#"{"departments":[{"id":"sales"}]}"#).unwrap();
        let dir = dir.validated().unwrap();
        assert_eq!(dir.departments[0].queue, "sales");
        assert_eq!(dir.departments[0].name, "sales");
    }

    #[test]
    fn notice_rules_are_checked_and_quiet_hours_may_wrap_midnight() {
        let dir: Directory = serde_json::from_str(
            r#"{"regions":[{"id":"kzn"}],
                "notices":[{"events":["new","lunch"],"region":"spb","to":{"channel":"telegram"},"quiet":"22:00"},
                           {"events":["assigned"],"to":{"channel":"assignee"},"quiet":"22:00-08:00"}]}"#,
        )
        .unwrap();
        let problems = dir.clone().validated().unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("notice 1 names unknown region 'spb'")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("notice 1: events")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("notice 1: `to` names no chat")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("notice 1: quiet hours")), "{problems:?}");
        assert_eq!(dir.notices[1].quiet_minutes(), Some((22 * 60, 8 * 60)));
    }

    #[test]
    fn offsets_and_minutes_are_within_what_a_clock_can_mean() {
        let dir: Directory = serde_json::from_str(
            r#"{"utc_offset_minutes": 2147483647, "pause_limit_minutes": 0,
                "departments": [{"id": "d", "escalate_after_minutes": 4294967295, "escalate_to": "d"}]}"#,
        )
        .unwrap();
        let problems = dir.validated().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("utc_offset_minutes 2147483647 is not an offset on Earth"),
            "{problems:?}"
        );
        let fine: Directory =
            serde_json::from_str(r#"{"utc_offset_minutes": -600, "pause_limit_minutes": 1440}"#).unwrap();
        assert!(fine.validated().is_ok());
    }

    #[test]
    fn the_local_minute_of_the_day_is_the_regions() {
        let dir: Directory =
            serde_json::from_str(r#"{"regions":[{"id":"vvo","time_zone":"Asia/Vladivostok"}]}"#).unwrap();
        // 2026-12-01T23:30:00Z is 09:30 the next morning in Vladivostok (UTC+10).
        let at = 1_796_167_800_000;
        assert_eq!(dir.zone_of(Some("vvo")).minute_of_day(at), 9 * 60 + 30);
        assert_eq!(dir.zone_of(None).minute_of_day(at), 23 * 60 + 30);
    }
}
