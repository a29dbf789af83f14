use crate::helpers::{registry, seed};
use egov_notary::model::PoaCaseKind;
use egov_notary::storage;

async fn fingerprint(pool: &sqlx::PgPool) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for table in storage::TABLES {
        out.push(
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) \
                 FROM {table} t"
            )))
            .fetch_one(pool)
            .await
            .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn seeding_twice_with_one_seed_changes_nothing() {
    let registry = registry().await;
    let first = seed(&registry.pool, 6, 7_000).await;
    assert!(first.powers_of_attorney > 100, "{first:?}");
    assert_eq!(first.cases, first.powers_of_attorney);
    let before = fingerprint(&registry.pool).await;
    let second = seed(&registry.pool, 6, 7_000).await;
    assert_eq!(second, storage::Written::default());
    assert_eq!(fingerprint(&registry.pool).await, before);

    let kinds = storage::case_counts(&registry.pool).await.unwrap();
    assert_eq!(kinds.len(), PoaCaseKind::ALL.len(), "{kinds:?}");
}

#[tokio::test]
async fn one_seed_gives_the_same_table_in_two_databases() {
    let (a, b) = (registry().await, registry().await);
    seed(&a.pool, 12, 3_000).await;
    seed(&b.pool, 12, 3_000).await;
    assert_eq!(fingerprint(&a.pool).await, fingerprint(&b.pool).await);
}
