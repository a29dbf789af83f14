//! Diagram 1 (seed 001 §9; seed 004 services 1-4 and 6; the State
//! Corporation rules of seeds 002 and 003): a request at the State
//! Corporation's counter, every system its own process. One test per path
//! of the diagram.

#![allow(clippy::needless_update)]

use crate::counter::code;
use crate::mesh::{Mesh, Options, Person, openssl_verifies};
use crate::provider::assert_one_result;
use egov_proto::intake::{self as pb, ReceiptKind, Stage};
use egov_proto::workstation as ws;
use egov_trust::SystemId;

/// Processes 1-9 for a complete package: the operator logs in (1), enters
/// the request (2), takes the recipient's consent by a code to their phone
/// and finds them in ЖТ МДБ through the gateway (3, condition 1), accepts
/// with a signed receipt and sends the request signed (5-6); the provider
/// (on autopilot) registers, examines and sends the signed result (7-8);
/// the issuing operator hands it over on the recipient's identity card,
/// once (9).
#[tokio::test]
async fn diagram_1_counter_request_reaches_a_result_and_is_issued() {
    let mesh = Mesh::start(Options::default()).await;
    let operator = mesh.operator("operator").await;
    let recipient = mesh.person().await;
    let reference = mesh.checked_draft(&operator, "003", &recipient).await;
    let receipt = mesh.accept(&operator, &reference).await.expect("accepted");
    assert_eq!(receipt.kind(), ReceiptKind::Acceptance, "{receipt:?}");
    assert_eq!(
        openssl_verifies(&mesh.ca_certificate(), &receipt.cms).expect("the receipt verifies"),
        receipt.text.as_bytes()
    );

    let ready = mesh
        .wait_request(
            &operator,
            &reference,
            &[Stage::ResultReady, Stage::NotAccepted],
        )
        .await;
    assert_eq!(ready.stage(), Stage::ResultReady, "{ready:?}");
    assert_eq!(ready.result_state(), ws::State::Issued, "{ready:?}");

    let issuing = mesh.operator("issuing").await;
    let someone_else = mesh.person().await;
    let refused = mesh
        .hand_over(&issuing, &reference, &someone_else.iin, "")
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "not_the_recipient");
    let issued = mesh
        .hand_over(&issuing, &reference, &recipient.iin, "")
        .await
        .expect("handed over");
    assert_eq!(
        issued.request.as_ref().map(|r| r.stage()),
        Some(Stage::Issued)
    );
    openssl_verifies(&mesh.ca_certificate(), &issued.cms).expect("the provider's signature");
    assert_eq!(
        issued.document.and_then(|d| d.applicant).map(|a| a.iin),
        Some(recipient.iin.clone())
    );
    let again = mesh
        .hand_over(&issuing, &reference, &recipient.iin, "")
        .await
        .unwrap_err();
    assert_eq!(code(&again), "already_issued");

    let trace = mesh.settled_trace(&reference).await;
    assert_one_result(&reference, &trace, SystemId::Intake);

    // What an operator's Prometheus sees (issue 13 point 1): the request
    // handed over at the counter, the application issued at the provider.
    mesh.wait_metric(
        SystemId::Intake,
        "egov_intake_requests",
        &[("regulation", "003"), ("stage", "issued")],
        1.0,
    )
    .await;
}

