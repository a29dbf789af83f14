//! Reading one `regulations/calendar/<year>.toml`, with errors that name the
//! file and the field. The file format is described in
//! `regulations/calendar/README.md`.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use toml::{Table, Value};

use crate::error::CalendarError;

/// Everything one year's data file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearData {
    pub year: i32,
    /// What could not be established for this year, in words.
    pub notes: Option<String>,
    pub sources: Vec<Source>,
    pub holidays: Vec<Holiday>,
    pub transfers: Vec<Transfer>,
}

/// A legal act or publication the year's data rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub title: String,
    pub about: Option<String>,
}

/// A holiday or a religious day off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
    pub kind: HolidayKind,
    /// The date is an estimate (e.g. Kurban ait before the ДУМК announces it).
    pub estimated: bool,
    pub note: Option<String>,
}

/// How the law treats a holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolidayKind {
    /// National holiday (Law «О праздниках», art. 2): a non-working day, moved
    /// to the next working day when it falls on a weekly rest day (art. 5).
    National,
    /// State holiday (same Law, art. 3): treated as a national one.
    State,
    /// A religious day off (Labour Code art. 84 p. 5): a day off whatever the
    /// work regime, never moved.
    Religious,
}

impl HolidayKind {
    /// Whether a weekly rest day that coincides with it gives a day off later.
    pub fn moves_off_rest_days(self) -> bool {
        !matches!(self, HolidayKind::Religious)
    }
}

/// A day off moved by an act: `from` becomes a working day, `to` a day off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub act: String,
}

/// Reads one year's file. `expected_year` comes from the file name, when there is one.
pub(crate) fn parse_year_file(
    file: &str,
    text: &str,
    expected_year: Option<i32>,
) -> Result<YearData, CalendarError> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .and_then(|span| text.get(..span.start))
            .map(|before| before.matches('\n').count() + 1);
        CalendarError::BadDataFile {
            file: file.to_owned(),
            field: line.map_or("(syntax)".to_owned(), |l| format!("line {l}")),
            what: e.message().trim().to_owned(),
        }
    })?;
    let top = Fields {
        file,
        path: String::new(),
        table: &table,
    };
    top.deny_unknown(&["year", "notes", "source", "holiday", "transfer"])?;

    let year = top.required_integer("year")?;
    let year = i32::try_from(year)
        .ok()
        .filter(|y| (1900..=2200).contains(y))
        .ok_or_else(|| top.bad("year", format!("{year} is not a plausible year")))?;
    if let Some(expected) = expected_year
        && expected != year
    {
        return Err(top.bad(
            "year",
            format!("says {year} but the file is named for {expected}"),
        ));
    }
    let notes = top.optional_string("notes")?;

    let mut sources = Vec::new();
    for entry in top.tables("source")? {
        sources.push(Source {
            title: entry.required_string("title")?,
            about: entry.optional_string("about")?,
        });
        entry.deny_unknown(&["title", "about"])?;
    }
    if sources.is_empty() {
        return Err(top.bad(
            "source",
            "at least one [[source]] is required: every year's dates must say where they come from",
        ));
    }

    let mut holidays: Vec<Holiday> = Vec::new();
    let mut holiday_at: BTreeMap<NaiveDate, String> = BTreeMap::new();
    for entry in top.tables("holiday")? {
        entry.deny_unknown(&["date", "name", "kind", "estimated", "note"])?;
        let date = entry.required_date("date")?;
        if date.year() != year {
            return Err(entry.bad("date", format!("{date} is not in {year}")));
        }
        if let Some(earlier) = holiday_at.get(&date) {
            return Err(entry.bad("date", format!("{date} is already given by {earlier}")));
        }
        let kind = match entry.required_string("kind")?.as_str() {
            "national" => HolidayKind::National,
            "state" => HolidayKind::State,
            "religious" => HolidayKind::Religious,
            other => {
                return Err(entry.bad(
                    "kind",
                    format!("unknown kind {other:?}; expected national, state or religious"),
                ));
            }
        };
        holiday_at.insert(date, entry.path.clone());
        holidays.push(Holiday {
            date,
            name: entry.required_string("name")?,
            kind,
            estimated: entry.optional_bool("estimated")?.unwrap_or(false),
            note: entry.optional_string("note")?,
        });
    }
    if holidays.is_empty() {
        return Err(top.bad(
            "holiday",
            "no [[holiday]] entries: a year without holidays is a broken file",
        ));
    }
    holidays.sort_by_key(|h| h.date);

    let mut transfers: Vec<Transfer> = Vec::new();
    for entry in top.tables("transfer")? {
        entry.deny_unknown(&["from", "to", "act"])?;
        let from = entry.required_date("from")?;
        let to = entry.required_date("to")?;
        if !matches!(from.weekday(), Weekday::Sat | Weekday::Sun) {
            return Err(entry.bad(
                "from",
                format!(
                    "{from} is a {:?}: a transfer moves a day off from a Saturday or Sunday",
                    from.weekday()
                ),
            ));
        }
        if matches!(to.weekday(), Weekday::Sat | Weekday::Sun) {
            return Err(entry.bad(
                "to",
                format!(
                    "{to} is a {:?}: a transfer moves a day off onto a weekday",
                    to.weekday()
                ),
            ));
        }
        if to.year() != year {
            return Err(entry.bad("to", format!("{to} is not in {year}")));
        }
        if (from.year() - year).abs() > 1 {
            return Err(entry.bad("from", format!("{from} is too far from {year}")));
        }
        for (field, date) in [("from", from), ("to", to)] {
            if let Some(holiday) = holiday_at.get(&date) {
                return Err(entry.bad(field, format!("{date} is a holiday ({holiday})")));
            }
            if transfers.iter().any(|t| t.from == date || t.to == date) {
                return Err(entry.bad(field, format!("{date} is already in another transfer")));
            }
        }
        transfers.push(Transfer {
            from,
            to,
            act: entry.required_string("act")?,
        });
    }

    Ok(YearData {
        year,
        notes,
        sources,
        holidays,
        transfers,
    })
}

