//! "Power of attorney by number and representative" (issue 3, item 2):
//! each of its answers through the gateway, the refusal of a malformed IIN,
//! and the gateway refusing a system the routing table does not allow.

use crate::helpers::*;
use egov_bus::CallError;
use egov_population::people::{Generator, PopulationConfig, default_as_of};
use egov_population::powers::{PoaShares, powers_of_attorney};
use egov_proto::notary::power_of_attorney_answer::Status;
use egov_trust::SystemId;
use std::time::Duration;

/// Valid, expired, revoked, out of scope and not found, each reached by a
/// look-up of the State Corporation (diagram 1, process 3, condition 1).
#[tokio::test]
async fn each_answer_is_reached_through_the_gateway() {
    let notary = Notary::start().await;
    let known = &notary.known;
    let representative = known.representative.to_string();

    let valid = answer(
        notary
            .call(ask(&known.valid.number, &representative, "003"))
            .await,
    );
    assert_eq!(status(&valid), Status::Valid);
    let power = valid
        .power_of_attorney
        .expect("shown to its representative");
    assert_eq!(power.number, known.valid.number);
    assert_eq!(power.principal_iin, known.principal.to_string());
    assert_eq!(power.scope, vec!["003", "004-02"]);

    let expired = answer(
        notary
            .call(ask(&known.expired.number, &representative, "003"))
            .await,
    );
    assert_eq!(status(&expired), Status::Expired);
    assert!(expired.power_of_attorney.is_some());

    let revoked = answer(
        notary
            .call(ask(&known.revoked.number, &representative, "003"))
            .await,
    );
    assert_eq!(status(&revoked), Status::Revoked);
    assert!(revoked.power_of_attorney.unwrap().revoked_on.is_some());

    // In force, but seed 001's service is not in its scope.
    let elsewhere = answer(
        notary
            .call(ask(&known.valid.number, &representative, "001"))
            .await,
    );
    assert_eq!(status(&elsewhere), Status::OutOfScope);

    // An unknown number, and a real number presented by someone else: both
    // "not found", and nothing is shown.
    let someone_else = known.someone_else.to_string();
    for (number, presenter) in [
        ("2026-99999999", representative.as_str()),
        (known.valid.number.as_str(), someone_else.as_str()),
    ] {
        let not_found = answer(notary.call(ask(number, presenter, "003")).await);
        assert_eq!(status(&not_found), Status::NotFound, "{number}");
        assert!(not_found.power_of_attorney.is_none());
    }
    notary.stop().await;
}

/// A representative's IIN with a wrong check digit is refused with
/// `invalid_iin`, not answered "not found".
#[tokio::test]
async fn a_malformed_representative_iin_is_refused_with_its_code() {
    let notary = Notary::start().await;
    let good = notary.known.representative.to_string();
    let (first11, check) = good.split_at(11);
    let bad = format!("{first11}{}", (check.parse::<u8>().unwrap() + 1) % 10);

    let rejection = refusal(
        notary
            .call(ask(&notary.known.valid.number, &bad, "003"))
            .await,
    );

    assert_eq!(rejection.code, "invalid_iin");
    assert_eq!(rejection.field, "representative_iin");
    assert!(
        rejection.message.starts_with("iin_check_digit: "),
        "{}",
        rejection.message
    );
    notary.stop().await;
}

/// The routing table lets only the State Corporation ask БНАЖ: the portal
/// is refused by the gateway itself, at once.
#[tokio::test]
async fn a_system_the_routing_table_does_not_allow_is_refused_by_the_gateway() {
    let notary = Notary::start().await;
    let portal = notary.mesh.bus(SystemId::Portal, None).await;
    let representative = notary.known.representative.to_string();
    let started = tokio::time::Instant::now();

    let error = portal
        .call(
            ask(&notary.known.valid.number, &representative, "003"),
            DEADLINE,
        )
        .await
        .unwrap_err();

    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    assert_eq!(error.code(), "route_not_allowed", "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    notary.stop().await;
}

/// With `lookup.as_of` pinned to the population's date, every case the
/// seeded catalogue lists (`notary.cases`) is answered as listed.
#[tokio::test]
async fn with_the_population_date_pinned_the_catalogued_cases_answer_as_listed() {
    let as_of = default_as_of().to_string();
    let notary = Notary::start_with(&[("EGOV_NOTARY__LOOKUP__AS_OF", &as_of)]).await;
    let pool = notary.mesh.pool("notary").await;
    for batch in Generator::new(PopulationConfig::new(2, 3_000)).unwrap() {
        let rows = powers_of_attorney(2, default_as_of(), &batch, &PoaShares::default());
        egov_notary::storage::write_rows(&pool, &rows)
            .await
            .unwrap();
    }
    for (kind, expected) in [
        ("valid", Status::Valid),
        ("expired", Status::Expired),
        ("revoked", Status::Revoked),
        ("out_of_scope", Status::OutOfScope),
    ] {
        let (number, representative, service): (String, String, String) = sqlx::query_as(
            "SELECT c.number, p.representative_iin, c.service_code \
             FROM cases c JOIN powers_of_attorney p USING (number) \
             WHERE c.kind = $1 ORDER BY c.number LIMIT 1",
        )
        .bind(kind)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("no {kind} case: {e}"));
        let answered = answer(notary.call(ask(&number, &representative, &service)).await);
        assert_eq!(status(&answered), expected, "{kind} {number}");
    }
    notary.stop().await;
}
