//! Durations are the calendar's spans: "30 min", "28 calendar days",
//! "1 working day", "2 hours". The working calendar (`egov-calendar`) owns
//! their syntax; this module only names the one parse the loader uses.

pub use egov_calendar::{Span, Unit};

/// Parses a duration as written in a regulation file.
pub fn parse(text: &str) -> Result<Span, String> {
    text.parse::<Span>().map_err(|error| error.to_string())
}
