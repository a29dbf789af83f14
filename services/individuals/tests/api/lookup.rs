//! "Person by IIN" through the gateway (issue 3, item 1): who may ask (the
//! routing table), on what grounds (consent or a legal basis), and the two
//! answers about an IIN that is not a registered person's.

use crate::helpers::*;
use egov_bus::{CallError, Reply, envelope};
use egov_proto::envelope::{DeliveryStatus, Kind};
use egov_proto::gateway::GetStatusRequest;
use egov_proto::individuals::{DocumentKind, LinkOrigin, ParentRole, Sex};
use egov_trust::SystemId;
use std::time::Duration;

/// Diagram 1, process 3 (seed 001 §9; seed 004 services 1-4 and 6, para 9):
/// the State Corporation asks with the recipient's consent.
#[tokio::test]
async fn a_signed_look_up_from_an_allowed_system_returns_the_person() {
    let registry = Registry::start().await;
    let mother = &registry.people.mother;

    let reply = registry
        .call(with_consent(&mother.iin.to_string()), DEADLINE)
        .await
        .expect("an answer");

    let Reply::Response(answer) = &reply else {
        panic!("a response, not {reply:?}")
    };
    assert_eq!(answer.header.sender, "individuals");
    assert_eq!(answer.kind(), Kind::Response);
    envelope::verify_stamp(
        &registry.mesh.pki.trust(),
        &answer.envelope,
        chrono::Utc::now(),
    )
    .await
    .expect("the answer is countersigned by the gateway");
    let record: egov_proto::individuals::PersonRecord = answer.decode().unwrap();
    assert_eq!(record.iin, mother.iin.to_string());
    assert_eq!(
        (record.surname.as_str(), record.given_name.as_str()),
        ("Ахметова", "Айгүл")
    );
    assert_eq!(record.patronymic.as_deref(), Some("Серікқызы"));
    assert_eq!(record.birth_date, "1990-03-14");
    assert_eq!(record.sex, Sex::Female as i32);
    assert_eq!(record.citizenship, "KAZ");
    let document = record.identity_document.as_ref().unwrap();
    assert_eq!(document.kind, DocumentKind::IdCard as i32);
    assert_eq!(document.expires_on.as_deref(), Some("2031-03-19"));
    assert_eq!(record.children.len(), 1);
    let child = &record.children[0];
    assert_eq!(child.iin, registry.people.daughter.iin.to_string());
    assert_eq!(child.parent_role, ParentRole::Mother as i32);
    assert_eq!(child.origin, LinkOrigin::Birth as i32);

    // The gateway logged the look-up as processed.
    let status = registry
        .gateway
        .clone()
        .get_status(GetStatusRequest {
            message_id: answer.header.correlation_id.clone(),
            credential: Some(registry.mesh.operator_read()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, DeliveryStatus::Processed as i32);
    assert_eq!(
        (status.sender.as_str(), status.service.as_str()),
        ("intake", "person-by-iin")
    );
    registry.stop().await;
}

/// Seed 003 §11, the provider's flow, process 5: the workstation reads the
/// recipient's record on the legal basis of its own regulation, no consent.
#[tokio::test]
async fn the_providers_workstation_reads_on_its_legal_basis() {
    let registry = Registry::start().await;
    let workstation = registry.bus(SystemId::Workstation).await;
    let daughter = registry.people.daughter.iin.to_string();

    let record = person(workstation.call(lookup(&daughter, "003"), DEADLINE).await);

    assert_eq!(record.iin, daughter);
    assert_eq!(
        record.identity_document.unwrap().kind,
        DocumentKind::BirthCertificate as i32
    );
    assert_eq!(record.parents.len(), 1);
    assert_eq!(
        record.parents[0].iin,
        registry.people.mother.iin.to_string()
    );
    registry.stop().await;
}

/// The routing table has no notary → individuals row: the gateway refuses
/// the call itself, at once, and the registry never sees it.
#[tokio::test]
async fn a_system_the_routing_table_does_not_allow_is_refused_by_the_gateway() {
    let registry = Registry::start().await;
    let notary = registry.bus(SystemId::Notary).await;
    let mother = registry.people.mother.iin.to_string();
    let started = tokio::time::Instant::now();

    let error = notary
        .call(with_consent(&mother), DEADLINE)
        .await
        .unwrap_err();

    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    assert_eq!(error.code(), "route_not_allowed", "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused without waiting for the deadline"
    );
    // The allowed caller is still answered.
    person(registry.call(with_consent(&mother), DEADLINE).await);
    registry.stop().await;
}

/// No consent reference and no legal basis (or one not in the configured
/// list): refused with `consent_required` (gateway-anchors.md §3.5; seed 004
/// para 10).
#[tokio::test]
async fn a_look_up_without_consent_is_refused_with_its_code() {
    let registry = Registry::start().await;
    let mother = registry.people.mother.iin.to_string();

    let without = refusal(registry.call(lookup(&mother, ""), DEADLINE).await);
    assert_eq!(without.code, "consent_required");
    assert_eq!(without.field, "");
    assert!(without.message.contains("consent"), "{}", without.message);

    let unknown_basis = refusal(registry.call(lookup(&mother, "999"), DEADLINE).await);
    assert_eq!(unknown_basis.code, "consent_required");
    assert_eq!(unknown_basis.field, "legal_basis");

    let blank_consent = refusal(
        registry
            .call(lookup(&mother, "").consent("   "), DEADLINE)
            .await,
    );
    assert_eq!(blank_consent.code, "consent_required");
    registry.stop().await;
}

/// A wrong check digit is refused before any look-up (`invalid_iin`, the
/// IIN error's code first); a valid IIN nobody has is a definite
/// `not_found`: condition 1's negative branch, process 4 "data cannot be
/// obtained" (seed 001 §9, diagram 1; seed 004 para 9).
#[tokio::test]
async fn a_bad_iin_and_an_unknown_iin_give_their_two_different_answers() {
    let registry = Registry::start().await;
    let bad = with_wrong_check_digit(&registry.people.mother.iin.to_string());

    let malformed = refusal(registry.call(with_consent(&bad), DEADLINE).await);
    assert_eq!(malformed.code, "invalid_iin");
    assert_eq!(malformed.field, "iin");
    assert!(
        malformed.message.starts_with("iin_check_digit: "),
        "{}",
        malformed.message
    );

    let short = refusal(registry.call(with_consent("90010130001"), DEADLINE).await);
    assert_eq!(short.code, "invalid_iin");
    assert!(
        short.message.starts_with("iin_length: "),
        "{}",
        short.message
    );

    let unknown = refusal(registry.call(with_consent(&unknown_iin()), DEADLINE).await);
    assert_eq!(unknown.code, "not_found");
    assert_eq!(unknown.field, "iin");
    assert_ne!(unknown.code, malformed.code);
    registry.stop().await;
}

/// A payload that is not a PersonByIinRequest gets its own code, not a
/// dead letter or a silence.
#[tokio::test]
async fn a_payload_that_does_not_decode_is_refused_with_bad_request() {
    let registry = Registry::start().await;
    let garbage = egov_bus::Outgoing::raw(
        SystemId::Individuals,
        egov_proto::services::PERSON_BY_IIN,
        Kind::Request,
        vec![0xff, 0xff, 0xff],
    )
    .consent("consent-1");

    let rejection = refusal(registry.call(garbage, DEADLINE).await);

    assert_eq!(rejection.code, "bad_request");
    assert!(
        rejection
            .message
            .contains("egov.individuals.v1.PersonByIinRequest"),
        "{}",
        rejection.message
    );
    registry.stop().await;
}
