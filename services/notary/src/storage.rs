//! The notary system's tables in its own schema: migrations, batched
//! idempotent writes (`ON CONFLICT DO NOTHING` on the number), and the read
//! by number.

use crate::model::{NotaryRows, PoaCase, PowerOfAttorney};
use egov_registry::storage::{count_cases, count_rows, iin_column};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgConnection, Row};

/// The registry's migrations (`migrations/`), run into the pool's schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// The registry's tables, in the order they are written.
pub const TABLES: [&str; 2] = ["powers_of_attorney", "cases"];

/// Rows newly written per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub powers_of_attorney: u64,
    pub cases: u64,
}

impl std::ops::AddAssign for Written {
    fn add_assign(&mut self, other: Written) {
        self.powers_of_attorney += other.powers_of_attorney;
        self.cases += other.cases;
    }
}

/// Writes powers of attorney and their catalogue entries in one transaction.
pub async fn write_rows(pool: &PgPool, rows: &NotaryRows) -> Result<Written, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let written = Written {
        powers_of_attorney: insert_powers_of_attorney(&mut tx, &rows.powers_of_attorney).await?,
        cases: insert_cases(&mut tx, &rows.cases).await?,
    };
    tx.commit().await?;
    Ok(written)
}

pub async fn insert_powers_of_attorney(
    conn: &mut PgConnection,
    powers: &[PowerOfAttorney],
) -> Result<u64, sqlx::Error> {
    if powers.is_empty() {
        return Ok(0);
    }
    // UNNEST flattens a two-dimensional array, so each scope travels as one
    // comma-joined text (service codes have no commas) and is split back.
    let result = sqlx::query(
        "INSERT INTO powers_of_attorney (number, principal_iin, representative_iin, \
             notary_name, notary_licence, issued_on, valid_until, scope, revoked_on) \
         SELECT number, principal, representative, notary_name, notary_licence, issued_on, \
             valid_until, string_to_array(scope, ','), revoked_on \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], \
             $7::date[], $8::text[], $9::date[]) \
             AS t(number, principal, representative, notary_name, notary_licence, issued_on, \
                  valid_until, scope, revoked_on) \
         ON CONFLICT DO NOTHING",
    )
    .bind(powers.iter().map(|p| p.number.clone()).collect::<Vec<_>>())
    .bind(
        powers
            .iter()
            .map(|p| p.principal.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        powers
            .iter()
            .map(|p| p.representative.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        powers
            .iter()
            .map(|p| p.notary_name.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        powers
            .iter()
            .map(|p| p.notary_licence.clone())
            .collect::<Vec<_>>(),
    )
    .bind(powers.iter().map(|p| p.issued_on).collect::<Vec<_>>())
    .bind(powers.iter().map(|p| p.valid_until).collect::<Vec<_>>())
    .bind(powers.iter().map(|p| p.scope.join(",")).collect::<Vec<_>>())
    .bind(powers.iter().map(|p| p.revoked_on).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

pub async fn insert_cases(conn: &mut PgConnection, cases: &[PoaCase]) -> Result<u64, sqlx::Error> {
    if cases.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(
        "INSERT INTO cases (kind, number, service_code) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(cases.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>())
    .bind(cases.iter().map(|c| c.number.clone()).collect::<Vec<_>>())
    .bind(
        cases
            .iter()
            .map(|c| c.service_code.clone())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

/// The power of attorney with this registration number, or None.
pub async fn power_of_attorney(
    pool: &PgPool,
    number: &str,
) -> Result<Option<PowerOfAttorney>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    power_of_attorney_on(&mut conn, number).await
}

/// [`power_of_attorney`] on a connection already held (the inbox handler's
/// transaction).
pub async fn power_of_attorney_on(
    conn: &mut PgConnection,
    number: &str,
) -> Result<Option<PowerOfAttorney>, sqlx::Error> {
    sqlx::query("SELECT * FROM powers_of_attorney WHERE number = $1")
        .bind(number)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(power_of_attorney_from_row)
        .transpose()
}

/// Refreshes the planner's statistics of the registry's tables, after a
/// bulk load (`egov_registry::storage::analyze`).
pub async fn analyze(pool: &PgPool) -> Result<(), sqlx::Error> {
    egov_registry::storage::analyze(pool, &TABLES).await
}

/// Rows per table, for reports and tests.
pub async fn table_counts(pool: &PgPool) -> Result<Vec<(&'static str, i64)>, sqlx::Error> {
    count_rows(pool, &TABLES).await
}

/// Entries per case kind in the catalogue.
pub async fn case_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    count_cases(pool).await
}

fn power_of_attorney_from_row(row: &PgRow) -> Result<PowerOfAttorney, sqlx::Error> {
    Ok(PowerOfAttorney {
        number: row.try_get("number")?,
        principal: iin_column(row, "principal_iin")?,
        representative: iin_column(row, "representative_iin")?,
        notary_name: row.try_get("notary_name")?,
        notary_licence: row.try_get("notary_licence")?,
        issued_on: row.try_get("issued_on")?,
        valid_until: row.try_get("valid_until")?,
        scope: row.try_get("scope")?,
        revoked_on: row.try_get("revoked_on")?,
    })
}
