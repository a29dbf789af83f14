//! The calendar itself: which days are working days for each schedule, and
//! when a period ends.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;

use crate::data::{HolidayKind, YearData, parse_year_file};
use crate::error::CalendarError;
use crate::schedule::Schedule;
use crate::schedule::{Week, Window};
use crate::span::{Span, Unit};

/// The zone every deadline is computed in. The real zone, not a fixed
/// offset: Almaty was UTC+6 until 1 March 2024 and is UTC+5 since.
pub const TIME_ZONE: Tz = chrono_tz::Asia::Almaty;

/// The data files compiled into the crate; `embedded_files_match_the_directory`
/// checks this list against `regulations/calendar/`.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "2023.toml",
        include_str!("../../../regulations/calendar/2023.toml"),
    ),
    (
        "2024.toml",
        include_str!("../../../regulations/calendar/2024.toml"),
    ),
    (
        "2025.toml",
        include_str!("../../../regulations/calendar/2025.toml"),
    ),
    (
        "2026.toml",
        include_str!("../../../regulations/calendar/2026.toml"),
    ),
    (
        "2027.toml",
        include_str!("../../../regulations/calendar/2027.toml"),
    ),
];

/// What a day is for a schedule, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    /// An ordinary working day of the schedule's week.
    WorkingDay,
    /// A rest day of the schedule's week (Saturday and Sunday, or Sunday only).
    WeeklyRestDay,
    /// A national or state holiday.
    Holiday { name: String },
    /// The first day of Kurban ait or Orthodox Christmas (Labour Code art. 84 p. 5).
    ReligiousDayOff { name: String },
    /// The working day after a holiday that fell on a weekly rest day (Law «О праздниках», art. 5).
    DayOffForHoliday { holiday: NaiveDate, name: String },
    /// A working day made a day off by a transfer; `from` is the rest day it came from.
    TransferredDayOff { from: NaiveDate, act: String },
    /// A rest day made a working day by a transfer; `to` is where the day off went.
    TransferredWorkingDay { to: NaiveDate, act: String },
}

impl DayKind {
    pub fn is_working(&self) -> bool {
        matches!(
            self,
            DayKind::WorkingDay | DayKind::TransferredWorkingDay { .. }
        )
    }
}

/// The working calendar: holidays and transfers per year, and the working
/// days they give each schedule. See the crate docs for the rules.
#[derive(Debug, Clone)]
pub struct Calendar {
    years: BTreeMap<i32, YearData>,
    five_day: BTreeMap<NaiveDate, DayKind>,
    six_day: BTreeMap<NaiveDate, DayKind>,
}

impl Calendar {
    /// The data files compiled into the crate (`regulations/calendar/*.toml`).
    ///
    /// The compiled-in files are checked by this crate's tests, so this does
    /// not fail in a tested build; use [`Calendar::try_embedded`] to get the
    /// error instead of a panic.
    pub fn embedded() -> Calendar {
        match Self::try_embedded() {
            Ok(calendar) => calendar,
            Err(e) => panic!("the compiled-in calendar data is broken: {e}"),
        }
    }

    /// The compiled-in data files, with any error returned.
    pub fn try_embedded() -> Result<Calendar, CalendarError> {
        let years = EMBEDDED
            .iter()
            .map(|(name, text)| parse_year_file(name, text, year_of_file_name(name)))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_years(years)
    }

