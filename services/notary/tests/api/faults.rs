//! The notary's own fault switch (issue 3, item 4): the same modes as the
//! individuals registry (whose tests show each in full), here `down` and
//! `error`, to show БНАЖ's switch is wired to its inbox and health.

use crate::helpers::*;
use egov_bus::CallError;
use egov_proto::registry::FaultKind;
use std::time::Duration;
use tokio::time::Instant;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn down_times_calls_out_and_none_brings_the_answers_back() {
    let notary = Notary::start().await;
    let representative = notary.known.representative.to_string();
    let number = notary.known.valid.number.clone();

    notary.set_fault("down").await;
    notary.wait_health(ServingStatus::NotServing).await;
    let deadline = Duration::from_millis(1000);
    let started = Instant::now();
    let error = notary
        .intake
        .call(ask(&number, &representative, "003"), deadline)
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::Timeout(_)), "{error:?}");
    // Not before the deadline; after it by no more than a loaded machine's
    // late timer (generous slack: a call left hanging is what fails).
    let waited = started.elapsed();
    assert!(
        waited >= deadline && waited < deadline + Duration::from_secs(5),
        "{waited:?}"
    );

    notary.set_fault("none").await;
    notary.wait_health(ServingStatus::Serving).await;
    let answered = answer(notary.call(ask(&number, &representative, "003")).await);
    assert_eq!(
        status(&answered),
        egov_proto::notary::power_of_attorney_answer::Status::Valid
    );
    notary.stop().await;
}

#[tokio::test]
async fn error_answers_with_a_technical_failure() {
    let notary = Notary::start().await;
    let representative = notary.known.representative.to_string();
    let state = notary.set_fault("error 1").await;
    assert_eq!(state.system, "notary");
    assert_eq!(state.mode.unwrap().kind, FaultKind::Error as i32);

    let rejection = refusal(
        notary
            .call(ask(&notary.known.valid.number, &representative, "003"))
            .await,
    );

    assert_eq!(rejection.code, "registry_failure");
    notary.stop().await;
}
