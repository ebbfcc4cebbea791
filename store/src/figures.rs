//! Per-day figures of appeals, kept for reports over long ranges: for every UTC day an appeal
//! was received on and every report dimension (channel, topic, region, department, status,
//! assignee), how many appeals and their reaction, resolution, first-reply and handling times
//! (count, sum and a mergeable HDR histogram, so a year's p90 comes from 365 merged days; the
//! first-reply count is how many were answered); and per day, the dropped appeals by filter
//! and reason. They move in the very transaction that writes the appeal, like the
//! indexes ([`super::index::Derived`]), so a report over a year reads 365 entries per group
//! instead of a year of records.
//!
//! An entry's key is `dimension \0 day (u32, big-endian) value`; its value is [`Figures`] in
//! postcard.

use super::engine::{Tree, Write};
use super::record::Head;
use crate::appeal::{Appeal, Status};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde::{Deserialize, Serialize};

/// The dimensions reports group by.
pub const DIMENSIONS: [&str; 6] = ["channel", "topic", "region", "department", "status", "assignee"];
/// The pseudo-dimension of dropped appeals; its value is `filter \0 reason`.
pub const DROPPED: &str = "dropped";
const DAY_MS: u64 = 86_400_000;

/// The UTC day of an instant (days since the epoch).
pub fn day_of(ms: u64) -> u32 {
    u32::try_from(ms / DAY_MS).unwrap_or(u32::MAX)
}

/// The first instant of a UTC day.
pub fn day_start(day: u32) -> u64 {
    u64::from(day) * DAY_MS
}

/// The value of a dimension for an appeal (`None`: the appeal has none).
pub fn dimension(a: &Appeal, by: &str) -> Option<String> {
    let decision = a.decision.as_ref();
    match by {
        "channel" => Some(a.channel.clone()),
        "status" => Some(a.status.name().to_string()),
        "topic" => decision.and_then(|d| d.topic.clone()),
        "region" => a.work.region.clone().or(decision.and_then(|d| d.region.clone())),
        "assignee" => a.work.assignee.clone(),
        _ => a.work.department.clone().or(decision.and_then(|d| d.department.clone())),
    }
}

/// The filter that dropped an appeal and its reason, `filter \0 reason`.
pub fn dropped_by(a: &Appeal) -> Option<String> {
    if a.status != Status::Dropped {
        return None;
    }
    a.history.iter().rev().find_map(|e| match &e.event {
        crate::event::Event::Dropped { reason } => {
            Some(format!("{}\0{reason}", e.plugin.as_deref().unwrap_or_default()))
        }
        _ => None,
    })
}

/// Durations of a group: how many, their sum and their distribution (in seconds).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Durations {
    /// How many.
    pub count: u64,
    /// Their sum, in ms.
    pub sum_ms: u64,
    /// An HDR histogram of seconds (3 significant digits), V2-serialised; empty when none.
    histogram: Vec<u8>,
}

impl Durations {
    fn histogram(&self) -> Histogram<u64> {
        let read = Deserializer::new().deserialize(&mut self.histogram.as_slice()).ok();
        // Three significant digits is a valid precision: creation cannot fail.
        read.unwrap_or_else(|| Histogram::new(3).expect("a histogram"))
    }

    fn set_histogram(&mut self, histogram: &Histogram<u64>) {
        self.histogram.clear();
        if !histogram.is_empty() {
            // Writing to memory does not fail.
            V2Serializer::new().serialize(histogram, &mut self.histogram).expect("serialised");
        }
    }

    /// Adds (`sign` 1) or takes away (-1) one duration.
    fn add(&mut self, ms: u64, sign: i64) {
        let mut histogram = self.histogram();
        let mut one = Histogram::<u64>::new(3).expect("a histogram");
        let _ = one.record(ms / 1_000);
        let _ = match sign > 0 {
            true => histogram.add(&one).map_err(drop),
            false => histogram.subtract(&one).map_err(drop),
        };
        self.count = self.count.saturating_add_signed(sign);
        self.sum_ms = self.sum_ms.saturating_add_signed(sign * ms as i64);
        self.set_histogram(&histogram);
    }
}

