//! A length of time as the regulations write it: "30 min", "5 working days".

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CalendarError;

/// The unit a regulation counts a period in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Minutes of working time.
    Minutes,
    /// Hours of working time (60 working minutes each).
    Hours,
    /// Working days of the schedule.
    WorkingDays,
    /// Calendar days; a period ending on a non-working day ends on the next working day.
    CalendarDays,
    /// Seconds of working time. Added to the contract so that the seeds'
    /// "1,5 минут" can be written exactly: "1.5 min" reads as 90 seconds.
    Seconds,
}

impl Unit {
    /// Seconds of working time in one unit, for the units counted in working time.
    pub(crate) fn working_seconds(self) -> Option<u64> {
        match self {
            Unit::Seconds => Some(1),
            Unit::Minutes => Some(60),
            Unit::Hours => Some(3600),
            Unit::WorkingDays | Unit::CalendarDays => None,
        }
    }
}

/// A period: an amount and its unit. Reads from "30 min", "2 hours",
/// "5 working days", "28 calendar days", "1.5 min" (= 90 s), or, in serde, also from
/// a table `{ amount = 5, unit = "working_days" }`. Serialises as the string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub amount: u32,
    pub unit: Unit,
}

impl Span {
    pub const fn new(amount: u32, unit: Unit) -> Self {
        Span { amount, unit }
    }
    pub const fn minutes(amount: u32) -> Self {
        Span::new(amount, Unit::Minutes)
    }
    pub const fn hours(amount: u32) -> Self {
        Span::new(amount, Unit::Hours)
    }
    pub const fn working_days(amount: u32) -> Self {
        Span::new(amount, Unit::WorkingDays)
    }
    pub const fn calendar_days(amount: u32) -> Self {
        Span::new(amount, Unit::CalendarDays)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.amount;
        let one = n == 1;
        match self.unit {
            Unit::Seconds => write!(f, "{n} s"),
            Unit::Minutes => write!(f, "{n} min"),
            Unit::Hours => write!(f, "{n} {}", if one { "hour" } else { "hours" }),
            Unit::WorkingDays => write!(f, "{n} working {}", if one { "day" } else { "days" }),
            Unit::CalendarDays => write!(f, "{n} calendar {}", if one { "day" } else { "days" }),
        }
    }
}

impl FromStr for Span {
    type Err = CalendarError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |what: &str| CalendarError::BadSpan {
            input: input.to_owned(),
            what: what.to_owned(),
        };
        let text = input.trim();
        let number_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(text.len());
        let (number, unit_words) = text.split_at(number_end);
        if number.is_empty() {
            return Err(bad("expected a number first, as in \"30 min\""));
        }
        // "working_days" (the serde name) and "working  days" read the same.
        let unit_words = unit_words
            .replace('_', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let unit = match unit_words.as_str() {
            "s" | "sec" | "second" | "seconds" => Unit::Seconds,
            "min" | "mins" | "minute" | "minutes" => Unit::Minutes,
            "h" | "hour" | "hours" => Unit::Hours,
            "working day" | "working days" => Unit::WorkingDays,
            "calendar day" | "calendar days" => Unit::CalendarDays,
            "day" | "days" => {
                return Err(bad(
                    "say \"working days\" or \"calendar days\": the regulations use both",
                ));
            }
            "" => return Err(bad("the unit is missing, as in \"30 min\"")),
            _ => {
                return Err(bad(
                    "unknown unit; expected s, min, hours, working days or calendar days",
                ));
            }
        };
        let (whole, fraction) = match number.split_once(['.', ',']) {
            Some((whole, fraction)) => (whole, fraction),
            None => (number, ""),
        };
        if whole.is_empty() || fraction.contains(['.', ',']) {
            return Err(bad("the number is not well formed"));
        }
        let too_big = || bad("the amount is too large");
        let whole: u64 = whole.parse().map_err(|_| too_big())?;
        if fraction.is_empty() {
            let amount = u32::try_from(whole).map_err(|_| too_big())?;
            return Ok(Span::new(amount, unit));
        }
        // A fractional amount is kept exact by moving to a smaller unit.
        let unit_seconds = unit
            .working_seconds()
            .ok_or_else(|| bad("days cannot be fractional"))?;
        let digits = u32::try_from(fraction.len()).map_err(|_| too_big())?;
        let scale = 10u64.checked_pow(digits).ok_or_else(too_big)?;
        let fraction: u64 = fraction.parse().map_err(|_| too_big())?;
        let scaled_seconds = fraction.checked_mul(unit_seconds).ok_or_else(too_big)?;
        if scaled_seconds % scale != 0 {
            return Err(bad("the amount is not a whole number of seconds"));
        }
        let seconds = whole
            .checked_mul(unit_seconds)
            .and_then(|s| s.checked_add(scaled_seconds / scale))
            .ok_or_else(too_big)?;
        let span = if seconds % 60 == 0 {
            Span::new(
                u32::try_from(seconds / 60).map_err(|_| too_big())?,
                Unit::Minutes,
            )
        } else {
            Span::new(
                u32::try_from(seconds).map_err(|_| too_big())?,
                Unit::Seconds,
            )
        };
        Ok(span)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SpanVisitor)
    }
}