/// Seed 002 p.5 / seed 003 §9 1): an incomplete package gets the refusal
/// receipt naming what is missing, and nothing goes to the provider.
#[tokio::test]
async fn diagram_1_an_incomplete_package_gets_the_refusal_receipt_and_nothing_is_sent() {
    let mesh = Mesh::start(Options::default()).await;
    let operator = mesh.operator("operator").await;
    let recipient = mesh.person().await;
    let missing = ["bank_account_contract", "child_income_documents"];
    let draft = mesh
        .draft(&operator, "002", &recipient, None, &missing)
        .await
        .expect("drafted");
    mesh.consent(&operator, &draft.reference).await;
    mesh.check(&operator, &draft.reference)
        .await
        .expect("checked");
    let receipt = mesh
        .accept(&operator, &draft.reference)
        .await
        .expect("a receipt");
    assert_eq!(receipt.kind(), ReceiptKind::Refusal, "{receipt:?}");
    assert_eq!(receipt.missing_documents, missing);
    assert!(
        receipt
            .text
            .contains("Наименование отсутствующих документов"),
        "{}",
        receipt.text
    );
    assert_eq!(
        openssl_verifies(&mesh.ca_certificate(), &receipt.cms).expect("the receipt verifies"),
        receipt.text.as_bytes()
    );
    let view = mesh.request(&operator, &draft.reference).await;
    assert_eq!(view.stage(), Stage::RefusedAtCounter);
    assert!(
        mesh.journal().await.is_empty(),
        "nothing reached the provider"
    );
    let trace = mesh.trace(&draft.reference).await.expect("Trace");
    assert!(
        trace.iter().all(|e| e.service != "submit-application"),
        "{trace:#?}"
    );
}

/// Process 2 with a representative: the power of attorney (a valid one of
/// the notary's catalogue) is checked in БНАЖ through the gateway at the
/// counter (condition 1) and again when the representative collects the
/// result (seed 002 Rules p.11; seed 003 §10 2)).
#[tokio::test]
async fn diagram_1_a_representative_is_checked_in_the_notary_system_and_collects_the_result() {
    let mesh = Mesh::start(Options::default()).await;
    let (number, principal, representative, issued_on, regulation): (
        String,
        String,
        String,
        chrono::NaiveDate,
        String,
    ) = sqlx::query_as(
        "SELECT p.number, p.principal_iin, p.representative_iin, p.issued_on, c.service_code
         FROM notary.cases c JOIN notary.powers_of_attorney p USING (number)
         JOIN individuals.persons r ON r.iin = p.principal_iin
         WHERE c.kind = 'valid' AND r.deceased_on IS NULL AND r.declared_missing_on IS NULL
           AND c.service_code IN ('001', '002', '003', '004-01', '004-02', '004-03', '004-04', '004-06')
         ORDER BY p.number LIMIT 1",
    )
    .fetch_one(&mesh.db)
    .await
    .expect("a valid power of attorney in the notary's catalogue");
    let (surname, given_name): (String, String) =
        sqlx::query_as("SELECT surname, given_name FROM individuals.persons WHERE iin = $1")
            .bind(&principal)
            .fetch_one(&mesh.db)
            .await
            .expect("the principal in ЖТ МДБ");
    let recipient = Person {
        iin: principal,
        surname,
        given_name,
        phone: "+77017654321".into(),
    };
    let entry = pb::RepresentativeEntry {
        iin: representative.clone(),
        power_of_attorney_number: number.clone(),
        power_of_attorney_date: issued_on.format("%Y-%m-%d").to_string(),
        surname: "Омаров".into(),
        given_name: "Ерлан".into(),
        ..Default::default()
    };

    let operator = mesh.operator("operator").await;
    let draft = mesh
        .draft(&operator, &regulation, &recipient, Some(entry), &[])
        .await
        .expect("drafted");
    mesh.consent(&operator, &draft.reference).await;
    let checked = mesh
        .check(&operator, &draft.reference)
        .await
        .expect("the power of attorney found in БНАЖ");
    assert_eq!(checked.stage(), Stage::Checked, "{checked:?}");
    let receipt = mesh
        .accept(&operator, &draft.reference)
        .await
        .expect("accepted");
    assert_eq!(receipt.kind(), ReceiptKind::Acceptance, "{receipt:?}");
    mesh.wait_request(&operator, &draft.reference, &[Stage::ResultReady])
        .await;

    let issuing = mesh.operator("issuing").await;
    let issued = mesh
        .hand_over(&issuing, &draft.reference, &representative, &number)
        .await
        .expect("handed over to the representative");
    let view = issued.request.expect("the request");
    assert_eq!(view.stage(), Stage::Issued);
    assert_eq!(view.issued_to_iin, representative);

    let trace = mesh.settled_trace(&draft.reference).await;
    assert_one_result(&draft.reference, &trace, SystemId::Intake);
}