/// What a group of appeals adds up to.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Figures {
    /// Appeals.
    pub appeals: u64,
    /// Reaction times (received → taken into work).
    pub reaction: Durations,
    /// Resolution times (received → resolved).
    pub resolution: Durations,
    /// First-reply times (received → the first reply); their count is the answered appeals.
    pub first_reply: Durations,
    /// Handling times (taken into work → resolved).
    pub handling: Durations,
}

impl Figures {
    /// Adds (`sign` 1) or takes away (-1) one appeal's part.
    pub fn add(&mut self, part: &Part, sign: i64) {
        self.appeals = self.appeals.saturating_add_signed(sign);
        for (durations, ms) in [
            (&mut self.reaction, part.reaction_ms),
            (&mut self.resolution, part.resolution_ms),
            (&mut self.first_reply, part.first_reply_ms),
            (&mut self.handling, part.handling_ms),
        ] {
            if let Some(ms) = ms {
                durations.add(ms, sign);
            }
        }
    }
}

/// Figures added up in memory for a report: stored figures of whole days and the parts of
/// single appeals.
#[derive(Debug)]
pub struct Totals {
    /// Appeals.
    pub appeals: u64,
    /// Reaction times.
    pub reaction: Tally,
    /// Resolution times.
    pub resolution: Tally,
    /// First-reply times (their count: the answered appeals).
    pub first_reply: Tally,
    /// Handling times.
    pub handling: Tally,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            appeals: 0,
            reaction: Tally::new(),
            resolution: Tally::new(),
            first_reply: Tally::new(),
            handling: Tally::new(),
        }
    }
}

impl Totals {
    /// Adds a day's stored figures; their histograms only `with_durations`.
    pub fn add_figures(&mut self, figures: &Figures, with_durations: bool) {
        self.appeals += figures.appeals;
        if with_durations {
            self.reaction.add_durations(&figures.reaction);
            self.resolution.add_durations(&figures.resolution);
            self.first_reply.add_durations(&figures.first_reply);
            self.handling.add_durations(&figures.handling);
        }
    }

    /// Adds one appeal's part.
    pub fn add_part(&mut self, part: &Part) {
        self.appeals += 1;
        self.reaction.add(part.reaction_ms);
        self.resolution.add(part.resolution_ms);
        self.first_reply.add(part.first_reply_ms);
        self.handling.add(part.handling_ms);
    }
}

/// Durations added up in memory.
#[derive(Debug)]
pub struct Tally {
    /// How many.
    pub count: u64,
    sum_ms: u64,
    histogram: Histogram<u64>,
}

impl Tally {
    fn new() -> Self {
        // Three significant digits is a valid precision: creation cannot fail.
        Self { count: 0, sum_ms: 0, histogram: Histogram::new(3).expect("a histogram") }
    }

    fn add(&mut self, ms: Option<u64>) {
        if let Some(ms) = ms {
            self.count += 1;
            self.sum_ms += ms;
            let _ = self.histogram.record(ms / 1_000);
        }
    }

    fn add_durations(&mut self, durations: &Durations) {
        if durations.count > 0 {
            self.count += durations.count;
            self.sum_ms += durations.sum_ms;
            let _ = self.histogram.add(durations.histogram());
        }
    }

    /// The average, in ms.
    pub fn average_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms as f64 / self.count as f64)
    }

    /// The 90th percentile (nearest rank), in ms, to the histogram's precision (0.1 %).
    pub fn p90_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.histogram.value_at_quantile(0.9) as f64 * 1_000.0)
    }
}

/// One appeal's part in a group's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Where it counts: `dimension \0 day value`.
    pub key: Vec<u8>,
    /// Its reaction time, once taken into work.
    pub reaction_ms: Option<u64>,
    /// Its resolution time, once resolved.
    pub resolution_ms: Option<u64>,
    /// Its first-reply time, once answered.
    pub first_reply_ms: Option<u64>,
    /// Its handling time (taken → resolved), once resolved after being taken.
    pub handling_ms: Option<u64>,
}

/// Where `dimension`'s figures of `day` start.
pub fn day_prefix(dimension: &str, day: u32) -> Vec<u8> {
    [dimension.as_bytes(), &[0], &day.to_be_bytes()].concat()
}

