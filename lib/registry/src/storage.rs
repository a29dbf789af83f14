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

/// Refreshes the planner's statistics of `tables` (in the pool's schema)
/// after a bulk load such as seeding. A table never analysed is planned
/// from its size alone (a family link estimated at 1,601 rows per IIN at a
/// million people, so bitmap scans where one index probe does), and a
/// server with autovacuum off never analyses it.
pub async fn analyze(pool: &PgPool, tables: &[&'static str]) -> Result<(), sqlx::Error> {
    if tables.is_empty() {
        return Ok(());
    }
    // Table names are the registries' constants, never input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ANALYZE {}",
        tables.join(", ")
    )))
    .execute(pool)
    .await?;
    Ok(())
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
