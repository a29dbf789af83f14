//! The one error type of the crate.

use std::path::PathBuf;

use chrono::NaiveDateTime;

/// Everything that can go wrong when loading the calendar or computing a deadline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// A date falls in a year that has no data file: we do not guess holidays.
    #[error(
        "the working calendar has no data for {0}: add regulations/calendar/{0}.toml \
         (with its holidays, transfers and sources) before computing deadlines in {0}"
    )]
    NoDataForYear(i32),

    /// A calendar data file is broken; `field` names the place in the file.
    /// `[[holiday]]` and `[[transfer]]` entries are counted from 1 in file order,
    /// so `holiday[3].kind` is the `kind` of the third `[[holiday]]`.
    #[error("{file}: {field}: {what}")]
    BadDataFile {
        file: String,
        field: String,
        what: String,
    },

    /// A data file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `Calendar::from_dir` found no `<year>.toml` at all.
    #[error("no calendar data files (<year>.toml) in {0}")]
    NoDataFiles(PathBuf),

    /// A span such as "30 min" could not be read.
    #[error("cannot read the span {input:?}: {what}")]
    BadSpan { input: String, what: String },

    /// An unknown working-hours profile name.
    #[error("unknown schedule {0:?}: expected provider, state_corporation or portal")]
    BadSchedule(String),

    /// A local time that does not exist (or is not unique) in Asia/Almaty.
    /// Working hours never fall on a clock change, so this means a bug or odd input.
    #[error("{0} is not a unique local time in Asia/Almaty")]
    NoSuchLocalTime(NaiveDateTime),
}
