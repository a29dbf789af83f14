use egov_individuals::storage::{self, Written};
use egov_population::people::{Generator, PopulationConfig};
use sqlx::PgPool;

/// A fresh database with the registry's schema migrated.
/// The registry's schema on a fresh database.
pub type Registry = egov_testkit::database::MigratedSchema;

pub async fn registry() -> Registry {
    egov_testkit::database::MigratedSchema::create("individuals", &storage::MIGRATOR).await
}

/// Writes the whole population, batch by batch, as `egovctl seed` does.
pub async fn seed(pool: &PgPool, config: PopulationConfig) -> Written {
    let mut written = Written::default();
    for batch in Generator::new(config).expect("valid shares") {
        written += storage::write_rows(pool, &batch.rows)
            .await
            .expect("write batch");
    }
    written
}

/// Rows and an md5 over every row's text, per table, in a fixed order.
pub async fn fingerprint(pool: &PgPool) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    for table in storage::TABLES {
        let (count, digest): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) \
             FROM {table} t"
        )))
        .fetch_one(pool)
        .await
        .expect("fingerprint");
        out.push((table.to_owned(), count, digest));
    }
    out
}

/// Some person of the catalogue's case `kind`, and the related person.
pub async fn case(pool: &PgPool, kind: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT iin, related_iin FROM cases WHERE kind = $1 ORDER BY iin LIMIT 1")
        .bind(kind)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("no case {kind}: {e}"))
}
