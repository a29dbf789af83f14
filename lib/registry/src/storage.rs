//! What both registries' storage shares: counting rows and catalogued
//! cases for reports and tests, and decoding columns into the rows' types.

use egov_trust::iin::Iin;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

/// Rows in each of `tables` of the pool's schema.
pub async fn count_rows(
    pool: &PgPool,
    tables: &[&'static str],
) -> Result<Vec<(&'static str, i64)>, sqlx::Error> {
    let mut counts = Vec::new();
    for table in tables {
        let count: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(pool)
                .await?;
        counts.push((*table, count));
    }
    Ok(counts)
}

/// Entries per kind of the `cases` catalogue in the pool's schema: both
/// registries keep one.
pub async fn count_cases(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT kind, count(*) FROM cases GROUP BY kind ORDER BY kind")
        .fetch_all(pool)
        .await
}

/// A column whose value is not what the row type allows.
pub fn decode_error(column: &str, problem: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: problem.to_string().into(),
    }
}

/// An IIN column, parsed.
pub fn iin_column(row: &PgRow, column: &str) -> Result<Iin, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Iin::parse(&text).map_err(|e| decode_error(column, e))
}
