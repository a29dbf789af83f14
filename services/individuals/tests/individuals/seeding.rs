use crate::helpers::{fingerprint, registry, seed};
use egov_individuals::storage;
use egov_population::people::PopulationConfig;

#[tokio::test]
async fn seeding_twice_with_one_seed_changes_nothing() {
    let registry = registry().await;
    let config = PopulationConfig::new(21, 6_000);
    let first = seed(&registry.pool, config.clone()).await;
    assert_eq!(first.persons, 6_000);
    let before = fingerprint(&registry.pool).await;

    let second = seed(&registry.pool, config).await;
    assert_eq!(
        second,
        storage::Written::default(),
        "the second run wrote rows"
    );
    assert_eq!(fingerprint(&registry.pool).await, before);

    let counts = storage::table_counts(&registry.pool).await.unwrap();
    assert_eq!(counts[0], ("persons", 6_000));
    assert_eq!(counts[1].1 as u64, first.family_links);
}

#[tokio::test]
async fn one_seed_gives_the_same_tables_in_two_databases_and_another_seed_does_not() {
    let (a, b, c) = (registry().await, registry().await, registry().await);
    seed(&a.pool, PopulationConfig::new(77, 2_500)).await;
    seed(&b.pool, PopulationConfig::new(77, 2_500)).await;
    seed(&c.pool, PopulationConfig::new(78, 2_500)).await;
    let (a, b, c) = (
        fingerprint(&a.pool).await,
        fingerprint(&b.pool).await,
        fingerprint(&c.pool).await,
    );
    assert_eq!(a, b);
    assert_ne!(a[0], c[0]);
}

#[tokio::test]
async fn the_case_catalogue_finds_an_orphan_with_a_guardian_in_one_query() {
    let registry = registry().await;
    seed(&registry.pool, PopulationConfig::new(1, 10_000)).await;
    let kinds = storage::case_counts(&registry.pool).await.unwrap();
    assert_eq!(
        kinds.len(),
        egov_individuals::model::CaseKind::ALL.len(),
        "{kinds:?}"
    );
    // "An orphan with a guardian": one indexed query.
    let (orphan, guardian): (String, String) = sqlx::query_as(
        "SELECT o.iin, w.related_iin FROM cases o \
         JOIN cases w ON w.iin = o.iin AND w.kind = 'ward_of_guardian' \
         WHERE o.kind = 'orphan' ORDER BY o.iin LIMIT 1",
    )
    .fetch_one(&registry.pool)
    .await
    .unwrap();
    assert_ne!(orphan, guardian);
}