/// A table of the file and where it sits, for error messages.
struct Fields<'a> {
    file: &'a str,
    /// "" for the top level, "holiday[3]" for the third `[[holiday]]`.
    path: String,
    table: &'a Table,
}

impl<'a> Fields<'a> {
    fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn bad(&self, key: &str, what: impl Into<String>) -> CalendarError {
        CalendarError::BadDataFile {
            file: self.file.to_owned(),
            field: self.field_path(key),
            what: what.into(),
        }
    }

    fn deny_unknown(&self, known: &[&str]) -> Result<(), CalendarError> {
        match self.table.keys().find(|k| !known.contains(&k.as_str())) {
            Some(key) => Err(self.bad(
                key,
                format!("unknown field; expected one of: {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn required(&self, key: &str) -> Result<&'a Value, CalendarError> {
        self.table.get(key).ok_or_else(|| self.bad(key, "missing"))
    }

    fn required_string(&self, key: &str) -> Result<String, CalendarError> {
        match self.required(key)? {
            Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
            Value::String(_) => Err(self.bad(key, "is empty")),
            other => Err(self.bad(
                key,
                format!("expected a string, found {}", other.type_str()),
            )),
        }
    }

    fn optional_string(&self, key: &str) -> Result<Option<String>, CalendarError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(_) => self.required_string(key).map(Some),
        }
    }

    fn optional_bool(&self, key: &str) -> Result<Option<bool>, CalendarError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.bad(
                key,
                format!("expected true or false, found {}", other.type_str()),
            )),
        }
    }

    fn required_integer(&self, key: &str) -> Result<i64, CalendarError> {
        match self.required(key)? {
            Value::Integer(i) => Ok(*i),
            other => Err(self.bad(
                key,
                format!("expected an integer, found {}", other.type_str()),
            )),
        }
    }

    /// A TOML local date (`2025-03-08`) or a string holding one.
    fn required_date(&self, key: &str) -> Result<NaiveDate, CalendarError> {
        let expected = "expected a date such as 2025-03-08";
        match self.required(key)? {
            Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                        .ok_or_else(|| self.bad(key, format!("{dt} is not a real date")))
                }
                _ => Err(self.bad(key, format!("{expected} (a date alone), found {dt}"))),
            },
            Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| self.bad(key, format!("{expected}, found {s:?}"))),
            other => Err(self.bad(key, format!("{expected}, found {}", other.type_str()))),
        }
    }

    /// The entries of an array of tables (`[[holiday]]`), counted from 1.
    fn tables(&self, key: &str) -> Result<Vec<Fields<'a>>, CalendarError> {
        let Some(value) = self.table.get(key) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(self.bad(
                key,
                format!("expected [[{key}]] tables, found {}", value.type_str()),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let path = format!("{}[{}]", self.field_path(key), index + 1);
                match item {
                    Value::Table(table) => Ok(Fields {
                        file: self.file,
                        path,
                        table,
                    }),
                    other => Err(CalendarError::BadDataFile {
                        file: self.file.to_owned(),
                        field: path,
                        what: format!("expected a table, found {}", other.type_str()),
                    }),
                }
            })
            .collect()
    }
}
