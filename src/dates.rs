//! Usage dates as Azure writes them.
//!
//! Takes a date cell in any form seen in real exports (`09/21/2023`, `9/2/2023`, `2019-07-28 00:00:00`, `2021-02-02`,
//! `2024-01-01T00:00Z`, `2024-01-01T00:00:00Z`, `2024-09-01 00:00:00`) and gives a calendar [`Date`]; a [`Month`] is a
//! `YYYY-MM`. A time of day is checked for form but not kept: cost exports are daily, and FOCUS's
//! `ChargePeriodStart` is the start of the charge's day. The cell is split into numbers by hand (the row path reads
//! tens of millions of them); every calendar rule (which days a month has, leap years, the day before and after, month
//! arithmetic) is chrono's: `02/30/2026` is refused because chrono has no such day.

use chrono::{Datelike, Months, NaiveDate};
use std::fmt;

/// A calendar day.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// A billing month, `YYYY-MM`.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Month {
    pub year: u16,
    pub month: u8,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let b = text.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return None;
        }
        let year = digits(&b[0..4])? as u16;
        let month = digits(&b[5..7])? as u8;
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The month's first day, as chrono's date.
    pub fn first_day(self) -> NaiveDate {
        // A Month is built from a valid month number and a four-digit year: chrono has its first day.
        NaiveDate::from_ymd_opt(i32::from(self.year), u32::from(self.month), 1).unwrap_or(NaiveDate::MIN)
    }

    fn from_naive(d: NaiveDate) -> Month {
        Month { year: d.year().clamp(0, i32::from(u16::MAX)) as u16, month: d.month() as u8 }
    }

    /// The month before this one.
    pub fn previous(self) -> Month {
        self.first_day().checked_sub_months(Months::new(1)).map(Month::from_naive).unwrap_or(self)
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        self.first_day().checked_add_months(Months::new(1)).map(Month::from_naive).unwrap_or(self)
    }

    pub fn days(self) -> u8 {
        days_in_month(self.year, self.month)
    }

    /// Its day `day`, kept within the month (0 is the 1st, 31 the last day of a shorter month).
    pub fn day(self, day: u8) -> Date {
        Date { year: self.year, month: self.month, day: day.clamp(1, self.days()) }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Date {
    /// The day, when chrono's calendar has it (and it is in 1900 or later).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
            .filter(|_| year >= 1900)
            .map(|_| Date { year, month, day })
    }

    /// The day as chrono's date.
    pub fn naive(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(i32::from(self.year), u32::from(self.month), u32::from(self.day))
            .unwrap_or(NaiveDate::MIN)
    }

    fn from_naive(d: NaiveDate) -> Option<Date> {
        Date::new(u16::try_from(d.year()).ok()?, d.month() as u8, d.day() as u8)
    }

    pub fn month(self) -> Month {
        Month { year: self.year, month: self.month }
    }

    /// The day before.
    pub fn pred(self) -> Option<Date> {
        self.naive().pred_opt().and_then(Date::from_naive)
    }

    /// The next day.
    pub fn succ(self) -> Option<Date> {
        self.naive().succ_opt().and_then(Date::from_naive)
    }

    /// Parses every date form listed in the module comment. `None` for anything else.
    pub fn parse(text: &str) -> Option<Date> {
        let s = text.trim();
        let b = s.as_bytes();
        if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
            let date = Date::new(digits(&b[0..4])? as u16, digits(&b[5..7])? as u8, digits(&b[8..10])? as u8)?;
            let rest = &s[10..];
            if rest.is_empty() || valid_time(rest) {
                return Some(date);
            }
            return None;
        }
        // M/d/yyyy or MM/dd/yyyy, with an optional time after a space.
        let (day_part, time_part) = match s.find(' ') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        if !time_part.is_empty() && !valid_time(time_part) {
            return None;
        }
        let mut parts = day_part.split('/');
        let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 || y.len() != 4 {
            return None;
        }
        Date::new(digits(y.as_bytes())? as u16, digits(m.as_bytes())? as u8, digits(d.as_bytes())? as u8)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    let mut n = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u32;
    }
    Some(n)
}

/// ` 00:00:00`, `T00:00Z`, `T00:00:00Z`, `T00:00:00.000+00:00`, ` 12:00:00 AM` (Excel).
fn valid_time(rest: &str) -> bool {
    let b = rest.as_bytes();
    if b.is_empty() || (b[0] != b' ' && b[0] != b'T') {
        return false;
    }
    let mut t = rest[1..].trim_end();
    for suffix in [" AM", " PM", " am", " pm"] {
        if let Some(x) = t.strip_suffix(suffix) {
            t = x;
        }
    }
    if let Some(x) = t.strip_suffix('Z') {
        t = x;
    } else if t.len() > 6 && t.is_char_boundary(t.len() - 6) {
        let (head, zone) = t.split_at(t.len() - 6);
        let z = zone.as_bytes();
        if (z[0] == b'+' || z[0] == b'-') && z[3] == b':' && digits(&z[1..3]).is_some() && digits(&z[4..6]).is_some() {
            t = head;
        }
    }
    let (hms, frac) = match t.find('.') {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, "0"),
    };
    if digits(frac.as_bytes()).is_none() && !frac.is_empty() {
        return false;
    }
    let fields: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&fields.len()) {
        return false;
    }
    let limits = [23u32, 59, 60];
    fields
        .iter()
        .zip(limits)
        .all(|(f, max)| (1..=2).contains(&f.len()) && digits(f.as_bytes()).is_some_and(|v| v <= max))
}

