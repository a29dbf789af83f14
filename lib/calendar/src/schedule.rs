//! Working-hours profiles: who works which days, and when.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::CalendarError;

/// A working-hours profile, as in the Standard's row "График работы"
/// (seed 002, row 7; see the crate docs for the exact text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The service provider: Monday to Friday, 9:00–18:30, lunch 13:00–14:30.
    Provider,
    /// The State Corporation: Monday to Saturday, 9:00–20:00, no lunch break.
    StateCorporation,
    /// The portal: open around the clock, but a request made after working
    /// hours, on a day off or a holiday is taken in on the next working day;
    /// counts in the provider's working days, 9:00–18:30 without a lunch break.
    Portal,
}

impl Schedule {
    pub const ALL: [Schedule; 3] = [
        Schedule::Provider,
        Schedule::StateCorporation,
        Schedule::Portal,
    ];

    /// The working week whose days off this schedule keeps.
    pub(crate) fn week(self) -> Week {
        match self {
            Schedule::Provider | Schedule::Portal => Week::FiveDay,
            Schedule::StateCorporation => Week::SixDay,
        }
    }

    /// The working-time windows of one working day, in seconds after local
    /// midnight, half-open (`start <= t < end`), in order.
    pub(crate) fn windows(self) -> &'static [Window] {
        const fn hm(hours: u32, minutes: u32) -> u32 {
            hours * 3600 + minutes * 60
        }
        const PROVIDER: [Window; 2] = [
            Window {
                start: hm(9, 0),
                end: hm(13, 0),
            },
            Window {
                start: hm(14, 30),
                end: hm(18, 30),
            },
        ];
        const STATE_CORPORATION: [Window; 1] = [Window {
            start: hm(9, 0),
            end: hm(20, 0),
        }];
        // Lunch is not "after the end of working time", so a portal request
        // made at 13:30 is taken in at once.
        const PORTAL: [Window; 1] = [Window {
            start: hm(9, 0),
            end: hm(18, 30),
        }];
        match self {
            Schedule::Provider => &PROVIDER,
            Schedule::StateCorporation => &STATE_CORPORATION,
            Schedule::Portal => &PORTAL,
        }
    }

    /// The working-time windows of one working day, local time.
    pub fn working_hours(self) -> Vec<(NaiveTime, NaiveTime)> {
        let time = |seconds: u32| {
            NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or(NaiveTime::MIN)
        };
        self.windows()
            .iter()
            .map(|w| (time(w.start), time(w.end)))
            .collect()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Schedule::Provider => "provider",
            Schedule::StateCorporation => "state_corporation",
            Schedule::Portal => "portal",
        })
    }
}

impl FromStr for Schedule {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().replace('-', "_").as_str() {
            "provider" => Ok(Schedule::Provider),
            "state_corporation" => Ok(Schedule::StateCorporation),
            "portal" => Ok(Schedule::Portal),
            _ => Err(CalendarError::BadSchedule(s.to_owned())),
        }
    }
}

/// One stretch of working time within a day, in seconds after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// The two working weeks of the Labour Code that the schedules follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Week {
    /// Saturday and Sunday off: the provider and the portal.
    FiveDay,
    /// Sunday off: the State Corporation.
    SixDay,
}

impl Week {
    pub(crate) fn is_weekly_rest_day(self, day: Weekday) -> bool {
        match self {
            Week::FiveDay => matches!(day, Weekday::Sat | Weekday::Sun),
            Week::SixDay => day == Weekday::Sun,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for schedule in Schedule::ALL {
            assert_eq!(schedule.to_string().parse::<Schedule>().unwrap(), schedule);
        }
        assert_eq!(
            "state-corporation".parse::<Schedule>().unwrap(),
            Schedule::StateCorporation
        );
        assert!("office".parse::<Schedule>().is_err());
    }

    #[test]
    fn working_hours_are_the_seed_texts() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(
            Schedule::Provider.working_hours(),
            vec![(t(9, 0), t(13, 0)), (t(14, 30), t(18, 30))]
        );
        assert_eq!(
            Schedule::StateCorporation.working_hours(),
            vec![(t(9, 0), t(20, 0))]
        );
        assert_eq!(Schedule::Portal.working_hours(), vec![(t(9, 0), t(18, 30))]);
    }
}
