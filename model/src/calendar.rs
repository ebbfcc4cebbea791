//! Working time: weekdays, hours and days off in a [`Zone`] — a region's IANA time zone
//! (`Asia/Vladivostok`, through `jiff` and its bundled time-zone database) or the directory's
//! fixed offset from UTC. Whether an instant falls in working time (assignment: who works
//! now), how much working time lies between two instants, and when a span of working time
//! starting at an instant ends (SLA clocks in business hours). Instants are milliseconds since
//! the Unix epoch.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

/// Working hours: which weekdays (1 = Monday … 7 = Sunday) and from when to when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// Weekdays, 1 = Monday … 7 = Sunday (default Monday to Friday).
    #[serde(default = "weekdays")]
    pub days: Vec<u8>,
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM` (after the start).
    pub end: String,
}

fn weekdays() -> Vec<u8> {
    vec![1, 2, 3, 4, 5]
}

impl Hours {
    /// (start, end) in minutes after midnight, when both parse and start < end.
    pub fn minutes(&self) -> Option<(u32, u32)> {
        let parse = |t: &str| {
            let (h, m) = t.split_once(':')?;
            let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
        };
        let (start, end) = (parse(&self.start)?, parse(&self.end)?);
        (start < end).then_some((start, end))
    }
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.trim().splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = Month::try_from(parts.next()?.parse::<u8>().ok()?).ok()?;
    let day = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// Where local time is reckoned.
#[derive(Debug, Clone)]
pub enum Zone {
    /// A fixed offset from UTC, in minutes (the directory's `utc_offset_minutes`).
    Offset(i32),
    /// An IANA time zone (a region's `time_zone`).
    Named(jiff::tz::TimeZone),
}

impl Zone {
    /// The zone named `name` (an IANA name such as `Europe/Kaliningrad`), if it exists.
    pub fn named(name: &str) -> Option<Zone> {
        jiff::tz::TimeZone::get(name).ok().map(Zone::Named)
    }

    /// The local date of an instant.
    pub fn date_at(&self, ms: u64) -> Date {
        match self {
            Zone::Offset(minutes) => {
                let offset = UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(UtcOffset::UTC);
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                    .to_offset(offset)
                    .date()
            }
            Zone::Named(tz) => {
                let at = jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX))
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                    .to_zoned(tz.clone());
                let month = Month::try_from(u8::try_from(at.month()).unwrap_or(1)).unwrap_or(Month::January);
                Date::from_calendar_date(i32::from(at.year()), month, u8::try_from(at.day()).unwrap_or(1))
                    .unwrap_or(Date::MIN)
            }
        }
    }

    /// The local time of day of an instant, in minutes after midnight.
    pub fn minute_of_day(&self, ms: u64) -> u32 {
        let midnight = self.midnight(self.date_at(ms));
        u32::try_from((i64::try_from(ms).unwrap_or(i64::MAX) - midnight) / 60_000).unwrap_or(0).min(1439)
    }

    /// The instant (ms since the epoch) a local date begins.
    fn midnight(&self, date: Date) -> i64 {
        match self {
            Zone::Offset(minutes) => {
                let offset = UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(UtcOffset::UTC);
                date.midnight().assume_offset(offset).unix_timestamp() * 1000
            }
            Zone::Named(tz) => {
                let civil = jiff::civil::date(
                    i16::try_from(date.year()).unwrap_or(1970),
                    i8::try_from(u8::from(date.month())).unwrap_or(1),
                    i8::try_from(date.day()).unwrap_or(1),
                );
                civil.to_zoned(tz.clone()).map(|z| z.timestamp().as_millisecond()).unwrap_or(0)
            }
        }
    }
}

/// The local date of an instant at a fixed offset from UTC.
pub fn date_at(ms: u64, utc_offset_minutes: i32) -> Date {
    Zone::Offset(utc_offset_minutes).date_at(ms)
}

/// A working calendar: hours, days off, where local time is reckoned.
pub struct Calendar<'a> {
    /// Working hours.
    pub hours: &'a Hours,
    /// Days off (`YYYY-MM-DD`).
    pub days_off: &'a [String],
    /// The local time of the hours and days.
    pub zone: Zone,
}

impl Calendar<'_> {
    fn local_date(&self, ms: u64) -> Date {
        self.zone.date_at(ms)
    }

    /// The working window of `date` as instants, if it is a working day.
    fn window(&self, date: Date) -> Option<(u64, u64)> {
        let weekday = date.weekday().number_from_monday();
        if !self.hours.days.contains(&weekday) || self.days_off.iter().any(|d| parse_date(d) == Some(date)) {
            return None;
        }
        let (start, end) = self.hours.minutes()?;
        let midnight = self.zone.midnight(date);
        let at = |minutes: u32| u64::try_from(midnight + i64::from(minutes) * 60_000).unwrap_or(0);
        Some((at(start), at(end)))
    }

    /// Whether `ms` is working time.
    pub fn is_working(&self, ms: u64) -> bool {
        self.window(self.local_date(ms)).is_some_and(|(start, end)| (start..end).contains(&ms))
    }

    /// Working milliseconds in `[from, to)`.
    pub fn working_between(&self, from: u64, to: u64) -> u64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut date = self.local_date(from);
        let last = self.local_date(to);
        while date <= last {
            if let Some((start, end)) = self.window(date) {
                total += end.min(to).saturating_sub(start.max(from));
            }
            date += Duration::DAY;
        }
        total
    }

    /// The instant at which `span` milliseconds of working time starting at `from` are used up
    /// (within ten years; else `u64::MAX`).
    pub fn after_working(&self, from: u64, span: u64) -> u64 {
        let mut left = span;
        let mut date = self.local_date(from);
        for _ in 0..3660 {
            if let Some((start, end)) = self.window(date) {
                let begin = start.max(from);
                if begin < end {
                    if end - begin >= left {
                        return begin + left;
                    }
                    left -= end - begin;
                }
            }
            date += Duration::DAY;
        }
        u64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> Hours {
        Hours { days: vec![1, 2, 3, 4, 5], start: "09:00".into(), end: "18:00".into() }
    }

    /// 2026-11-23 is a Monday; Moscow is UTC+3.
    fn msk(date: &str, hh: i64, mm: i64) -> u64 {
        let date = parse_date(date).unwrap();
        let midnight =
            date.midnight().assume_offset(UtcOffset::from_hms(3, 0, 0).unwrap()).unix_timestamp() * 1000;
        (midnight + (hh * 60 + mm) * 60_000) as u64
    }

    #[test]
    fn working_time_follows_days_hours_offset_and_days_off() {
        let hours = hours();
        let off = vec!["2026-11-24".to_string()];
        let cal = Calendar { hours: &hours, days_off: &off, zone: Zone::Offset(180) };
        assert!(cal.is_working(msk("2026-11-23", 9, 0)));
        assert!(!cal.is_working(msk("2026-11-23", 18, 0)));
        assert!(!cal.is_working(msk("2026-11-23", 8, 59)));
        assert!(!cal.is_working(msk("2026-11-24", 12, 0)), "a day off");
        assert!(!cal.is_working(msk("2026-11-28", 12, 0)), "Saturday");
    }

    #[test]
    fn spans_of_business_time_skip_nights_weekends_and_holidays() {
        let hours = hours();
        let off = vec!["2026-11-30".to_string()];
        let cal = Calendar { hours: &hours, days_off: &off, zone: Zone::Offset(180) };
        // Friday 17:30 + 60 business minutes → Tuesday 09:30 (weekend, then a Monday off).
        let due = cal.after_working(msk("2026-11-27", 17, 30), 60 * 60_000);
        assert_eq!(due, msk("2026-12-01", 9, 30));
        assert_eq!(cal.working_between(msk("2026-11-27", 17, 30), due), 60 * 60_000);
        // Received at night: the clock starts at 09:00.
        assert_eq!(cal.after_working(msk("2026-11-23", 2, 0), 30 * 60_000), msk("2026-11-23", 9, 30));
        assert_eq!(cal.working_between(msk("2026-11-23", 8, 0), msk("2026-11-23", 10, 0)), 60 * 60_000);
    }

    #[test]
    fn a_named_zone_reckons_local_time_in_that_zone() {
        let hours = hours();
        let moscow = Calendar { hours: &hours, days_off: &[], zone: Zone::named("Europe/Moscow").unwrap() };
        let vladivostok =
            Calendar { hours: &hours, days_off: &[], zone: Zone::named("Asia/Vladivostok").unwrap() };
        // Tuesday 2026-12-01 11:30 in Moscow is 18:30 in Vladivostok (UTC+10).
        let at = msk("2026-12-01", 11, 30);
        assert!(moscow.is_working(at) && !vladivostok.is_working(at));
        assert_eq!(moscow.after_working(at, 60 * 60_000), msk("2026-12-01", 12, 30));
        // In Vladivostok the hour starts at 09:00 next morning, 02:00 in Moscow.
        assert_eq!(vladivostok.after_working(at, 60 * 60_000), msk("2026-12-02", 3, 0));
        assert!(Zone::named("Mars/Olympus_Mons").is_none());
    }
}