struct SpanVisitor;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanTable {
    amount: u32,
    unit: Unit,
}

impl<'de> Visitor<'de> for SpanVisitor {
    type Value = Span;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a span such as \"30 min\" or \"5 working days\", or a table { amount, unit }")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Span, E> {
        value.parse().map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Span, A::Error> {
        let table = SpanTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Span::new(table.amount, table.unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_the_regulations_use() {
        let cases = [
            ("30 min", Span::minutes(30)),
            ("30 minutes", Span::minutes(30)),
            ("2 hours", Span::hours(2)),
            ("1 hour", Span::hours(1)),
            ("5 working days", Span::working_days(5)),
            ("1 working day", Span::working_days(1)),
            ("28 calendar days", Span::calendar_days(28)),
            ("  28   Calendar   Days ", Span::calendar_days(28)),
            ("5 working_days", Span::working_days(5)),
            ("1.5 min", Span::new(90, Unit::Seconds)),
            ("1,5 min", Span::new(90, Unit::Seconds)),
            ("1.5 hours", Span::minutes(90)),
            ("90 s", Span::new(90, Unit::Seconds)),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Span>().unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn display_reads_back() {
        for span in [
            Span::minutes(30),
            Span::hours(1),
            Span::hours(2),
            Span::working_days(1),
            Span::working_days(5),
            Span::calendar_days(28),
            Span::new(90, Unit::Seconds),
        ] {
            assert_eq!(span.to_string().parse::<Span>().unwrap(), span);
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        for text in [
            "",
            "min",
            "5 days",
            "5",
            "5 weeks",
            "1.5 working days",
            "0.001 s",
            "1..5 min",
            "99999999999 min",
        ] {
            let err = text.parse::<Span>().unwrap_err();
            assert!(
                matches!(err, CalendarError::BadSpan { .. }),
                "{text}: {err}"
            );
        }
        let err = "5 days".parse::<Span>().unwrap_err().to_string();
        assert!(err.contains("working days"), "{err}");
    }

    #[test]
    fn deserialises_from_a_string_or_a_table() {
        #[derive(Deserialize)]
        struct Step {
            a: Span,
            b: Span,
        }
        let step: Step =
            toml::from_str("a = \"30 min\"\nb = { amount = 5, unit = \"working_days\" }\n")
                .unwrap();
        assert_eq!(step.a, Span::minutes(30));
        assert_eq!(step.b, Span::working_days(5));

        let err = toml::from_str::<Step>("a = \"5 days\"\nb = \"1 min\"\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("calendar days"), "{err}");
    }
}