/// How many days a month has, by chrono's calendar (0 for a month number that isn't one).
fn days_in_month(year: u16, month: u8) -> u8 {
    NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), 1)
        .and_then(|first| first.checked_add_months(Months::new(1)))
        .and_then(|next| next.pred_opt())
        .map(|last| last.day() as u8)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form() {
        let d = |y, m, d| Some(Date { year: y, month: m, day: d });
        assert_eq!(Date::parse("09/21/2023"), d(2023, 9, 21));
        assert_eq!(Date::parse("9/2/2023"), d(2023, 9, 2));
        assert_eq!(Date::parse("2019-07-28 00:00:00"), d(2019, 7, 28));
        assert_eq!(Date::parse("2021-02-02"), d(2021, 2, 2));
        assert_eq!(Date::parse("2024-01-01T00:00Z"), d(2024, 1, 1));
        assert_eq!(Date::parse("2024-01-01T00:00:00Z"), d(2024, 1, 1));
        assert_eq!(Date::parse("2024-09-01 00:00:00"), d(2024, 9, 1));
        assert_eq!(Date::parse("2024-09-01T00:00:00.0000000+00:00"), d(2024, 9, 1));
        assert_eq!(Date::parse("9/2/2023 12:00:00 AM"), d(2023, 9, 2));
        assert_eq!(Date::parse("2024-02-29"), d(2024, 2, 29));
    }

    #[test]
    fn a_multibyte_character_in_the_time_is_not_a_date() {
        assert_eq!(Date::parse("2026-09-01T00:00€abcde"), None);
        assert_eq!(Date::parse("09/01/2026 00:00€ab"), None);
    }

    #[test]
    fn rejects_non_dates() {
        for bad in
            ["", "2023-02-30", "13/01/2023", "2023-9-1", "21.09.2023", "2023-09-01X", "09/21/23", "2023-09-01 25:00"]
        {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_calendar_rules() {
        // Century years are leap years only when divisible by 400.
        assert_eq!(Date::parse("02/29/2100"), None);
        assert_eq!(Date::parse("2100-02-29"), None);
        assert_eq!(Date::parse("02/29/1900"), None);
        assert!(Date::parse("02/29/2000").is_some());
        assert!(Date::parse("02/29/2024").is_some());
        assert_eq!(Date::parse("02/29/2023"), None);
        assert_eq!(Date::parse("04/31/2026"), None);
        assert!(Date::parse("12/31/2026").is_some());
        // Hours run to 23 and minutes to 59 (a leap second is allowed).
        for bad in ["2023-09-01 24:00", "2023-09-01T24:00:00Z", "2023-09-01 23:60", "9/2/2023 24:00:00"] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert!(Date::parse("2023-09-01 23:59:60").is_some());
        // The day after.
        let next = |t: &str| Date::parse(t).and_then(Date::succ).map(|d| d.to_string());
        assert_eq!(next("2026-01-31").as_deref(), Some("2026-02-01"));
        assert_eq!(next("2024-02-28").as_deref(), Some("2024-02-29"));
        assert_eq!(next("2026-12-31").as_deref(), Some("2027-01-01"));
        let before = |t: &str| Date::parse(t).and_then(Date::pred).map(|d| d.to_string());
        assert_eq!(before("2026-03-01").as_deref(), Some("2026-02-28"));
        assert_eq!(before("2024-03-01").as_deref(), Some("2024-02-29"));
        assert_eq!(before("2027-01-01").as_deref(), Some("2026-12-31"));
        assert_eq!(before("2026-05-17").as_deref(), Some("2026-05-16"));
    }

    #[test]
    fn months() {
        assert_eq!(Month::parse("2026-01").unwrap().previous().to_string(), "2025-12");
        assert_eq!(Month::parse("2026-12").unwrap().next().to_string(), "2027-01");
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(Month::parse("2026-00"), None);
        assert_eq!(Month::parse("2026/01"), None);
        assert_eq!(Month::parse("2026-1"), None);
        assert_eq!(Month::parse("2026-011"), None);
        assert_eq!(Month::parse("202a-01"), None);
        assert_eq!(Month::parse("2026-01").map(|m| (m.year, m.month)), Some((2026, 1)));
        assert_eq!(Month::parse("2024-02").unwrap().days(), 29);
        assert_eq!(Month::parse("2100-02").unwrap().days(), 28);
    }
}