/// An appeal's parts: one per dimension, and one for the filter that dropped it
/// (`dropped_by`, `filter \0 reason`).
pub fn parts(a: &Appeal, dropped_by: Option<&str>) -> Vec<Part> {
    let day = day_of(a.received_at);
    let reaction_ms = a.work.reaction_ms.or(a.work.taken_at.map(|t| t.saturating_sub(a.received_at)));
    let resolution_ms = a.work.resolution_ms.or(a.work.resolved_at.map(|t| t.saturating_sub(a.received_at)));
    let first_reply_ms = a.work.first_reply_at.map(|t| t.saturating_sub(a.received_at));
    let handling_ms = a.work.taken_at.zip(a.work.resolved_at).map(|(taken, done)| done.saturating_sub(taken));
    let values = DIMENSIONS.iter().map(|d| (*d, dimension(a, d).unwrap_or_else(|| "-".into())));
    let dropped = dropped_by.map(|v| (DROPPED, v.to_string()));
    values
        .chain(dropped)
        .map(|(d, value)| Part {
            key: [day_prefix(d, day), value.into_bytes()].concat(),
            reaction_ms: reaction_ms.filter(|_| d != DROPPED),
            resolution_ms: resolution_ms.filter(|_| d != DROPPED),
            first_reply_ms: first_reply_ms.filter(|_| d != DROPPED),
            handling_ms: handling_ms.filter(|_| d != DROPPED),
        })
        .collect()
}

/// Reads stored figures (empty when absent or unreadable).
pub fn read(bytes: Option<&[u8]>) -> Figures {
    bytes.and_then(|b| postcard::from_bytes(b).ok()).unwrap_or_default()
}

/// Inside the write that changes an appeal: moves its parts from the record it had to the one
/// it gets.
///
/// # Errors
/// On storage failure.
pub fn maintain(
    write: &mut Write,
    tree: &Tree,
    old: Option<&Head>,
    new: Option<&Head>,
) -> anyhow::Result<()> {
    let parts_of = |h: &Head| parts(&h.appeal, h.dropped_by.as_deref());
    let before = old.map(parts_of).unwrap_or_default();
    let after = new.map(parts_of).unwrap_or_default();
    let changes = before
        .iter()
        .filter(|p| !after.contains(p))
        .map(|p| (p, -1))
        .chain(after.iter().filter(|p| !before.contains(p)).map(|p| (p, 1)));
    for (part, sign) in changes {
        let mut figures = read(write.get(tree, &part.key)?.as_deref());
        figures.add(part, sign);
        match figures.appeals {
            0 => write.remove(tree, &part.key),
            _ => write.insert(tree, &part.key, &encode(&figures)),
        }
    }
    Ok(())
}

/// Stored bytes of figures.
pub fn encode(figures: &Figures) -> Vec<u8> {
    // Plain data into a growing buffer: serialising does not fail.
    postcard::to_allocvec(figures).expect("figures serialise")
}

#[cfg(test)]
mod tests {
    use super::{Figures, Part, Totals};

    #[test]
    fn durations_add_take_away_and_add_up_to_the_same_percentiles() {
        let part = |ms| Part {
            key: vec![],
            reaction_ms: Some(ms),
            resolution_ms: None,
            first_reply_ms: None,
            handling_ms: None,
        };
        let mut day = Figures::default();
        for minutes in 1..=10u64 {
            day.add(&part(minutes * 60_000), 1);
        }
        day.add(&part(600 * 60_000), 1);
        day.add(&part(600 * 60_000), -1);
        assert_eq!(day.appeals, 10);
        let mut totals = Totals::default();
        totals.add_figures(&day, true);
        assert_eq!(totals.reaction.p90_ms(), Some(9.0 * 60_000.0));
        assert_eq!(totals.reaction.average_ms(), Some(5.5 * 60_000.0));
        for minutes in 11..=20u64 {
            totals.add_part(&part(minutes * 60_000));
        }
        assert_eq!((totals.appeals, totals.reaction.count), (20, 20));
        assert_eq!(totals.reaction.p90_ms(), Some(18.0 * 60_000.0));
        assert_eq!(Totals::default().reaction.p90_ms(), None);
        let mut counted = Totals::default();
        counted.add_figures(&day, false);
        assert_eq!((counted.appeals, counted.reaction.count), (10, 0));
    }
}
