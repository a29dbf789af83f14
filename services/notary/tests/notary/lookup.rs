use crate::helpers::{case, registry, seed};
use chrono::Days;
use egov_notary::lookup::power_of_attorney;
use egov_notary::storage;
use egov_population::people::default_as_of;
use egov_proto::notary::PowerOfAttorneyRequest;
use egov_proto::notary::power_of_attorney_answer::Status;
use egov_registry::refusal::RefusalCode;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

fn request(number: &str, representative: &str, service: &str) -> PowerOfAttorneyRequest {
    PowerOfAttorneyRequest {
        number: number.to_owned(),
        representative_iin: representative.to_owned(),
        service_code: service.to_owned(),
    }
}

fn status(answer: &egov_proto::notary::PowerOfAttorneyAnswer) -> Status {
    Status::try_from(answer.status).unwrap()
}

#[tokio::test]
async fn each_catalogued_case_is_answered_as_catalogued() {
    let registry = registry().await;
    seed(&registry.pool, 2, 6_000).await;
    for (kind, expected) in [
        ("valid", Status::Valid),
        ("expired", Status::Expired),
        ("revoked", Status::Revoked),
        ("out_of_scope", Status::OutOfScope),
    ] {
        let (number, representative, service) = case(&registry.pool, kind).await;
        let answer = power_of_attorney(
            &registry.pool,
            &request(&number, &representative, &service),
            default_as_of(),
        )
        .await
        .unwrap();
        assert_eq!(status(&answer), expected, "{kind} {number}");
        let power = answer
            .power_of_attorney
            .expect("shown to its representative");
        assert_eq!(
            (power.number, power.representative_iin),
            (number, representative)
        );
    }
}

#[tokio::test]
async fn a_revoked_power_that_has_also_expired_answers_revoked() {
    let registry = registry().await;
    seed(&registry.pool, 2, 6_000).await;
    let (number, representative, service): (String, String, String) = sqlx::query_as(
        "SELECT number, representative_iin, scope[1] FROM powers_of_attorney \
         WHERE revoked_on IS NOT NULL AND valid_until < $1 ORDER BY number LIMIT 1",
    )
    .bind(default_as_of())
    .fetch_one(&registry.pool)
    .await
    .unwrap();
    let answer = power_of_attorney(
        &registry.pool,
        &request(&number, &representative, &service),
        default_as_of(),
    )
    .await
    .unwrap();
    assert_eq!(status(&answer), Status::Revoked);
}

#[tokio::test]
async fn a_valid_power_expires_the_day_after_its_last_day() {
    let registry = registry().await;
    seed(&registry.pool, 2, 6_000).await;
    let (number, representative, service) = case(&registry.pool, "valid").await;
    let power = storage::power_of_attorney(&registry.pool, &number)
        .await
        .unwrap()
        .unwrap();
    let on = |today| {
        let pool = registry.pool.clone();
        let request = request(&number, &representative, &service);
        async move { status(&power_of_attorney(&pool, &request, today).await.unwrap()) }
    };
    assert_eq!(on(power.valid_until).await, Status::Valid);
    assert_eq!(on(power.valid_until + Days::new(1)).await, Status::Expired);
}

#[tokio::test]
async fn another_representative_or_an_unknown_number_is_not_found_and_shown_nothing() {
    let registry = registry().await;
    seed(&registry.pool, 2, 6_000).await;
    let (number, _, service) = case(&registry.pool, "valid").await;
    let (_, someone_else, _) = case(&registry.pool, "expired").await;
    for (number, representative) in [
        (number.as_str(), someone_else.as_str()),
        ("1999-99999999", someone_else.as_str()),
        ("", someone_else.as_str()),
    ] {
        let answer = power_of_attorney(
            &registry.pool,
            &request(number, representative, &service),
            default_as_of(),
        )
        .await
        .unwrap();
        assert_eq!(status(&answer), Status::NotFound, "{number:?}");
        assert!(answer.power_of_attorney.is_none());
    }
}

#[tokio::test]
async fn a_malformed_representative_iin_is_refused_before_any_database_access() {
    // A real pool to a port where nothing listens: any access would fail.
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy("postgres://postgres@127.0.0.1:1/nothing")
        .unwrap();
    let refusal = power_of_attorney(
        &pool,
        &request("2025-1", "900101300018", "003"),
        default_as_of(),
    )
    .await
    .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::InvalidIin);
    let rejection = refusal.to_rejection();
    assert_eq!(rejection.code, "invalid_iin");
    assert_eq!(rejection.field, "representative_iin");
    assert!(rejection.message.starts_with("iin_check_digit: "));

    let refusal = power_of_attorney(
        &pool,
        &request("2025-1", "900101300017", "003"),
        default_as_of(),
    )
    .await
    .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::RegistryFailure);
}