    /// The same files read at run time from `dir`: every `<year>.toml` in it.
    /// Other files (a README) are ignored; a `.toml` not named for a year is an error.
    pub fn from_dir(dir: &Path) -> Result<Calendar, CalendarError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| CalendarError::Io { path, source }
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("toml") {
                files.push(path);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(CalendarError::NoDataFiles(dir.to_owned()));
        }
        let mut years = Vec::new();
        for path in files {
            let name = path.display().to_string();
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some(year) = year_of_file_name(file_name) else {
                return Err(CalendarError::BadDataFile {
                    file: name,
                    field: "(file name)".to_owned(),
                    what: "calendar files are named <year>.toml, e.g. 2025.toml".to_owned(),
                });
            };
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            years.push(parse_year_file(&name, &text, Some(year))?);
        }
        Self::from_years(years)
    }

    /// Builds the calendar from parsed years and works out each week's days off.
    fn from_years(years: Vec<YearData>) -> Result<Calendar, CalendarError> {
        let mut by_year = BTreeMap::new();
        for data in years {
            if by_year.contains_key(&data.year) {
                return Err(CalendarError::BadDataFile {
                    file: format!("{}.toml", data.year),
                    field: "year".to_owned(),
                    what: "the year is given twice".to_owned(),
                });
            }
            by_year.insert(data.year, data);
        }
        let five_day = special_days(&by_year, Week::FiveDay);
        let six_day = special_days(&by_year, Week::SixDay);
        Ok(Calendar {
            years: by_year,
            five_day,
            six_day,
        })
    }

    /// The years this calendar has data for.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// One year's data: holidays, transfers, sources and notes.
    pub fn year(&self, year: i32) -> Option<&YearData> {
        self.years.get(&year)
    }

    /// What `date` is for `schedule`, with the reason.
    pub fn day_kind(&self, date: NaiveDate, schedule: Schedule) -> Result<DayKind, CalendarError> {
        self.require_year(date.year())?;
        let week = schedule.week();
        if let Some(kind) = self.special(week).get(&date) {
            return Ok(kind.clone());
        }
        Ok(if week.is_weekly_rest_day(date.weekday()) {
            DayKind::WeeklyRestDay
        } else {
            DayKind::WorkingDay
        })
    }

    /// Whether `date` is a working day for `schedule`.
    ///
    /// Returns a `Result` (the contract had `bool`): a date outside the loaded
    /// years is an error, not a guess.
    pub fn is_working_day(
        &self,
        date: NaiveDate,
        schedule: Schedule,
    ) -> Result<bool, CalendarError> {
        self.require_year(date.year())?;
        let week = schedule.week();
        Ok(match self.special(week).get(&date) {
            Some(kind) => kind.is_working(),
            None => !week.is_weekly_rest_day(date.weekday()),
        })
    }

    /// The moment work can start on a request made at `at`: `at` itself in
    /// working time, else the start of the next stretch of working time
    /// (after lunch, the next morning, the next working day).
    ///
    /// Returns a `Result` (the contract had a bare value): the search may run
    /// past the loaded years.
    pub fn next_working_moment(
        &self,
        at: DateTime<Utc>,
        schedule: Schedule,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let local = at.with_timezone(&TIME_ZONE).naive_local();
        local_to_utc(self.next_working_local(local, schedule)?)
    }

    /// When a period of `span` that starts at `start` ends, on `schedule`'s
    /// working time. `intake_day_counts == false` means "the day of intake is
    /// not counted". The rules are in the crate docs.
    pub fn due(
        &self,
        start: DateTime<Utc>,
        span: Span,
        schedule: Schedule,
        intake_day_counts: bool,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let local = start.with_timezone(&TIME_ZONE).naive_local();
        // A request outside working time is taken in at the next working moment;
        // that moment's day is the day of intake.
        let intake = self.next_working_local(local, schedule)?;
        if span.amount == 0 {
            return local_to_utc(intake);
        }
        let intake_day = intake.date();
        let end = match span.unit.working_seconds() {
            Some(unit_seconds) => {
                let begin = if intake_day_counts {
                    intake
                } else {
                    let day = self.next_working_day_after(intake_day, schedule)?;
                    at_seconds(day, schedule.windows()[0].start)?
                };
                let seconds = u64::from(span.amount) * unit_seconds;
                self.add_working_time(begin, seconds, schedule)?
            }
            None if span.unit == Unit::WorkingDays => {
                let mut day = if intake_day_counts && self.is_working_day(intake_day, schedule)? {
                    intake_day
                } else {
                    self.next_working_day_after(intake_day, schedule)?
                };
                for _ in 1..span.amount {
                    day = self.next_working_day_after(day, schedule)?;
                }
                self.close_of_day(day, schedule)?
            }
            None => {
                // Calendar days: day one is the day of intake, or the day after it.
                let first = if intake_day_counts {
                    intake_day
                } else {
                    next_date(intake_day)?
                };
                let mut last = first
                    .checked_add_days(Days::new(u64::from(span.amount) - 1))
                    .ok_or(CalendarError::NoDataForYear(first.year().saturating_add(1)))?;
                // Civil Code: a period whose last day is not a working day ends on the next working day.
                while !self.is_working_day(last, schedule)? {
                    last = next_date(last)?;
                }
                self.close_of_day(last, schedule)?
            }
        };
        local_to_utc(end)
    }

    fn special(&self, week: Week) -> &BTreeMap<NaiveDate, DayKind> {
        match week {
            Week::FiveDay => &self.five_day,
            Week::SixDay => &self.six_day,
        }
    }

    fn require_year(&self, year: i32) -> Result<(), CalendarError> {
        if self.years.contains_key(&year) {
            Ok(())
        } else {
            Err(CalendarError::NoDataForYear(year))
        }
    }

    fn next_working_day_after(
        &self,
        date: NaiveDate,
        schedule: Schedule,
    ) -> Result<NaiveDate, CalendarError> {
        // Ends: every step checks the year, and the loaded years are finite.
        let mut day = next_date(date)?;
        while !self.is_working_day(day, schedule)? {
            day = next_date(day)?;
        }
        Ok(day)
    }

    fn close_of_day(
        &self,
        date: NaiveDate,
        schedule: Schedule,
    ) -> Result<NaiveDateTime, CalendarError> {
        let last = schedule.windows().last().map_or(0, |w| w.end);
        at_seconds(date, last)
    }

    /// `at` if it is in working time, else the start of the next window.
    fn next_working_local(
        &self,
        at: NaiveDateTime,
        schedule: Schedule,
    ) -> Result<NaiveDateTime, CalendarError> {
        let date = at.date();
        if self.is_working_day(date, schedule)? {
            let second = at.time().num_seconds_from_midnight();
            for window in schedule.windows() {
                if second < window.start {
                    return at_seconds(date, window.start);
                }
                if second < window.end {
                    return Ok(at);
                }
            }
        }
        let day = self.next_working_day_after(date, schedule)?;
        at_seconds(day, schedule.windows()[0].start)
    }

    /// Adds `seconds` of working time to `begin`, a moment in working time.
    fn add_working_time(
        &self,
        begin: NaiveDateTime,
        seconds: u64,
        schedule: Schedule,
    ) -> Result<NaiveDateTime, CalendarError> {
        let mut now = begin;
        // u32 hours fit easily; the check only keeps this total.
        let mut remaining = i64::try_from(seconds)
            .ok()
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(|| CalendarError::BadSpan {
                input: format!("{seconds} s"),
                what: "too long to count".to_owned(),
            })?;
        loop {
            if remaining <= TimeDelta::zero() {
                return Ok(now);
            }
            let window = window_containing(now, schedule.windows())
                .ok_or(CalendarError::NoSuchLocalTime(now))?;
            let window_end = at_seconds(now.date(), window.end)?;
            let available = window_end - now;
            if remaining <= available {
                // Ending exactly at the close (18:30) stays on that day.
                return Ok(now + remaining);
            }
            remaining -= available;
            now = self.next_working_local(window_end, schedule)?;
        }
    }
}

