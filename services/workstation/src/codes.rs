//! Reading the workstation's own codes (states, origins, stages, roles…)
//! back from the database. The workstation writes only codes it knows, so
//! an unknown one means a corrupt row: it is an error that surfaces, never
//! a silent default.

use sqlx::Row;
use sqlx::postgres::PgRow;

/// A column holds a code the workstation does not know.
#[derive(Debug, thiserror::Error)]
#[error("{value:?} is not a known {what}")]
pub struct UnknownCode {
    pub what: &'static str,
    pub value: String,
}

/// The code in `column` of `row`, read with `parse`; an unknown code is a
/// `sqlx::Error::ColumnDecode` naming the column and the value.
pub fn decode<T>(
    row: &PgRow,
    column: &str,
    what: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    let code: &str = row.try_get(column)?;
    parse(code).ok_or_else(|| unknown(column, what, code))
}

/// [`decode`] for a nullable column.
pub fn decode_optional<T>(
    row: &PgRow,
    column: &str,
    what: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, sqlx::Error> {
    let code: Option<&str> = row.try_get(column)?;
    code.map(|code| parse(code).ok_or_else(|| unknown(column, what, code)))
        .transpose()
}

fn unknown(column: &str, what: &'static str, value: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(UnknownCode {
            what,
            value: value.to_owned(),
        }),
    }
}
