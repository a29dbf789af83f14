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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppState;
    use sqlx::Connection;

    /// A row as PostgreSQL returns it, without any table.
    async fn row(sql: &'static str) -> PgRow {
        let url = egov_testkit::admin_database_url();
        let mut db = sqlx::PgConnection::connect(&url).await.expect("PostgreSQL");
        sqlx::query(sql).fetch_one(&mut db).await.expect("a row")
    }

    #[tokio::test]
    async fn a_known_code_decodes() {
        let row = row("SELECT 'issued'::text AS state, NULL::text AS decision").await;
        let state = decode(&row, "state", "application state", AppState::from_code);
        assert_eq!(state.unwrap(), AppState::Issued);
        let decision = decode_optional(&row, "decision", "decision", AppState::from_code);
        assert_eq!(decision.unwrap(), None);
    }

    #[tokio::test]
    async fn an_unknown_code_is_an_error_naming_the_column_and_the_value() {
        let row = row("SELECT 'lost'::text AS state").await;
        let error = decode(&row, "state", "application state", AppState::from_code).unwrap_err();
        let sqlx::Error::ColumnDecode { index, source } = &error else {
            panic!("not a column decode error: {error}");
        };
        assert_eq!(index, "state");
        let unknown = source.downcast_ref::<UnknownCode>().expect("UnknownCode");
        assert_eq!(unknown.value, "lost");
        assert_eq!(
            crate::error::ApiError::from(error).code(),
            "internal_error",
            "a corrupt row is not a passing database fault"
        );
    }
}
