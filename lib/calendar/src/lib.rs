//! The Kazakh working calendar: which days and hours are working time for
//! the service provider, the State Corporation and the portal, and when a
//! deadline written in a regulation ("30 min", "5 working days",
//! "28 calendar days", "the day of intake is not counted") ends.
//!
//! Everything is computed in Asia/Almaty local time ([`TIME_ZONE`], the real
//! tz zone: UTC+6 until 1 March 2024, UTC+5 since) and handed back in UTC.
//! Holidays and transfers come from one data file per year,
//! `regulations/calendar/<year>.toml`, each with its sources; the files are
//! compiled in ([`Calendar::embedded`]) and can be read at run time
//! ([`Calendar::from_dir`]). A date in a year without a file is an error
//! ([`CalendarError::NoDataForYear`]), never a guess.
//!
//! # Changes to the agreed API
//!
//! - [`Calendar::is_working_day`] returns `Result<bool, _>` and
//!   [`Calendar::next_working_moment`] returns `Result<DateTime<Utc>, _>`:
//!   both can meet a year that has no data, and the brief requires an error
//!   there rather than a silent guess.
//! - Added: [`Unit::Seconds`] (the seeds write "1,5 минут"; `"1.5 min"` reads as
//!   90 s), [`Calendar::try_embedded`], [`Calendar::day_kind`] and [`DayKind`]
//!   (why a day is or is not a working day, for `egovctl deadline`),
//!   [`Calendar::years`], [`Calendar::year`] (holidays, transfers, sources,
//!   notes), [`Schedule::working_hours`], `FromStr`/`Display` for [`Schedule`],
//!   [`local_to_utc`] and [`to_local`].
//!
//! # Rules
//!
//! Each rule, its source, and where the law or the seeds are silent, the
//! reading chosen. "Seed 002" is `shared/seeds/002_f3b7d391424af69e.txt`
//! (Rules and Standard of the guardians' allowance service, Russian and
//! Kazakh), "seed 003" is `shared/seeds/003_90934a6f0a9d2464.txt`.
//!
//! **Holidays.** Law of the RK of 13 December 2001 No. 267-II «О праздниках в
//! Республике Казахстан»: national holidays (art. 2: Independence Day 16
//! December; Republic Day 25 October, restored in 2022) and state holidays
//! (art. 3: New Year 1–2 January, 8 March, Nauryz 21–23 March, 1 May, 7 May,
//! 9 May, 6 July, Constitution Day) are non-working days (art. 5).
//! Constitution Day was 30 August until 2025; the Constitution adopted at the
//! referendum of 15 March 2026 makes 15 March Constitution Day from 2027, and
//! 30 August 2026 is a working day (Ministry of Labour, 18 March 2026).
//!
//! **A holiday on a day off.** Law, art. 5: when a holiday falls on a day
//! off, the next working day is a day off. Computed per working week, not
//! stored: for the five-day week (provider, portal) a holiday on Saturday or
//! Sunday moves; for the six-day week (State Corporation) only a holiday on
//! Sunday does, as Saturday is a working day there (e.g. Nauryz 2026, Sat–Mon:
//! five-day week off 21–25 March, six-day week off 21–24 March).
//!
//! **Religious days off.** Labour Code of the RK of 23 November 2015
//! No. 414-V, art. 84 p. 5: the first day of Kurban ait and 7 January
//! (Orthodox Christmas) are days off whatever the work regime. They are not
//! holidays in the sense of the Law, so art. 5 does not move them: Kurban ait
//! on Sunday 16 June 2024 gave no Monday off. (The brief said they are "not
//! days off"; the Code says they are, and so this crate treats them.)
//!
//! **Transfers.** Labour Code art. 85 p. 3: days off may be moved to other
//! days (by Government decree up to 2023, by order of the Minister of Labour
//! and Social Protection from 2024). A transfer makes its `from` day a
//! working day and its `to` day a day off, for a working week only where
//! `from` is that week's rest day: Saturday 4 May 2024 worked and Wednesday
//! 8 May off for the provider, while the State Corporation kept its normal
//! week (the 2023 decree was reported as applying to the five-day week
//! only); the Sunday transfer of 5 January 2025 applies to both weeks (the
//! Ministry: six-day week off 1–3 January).
//!
//! **Working hours** (seed 002, Standard row 7 «График работы»; the Russian
//! original is the authority, the Kazakh text omits "Monday to Friday"):
//! - provider: Monday to Friday, 9:00–18:30, lunch 13:00–14:30, except days
//!   off and holidays;
//! - State Corporation: Monday to Saturday, 9:00–20:00 without a lunch
//!   break, except Sunday and holidays;
//! - portal: around the clock, "при обращении услугополучателя после
//!   окончания рабочего времени, в выходные и праздничные дни … прием
//!   заявления и выдача результата … осуществляется следующим рабочим днем".
//!   The seed does not say whose working time; this crate reads it as the
//!   provider's: the portal counts in the five-day week, 9:00–18:30. Lunch is
//!   not "after the end of working time", so a portal request at 13:30 is
//!   taken in at once and portal minutes run through lunch.
//!
//! **Intake.** A request made outside the schedule's working time is taken
//! in at the next working moment ([`Calendar::next_working_moment`]): after
//! 18:30, during lunch, on a day off or a holiday. The day of that moment is
//! the day of intake. (For the portal the seed says so; for the provider and
//! the State Corporation a request cannot be made when they are closed, so
//! the same rule only tidies odd input.)
//!
//! **Minutes, hours, seconds** are counted in working time only: 30 min
//! started at 12:50 at the provider end at 14:50. A period that ends exactly
//! at the close (18:30) ends then, not the next morning.
//!
//! **Working days.** N working days end at the close of the Nth working day
//! of the schedule (18:30 provider and portal, 20:00 State Corporation).
//! With the day of intake counted, that day is the first; otherwise the
//! first is the next working day.
//!
//! **Calendar days.** N calendar days end at the close of the Nth calendar
//! day; if that day is not a working day of the schedule, the period ends at
//! the close of the next working day. Civil Code of the RK (General Part,
//! 27 December 1994), chapter 6 «Исчисление сроков»: art. 172 «Окончание
//! срока в нерабочий день» for the move, and art. 173 «Порядок совершения
//! действий в последний день срока» for the hour (an act to be done in an
//! organisation may be done until the hour its business closes). The article
//! numbers are as we know them; the official text could not be opened from
//! here to confirm them, so check them before quoting them to a user.
//!
//! **The day of intake is not counted** (seed 002 p. 6 and Standard row 3:
//! «день приема документов не входит в срок оказания государственной
//! услуги»; seed 003 p. 5): counting starts the next day — the next working
//! day for working time and working days, the next calendar day for
//! calendar days. The Civil Code makes this the default for periods in days
//! (art. 170: the period runs from the day after the event), but the flag is the
//! caller's: regulations that say nothing are for `egov-regulations` to
//! read. With minutes or hours, "not counted" likewise starts the count at
//! the next working day's opening.
//!
//! **A span of 0** ends at the moment of intake.

mod calendar;
mod data;
mod error;
mod schedule;
mod span;

#[cfg(test)]
mod deadline_cases;

pub use calendar::{Calendar, DayKind, TIME_ZONE, local_to_utc, to_local};
pub use data::{Holiday, HolidayKind, Source, Transfer, YearData};
pub use error::CalendarError;
pub use schedule::Schedule;
pub use span::{Span, Unit};
