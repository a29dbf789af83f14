use egov_notary::storage::{self, Written};
use egov_population::people::{Generator, PopulationConfig, default_as_of};
use egov_population::powers::{PoaShares, powers_of_attorney};
use sqlx::PgPool;

/// A fresh database with the registry's schema migrated.
/// The registry's schema on a fresh database.
pub type Registry = egov_testkit::database::MigratedSchema;

pub async fn registry() -> Registry {
    egov_testkit::database::MigratedSchema::create("notary", &storage::MIGRATOR).await
}

/// Writes the powers of attorney of a population, batch by batch, as
/// `egovctl seed` does.
pub async fn seed(pool: &PgPool, seed: u64, people: usize) -> Written {
    let mut written = Written::default();
    for batch in Generator::new(PopulationConfig::new(seed, people)).expect("valid shares") {
        let rows = powers_of_attorney(seed, default_as_of(), &batch, &PoaShares::default());
        written += storage::write_rows(pool, &rows).await.expect("write batch");
    }
    written
}

/// A catalogued case: number, representative and the service to ask about.
pub async fn case(pool: &PgPool, kind: &str) -> (String, String, String) {
    sqlx::query_as(
        "SELECT c.number, p.representative_iin, c.service_code \
         FROM cases c JOIN powers_of_attorney p USING (number) \
         WHERE c.kind = $1 ORDER BY c.number LIMIT 1",
    )
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("no case {kind}: {e}"))
}
