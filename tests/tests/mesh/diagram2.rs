//! Diagram 2 (seed 001 §11; seeds 000, 003, 004 alike): a citizen's
//! application through the e-government portal, every system its own
//! process. One test per path of the diagram.

use crate::citizen::{code, sign_with};
use crate::mesh::{Mesh, Options, openssl_verifies};
use crate::provider::assert_one_result;
use egov_proto::portal::Stage;
use egov_proto::prost::Message;
use egov_proto::workstation as ws;
use egov_trust::SystemId;

/// Pre-step (registration checked in ЖТ МДБ), process 1 (login), processes
/// 3-5 (the application prepared, signed with the citizen's EDS, sent
/// through the gateway), 6 (accepted, result expected at…), 8 (the signed
/// result in the cabinet, which `openssl cms -verify` accepts against the
/// mesh CA), the SMS; at the gateway, one submission and one result, each
/// processed, and the log verifies.
#[tokio::test]
async fn diagram_2_portal_application_reaches_a_result() {
    let mesh = Mesh::start(Options::default()).await;
    let citizen = mesh.citizen().await;
    let sent = mesh.apply(&citizen, "003").await;

    let issued = mesh
        .wait_cabinet(&citizen, &sent.reference, &[Stage::Issued, Stage::Refused])
        .await;
    assert_eq!(issued.stage(), Stage::Issued, "{issued:?}");
    let accepted = issued.history.first().expect("a first status");
    assert_eq!(accepted.state(), ws::State::Accepted, "{issued:?}");
    assert!(issued.result_expected_at.is_some(), "{issued:?}");
    assert!(!issued.journal_number.is_empty());

    let file = mesh.result_file(&citizen, &sent.reference).await;
    let content = openssl_verifies(&mesh.ca_certificate(), &file.cms)
        .expect("openssl cms -verify accepts the result");
    let document = ws::ResultDocument::decode(content.as_slice()).expect("a result document");
    assert_eq!(document.regulation, "003");
    assert_eq!(
        document.applicant.expect("the applicant").iin,
        citizen.person.iin
    );
    let notified = mesh.notifications(&citizen).await;
    assert!(
        notified.iter().any(|n| n.reference == sent.reference),
        "{notified:?}"
    );

    let trace = mesh.settled_trace(&sent.reference).await;
    assert_one_result(&sent.reference, &trace, SystemId::Portal);
    let journal = mesh.journal().await;
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0].journal_number, issued.journal_number);
    let log = mesh.verify_log().await;
    assert!(log.intact, "{}", log.problem);

    // What an operator's Prometheus sees (issue 13 point 1): the
    // application in the cabinet issued, the provider's issued.
    mesh.wait_metric(
        SystemId::Portal,
        "egov_portal_applications",
        &[("regulation", "003"), ("stage", "issued")],
        1.0,
    )
    .await;
    mesh.wait_metric(
        SystemId::Workstation,
        "egov_workstation_applications",
        &[
            ("regulation", "003"),
            ("channel", "portal"),
            ("state", "issued"),
        ],
        1.0,
    )
    .await;
}

/// Condition 3, process 7: the provider's employees (through their API)
/// find the documents wanting and refuse on a ground of the regulation;
/// the reasoned refusal, signed, is in the cabinet with the ground as the
/// regulation words it.
#[tokio::test]
async fn diagram_2_condition_3_the_providers_reasoned_refusal_reaches_the_cabinet() {
    let mesh = Mesh::start(Options {
        autopilot: false,
        ..Options::default()
    })
    .await;
    let citizen = mesh.citizen().await;
    let sent = mesh.apply(&citizen, "002").await;
    let accepted = mesh
        .wait_cabinet(
            &citizen,
            &sent.reference,
            &[Stage::Accepted, Stage::InProgress],
        )
        .await;
    let reason = "the documents do not bear the claim out";
    mesh.employees_refuse(&accepted.journal_number, "unreliable_documents", reason)
        .await;

    let refused = mesh
        .wait_cabinet(&citizen, &sent.reference, &[Stage::Refused])
        .await;
    let ground = refused.grounds.first().expect("the ground");
    assert_eq!(ground.code, "unreliable_documents");
    assert!(
        !ground.text.is_empty() && ground.source.contains("002"),
        "{ground:?}"
    );
    assert_eq!(refused.reasons, [reason]);
    let file = mesh.result_file(&citizen, &sent.reference).await;
    let content = openssl_verifies(&mesh.ca_certificate(), &file.cms)
        .expect("openssl cms -verify accepts the refusal");
    let document = ws::ResultDocument::decode(content.as_slice()).expect("a result document");
    assert_eq!(document.kind, "refusal");

    let trace = mesh.settled_trace(&sent.reference).await;
    assert_one_result(&sent.reference, &trace, SystemId::Portal);
}

/// Condition 2, process 4: the citizen's signing certificate revoked at the
/// CA (`egovctl pki revoke`) is on the list the distribution point serves
/// at once; the portal refuses the signed application and sends nothing.
#[tokio::test]
async fn diagram_2_condition_2_a_revoked_signature_is_refused_and_nothing_is_sent() {
    let mesh = Mesh::start(Options::default()).await;
    let citizen = mesh.citizen().await;
    let document = mesh.prepare(&citizen, "003").await;
    let signed = sign_with(&citizen.eds.signing, &document);
    let pki = mesh.ca.root().display().to_string();
    let serial = citizen.eds.signing.info.serial_hex();
    mesh.egovctl(&[
        "pki",
        "--dir",
        &pki,
        "revoke",
        &serial,
        "--reason",
        "key_compromise",
    ])
    .await;

    let error = mesh.submit(&citizen, signed).await.unwrap_err();
    assert_eq!(code(&error), "eds_revoked", "{error:?}");
    assert!(
        mesh.cabinet_list(&citizen).await.is_empty(),
        "nothing in the cabinet"
    );
    assert!(
        mesh.journal().await.is_empty(),
        "nothing reached the provider"
    );
}