/// Converts an Asia/Almaty local time to UTC; fails only for a time that a
/// clock change skipped or repeated.
pub fn local_to_utc(local: NaiveDateTime) -> Result<DateTime<Utc>, CalendarError> {
    TIME_ZONE
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or(CalendarError::NoSuchLocalTime(local))
}

/// A UTC moment as Asia/Almaty local time.
pub fn to_local(moment: DateTime<Utc>) -> DateTime<Tz> {
    moment.with_timezone(&TIME_ZONE)
}

fn year_of_file_name(name: &str) -> Option<i32> {
    name.strip_suffix(".toml")?.parse().ok()
}

fn next_date(date: NaiveDate) -> Result<NaiveDate, CalendarError> {
    date.succ_opt()
        .ok_or(CalendarError::NoDataForYear(date.year().saturating_add(1)))
}

fn at_seconds(date: NaiveDate, seconds: u32) -> Result<NaiveDateTime, CalendarError> {
    // 24:00 is the next midnight; no window ends there, but stay total anyway.
    match NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0) {
        Some(time) => Ok(date.and_time(time)),
        None => Ok(next_date(date)?.and_time(NaiveTime::MIN)),
    }
}

fn window_containing(moment: NaiveDateTime, windows: &[Window]) -> Option<Window> {
    let second = moment.time().num_seconds_from_midnight();
    windows
        .iter()
        .copied()
        .find(|w| w.start <= second && second < w.end)
}

/// The days of `week` that differ from its plain pattern of working and rest days.
fn special_days(years: &BTreeMap<i32, YearData>, week: Week) -> BTreeMap<NaiveDate, DayKind> {
    let mut special = BTreeMap::new();
    for data in years.values() {
        for holiday in &data.holidays {
            let kind = match holiday.kind {
                HolidayKind::Religious => DayKind::ReligiousDayOff {
                    name: holiday.name.clone(),
                },
                HolidayKind::National | HolidayKind::State => DayKind::Holiday {
                    name: holiday.name.clone(),
                },
            };
            special.insert(holiday.date, kind);
        }
    }
    // A transfer concerns a week only where its `from` day is that week's rest
    // day: a Saturday moved to a Friday leaves the six-day week alone.
    for data in years.values() {
        for transfer in &data.transfers {
            if week.is_weekly_rest_day(transfer.from.weekday())
                && !week.is_weekly_rest_day(transfer.to.weekday())
            {
                special.insert(
                    transfer.from,
                    DayKind::TransferredWorkingDay {
                        to: transfer.to,
                        act: transfer.act.clone(),
                    },
                );
                special.insert(
                    transfer.to,
                    DayKind::TransferredDayOff {
                        from: transfer.from,
                        act: transfer.act.clone(),
                    },
                );
            }
        }
    }
    // Law «О праздниках», art. 5: a holiday on a weekly rest day gives the next
    // working day off. In date order, so two such holidays in a row (Nauryz on
    // a Saturday and Sunday) give two days.
    for data in years.values() {
        for holiday in &data.holidays {
            if !holiday.kind.moves_off_rest_days()
                || !week.is_weekly_rest_day(holiday.date.weekday())
            {
                continue;
            }
            let mut day = holiday.date;
            // Bounded: a run of non-working days is at most a couple of weeks long.
            for _ in 0..60 {
                let Some(next) = day.succ_opt() else { break };
                day = next;
                if !special.contains_key(&day) && !week.is_weekly_rest_day(day.weekday()) {
                    special.insert(
                        day,
                        DayKind::DayOffForHoliday {
                            holiday: holiday.date,
                            name: holiday.name.clone(),
                        },
                    );
                    break;
                }
            }
        }
    }
    special
}
