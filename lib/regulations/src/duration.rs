//! Durations are the calendar's spans: "30 min", "28 calendar days",
//! "1 working day", "2 hours". The working calendar (`egov-calendar`) owns
//! their syntax; this module only names the one parse the loader uses.
//!
//! A channel's limits may also be calendar months ("1 calendar month"): the
//! seeds keep an unclaimed result "one month" (seed 002 p.11, seed 003 §10),
//! which is the same date of the next month, not 30 days.

use chrono::{Months, NaiveDate, NaiveDateTime};

pub use egov_calendar::{Span, Unit};

/// Parses a duration as written in a regulation file.
pub fn parse(text: &str) -> Result<Span, String> {
    text.parse::<Span>().map_err(|error| error.to_string())
}

/// A limit's length: a calendar span or a number of calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Span(Span),
    CalendarMonths(u32),
}

impl Period {
    /// The moment `months` calendar months after `start` (local time), or
    /// `None` for a span, which the working calendar counts instead.
    pub fn months_after(self, start: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Period::CalendarMonths(months) => {
                Some(add_calendar_months(start.date(), months)?.and_time(start.time()))
            }
            Period::Span(_) => None,
        }
    }
}

/// Parses a limit: a span, or "1 calendar month", "2 calendar months" (also
/// "1 month").
pub fn parse_period(text: &str) -> Result<Period, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let months = match words.as_slice() {
        [n, "calendar", "month" | "months"] | [n, "month" | "months"] => Some(*n),
        _ => None,
    };
    match months {
        Some(n) => n
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .map(Period::CalendarMonths)
            .ok_or_else(|| format!("`{n}` is not a whole number of months")),
        None => parse(text).map(Period::Span),
    }
}

/// The same date `months` later; where that month is shorter, its last day
/// (31 January + 1 month = 28 or 29 February).
pub fn add_calendar_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    // chrono clamps to the last day of a shorter month.
    date.checked_add_months(Months::new(months))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
    }

    #[test]
    fn a_calendar_month_is_the_same_date_of_the_next_month() {
        assert_eq!(
            add_calendar_months(date(2026, 1, 15), 1),
            Some(date(2026, 2, 15))
        );
        assert_eq!(
            add_calendar_months(date(2026, 2, 28), 1),
            Some(date(2026, 3, 28))
        );
        assert_eq!(
            add_calendar_months(date(2028, 2, 29), 1),
            Some(date(2028, 3, 29))
        );
        assert_eq!(
            add_calendar_months(date(2026, 12, 31), 1),
            Some(date(2027, 1, 31))
        );
    }

    #[test]
    fn a_calendar_month_ends_on_the_last_day_of_a_shorter_month() {
        assert_eq!(
            add_calendar_months(date(2026, 1, 31), 1),
            Some(date(2026, 2, 28))
        );
        assert_eq!(
            add_calendar_months(date(2028, 1, 31), 1),
            Some(date(2028, 2, 29))
        );
        assert_eq!(
            add_calendar_months(date(2026, 3, 31), 1),
            Some(date(2026, 4, 30))
        );
        assert_eq!(
            add_calendar_months(date(2026, 1, 31), 2),
            Some(date(2026, 3, 31))
        );
    }

    #[test]
    fn months_parse_and_keep_the_time_of_day() {
        assert_eq!(
            parse_period("1 calendar month"),
            Ok(Period::CalendarMonths(1))
        );
        assert_eq!(parse_period("1 month"), Ok(Period::CalendarMonths(1)));
        assert_eq!(
            parse_period("2 calendar months"),
            Ok(Period::CalendarMonths(2))
        );
        assert_eq!(
            parse_period("1 working day"),
            Ok(Period::Span(Span::working_days(1)))
        );
        assert!(parse_period("0 calendar months").is_err());
        assert!(parse_period("one month").is_err());
        assert!(parse_period("1 lunar month").is_err());
        let arrived = date(2026, 1, 31).and_hms_opt(10, 30, 0).expect("a time");
        assert_eq!(
            Period::CalendarMonths(1).months_after(arrived),
            Some(date(2026, 2, 28).and_hms_opt(10, 30, 0).expect("a time"))
        );
        assert_eq!(Period::Span(Span::minutes(5)).months_after(arrived), None);
    }
}
