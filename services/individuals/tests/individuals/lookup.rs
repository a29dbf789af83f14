use crate::helpers::{case, registry, seed};
use egov_individuals::lookup::person_by_iin;
use egov_population::people::PopulationConfig;
use egov_proto::individuals::{CareKind, LinkStatus, PersonByIinRequest, Sex};
use egov_registry::refusal::RefusalCode;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

fn request(iin: &str, legal_basis: &str) -> PersonByIinRequest {
    PersonByIinRequest {
        iin: iin.to_owned(),
        legal_basis: legal_basis.to_owned(),
    }
}

fn bases() -> Vec<String> {
    vec!["003".to_owned()]
}

/// A real pool to a port where nothing listens: any database access fails,
/// so an answer other than `registry_failure` was given without one.
fn unreachable_pool() -> sqlx::PgPool {
    PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy("postgres://postgres@127.0.0.1:1/nothing")
        .expect("a lazy pool")
}

#[tokio::test]
async fn malformed_iins_and_missing_consent_are_refused_before_any_database_access() {
    let pool = unreachable_pool();

    let refusal = person_by_iin(
        &pool,
        &request("900101300018", ""),
        Some("consent-1"),
        &bases(),
    )
    .await
    .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::InvalidIin);
    assert!(
        refusal.message.starts_with("iin_check_digit: "),
        "{}",
        refusal.message
    );
    assert_eq!(refusal.to_rejection().field, "iin");

    let refusal = person_by_iin(&pool, &request("90010130001", ""), None, &bases())
        .await
        .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::InvalidIin);
    assert!(refusal.message.starts_with("iin_length: "));

    let refusal = person_by_iin(&pool, &request("900101300017", ""), None, &bases())
        .await
        .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::ConsentRequired);

    // The same pool does fail once the rules let the request through.
    let refusal = person_by_iin(
        &pool,
        &request("900101300017", ""),
        Some("consent-1"),
        &bases(),
    )
    .await
    .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::RegistryFailure);
    assert_eq!(refusal.to_rejection().code, "registry_failure");
}

#[tokio::test]
async fn consent_or_an_accepted_legal_basis_opens_the_record() {
    let registry = registry().await;
    seed(&registry.pool, PopulationConfig::new(5, 1_500)).await;
    let (iin, _) = case(&registry.pool, "orphan").await;

    let record = person_by_iin(
        &registry.pool,
        &request(&iin, ""),
        Some("consent-7"),
        &bases(),
    )
    .await
    .unwrap();
    assert_eq!(record.iin, iin);
    let by_basis = person_by_iin(&registry.pool, &request(&iin, "003"), None, &bases())
        .await
        .unwrap();
    assert_eq!(by_basis, record);

    for (consent, basis) in [(None, ""), (Some(""), ""), (Some("  "), ""), (None, "999")] {
        let refusal = person_by_iin(&registry.pool, &request(&iin, basis), consent, &bases())
            .await
            .unwrap_err();
        assert_eq!(
            refusal.code,
            RefusalCode::ConsentRequired,
            "{consent:?} {basis:?}"
        );
        let expected_field = if basis.is_empty() { "" } else { "legal_basis" };
        assert_eq!(refusal.to_rejection().field, expected_field);
    }
}

#[tokio::test]
async fn a_valid_iin_that_is_not_registered_is_not_found() {
    let registry = registry().await;
    seed(&registry.pool, PopulationConfig::new(5, 200)).await;
    let refusal = person_by_iin(
        &registry.pool,
        &request("900101300017", ""),
        Some("c"),
        &bases(),
    )
    .await
    .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::NotFound);
    let rejection = refusal.to_rejection();
    assert_eq!(
        (rejection.code.as_str(), rejection.field.as_str()),
        ("not_found", "iin")
    );
}

#[tokio::test]
async fn the_record_carries_every_fact_in_the_contract_form() {
    let registry = registry().await;
    seed(&registry.pool, PopulationConfig::new(8, 4_000)).await;
    let (ward, guardian) = case(&registry.pool, "ward_of_guardian").await;

    let child = person_by_iin(&registry.pool, &request(&ward, ""), Some("c"), &bases())
        .await
        .unwrap();
    assert!(matches!(
        Sex::try_from(child.sex),
        Ok(Sex::Male | Sex::Female)
    ));
    assert_eq!(child.birth_date.len(), 10);
    assert_eq!(
        &child.birth_date[2..4],
        &ward[0..2],
        "YYYY-MM-DD matches the IIN's YYMMDD"
    );
    let address = child.address.as_ref().unwrap();
    assert!(!address.region.is_empty() && !address.street.is_empty());
    let document = child.identity_document.as_ref().unwrap();
    assert!(!document.number.is_empty() && !document.issuer.is_empty());
    assert_eq!(child.carers.len(), 1);
    assert_eq!(Some(&child.carers[0].iin), guardian.as_ref());
    assert_eq!(child.carers[0].kind, CareKind::Guardianship as i32);
    assert!(
        child
            .parents
            .iter()
            .all(|p| p.status == LinkStatus::Normal as i32 || p.status_since.is_some())
    );

    let carer = person_by_iin(
        &registry.pool,
        &request(guardian.as_ref().unwrap(), ""),
        Some("c"),
        &bases(),
    )
    .await
    .unwrap();
    assert!(carer.wards.iter().any(|w| w.iin == ward));

    let (candidate, _) = case(&registry.pool, "adoption_candidate").await;
    let candidate = person_by_iin(
        &registry.pool,
        &request(&candidate, ""),
        Some("c"),
        &bases(),
    )
    .await
    .unwrap();
    assert!(candidate.adoption_candidacy.is_some());
}
