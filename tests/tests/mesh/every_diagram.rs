//! Every diagram of every regulation, each branch walked (issue 12, point
//! 2): the portal's diagram 2 of seeds 000, 001, 003 and 004, the State
//! Corporation's diagram 1 of seeds 001 and 004 and the paper steps of seed
//! 003 §9, the provider's office (seed 003 §11, diagram 3). The services
//! and their branches are read from the regulation data, not listed here,
//! so a regulation added to `regulations/` is walked too; each walk is
//! recorded (`walks::record`) once its outcome was asserted, for the
//! coverage map `make test` prints.
//!
//! Checks that happen before a service is chosen (the portal's login,
//! condition 1 of diagram 2; the employee's login, condition 1 of diagram
//! 3) are the same check for every service: one refused login is recorded
//! for each diagram that has the condition.

#![allow(clippy::needless_update)]

use crate::citizen::{PASSWORD, sign_with};
use crate::mesh::{Mesh, Options, Person};
use crate::walks::{self, diagrams_of, has_branch};
use egov_harness::authorized;
use egov_proto::intake::{self as intake, ReceiptKind};
use egov_proto::portal::{self as portal, Stage};
use egov_proto::workstation as ws;
use egov_regulations::{Branch, Channel};

fn portal_code(status: &tonic::Status) -> String {
    crate::citizen::code(status)
}

fn intake_code(status: &tonic::Status) -> String {
    crate::counter::code(status)
}

/// An IIN with a valid check digit that the population does not have.
fn stranger(like: &Person) -> Person {
    let iin = egov_trust::Iin::generate(
        chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date"),
        egov_trust::iin::Sex::Male,
        777,
    )
    .expect("an IIN")
    .to_string();
    Person {
        iin,
        ..like.clone()
    }
}

/// Diagram 2 of every regulation with a portal channel: through to the
/// signed result in the cabinet (pre-step, processes 1, 3, 5, 6, 8,
/// conditions 1-3), off at condition 1 (a wrong password: process 2) and
/// off at condition 2 (the application signed with someone else's EDS:
/// process 4, nothing sent).
#[tokio::test]
async fn every_portal_diagram_reaches_its_result_and_refuses_at_the_portals_checks() {
    let mesh = Mesh::start(Options::default()).await;
    let diagrams = diagrams_of(Channel::Portal);
    assert!(diagrams.len() >= 13, "{} portal diagrams", diagrams.len());
    let citizen = mesh.citizen().await;

    // Condition 1 → process 2: authorisation refused, the same words for a
    // wrong password as for anyone.
    let refused = mesh
        .portal()
        .login(portal::LoginRequest {
            iin: citizen.person.iin.clone(),
            password: format!("{PASSWORD} but wrong"),
        })
        .await
        .unwrap_err();
    assert_eq!(portal_code(&refused), "login_refused", "{refused:?}");

    let someone_else = mesh.issue_eds(&mesh.person().await);
    let mut sent = Vec::new();
    for (regulation, diagram) in &diagrams {
        // Condition 2 → process 4: the signer's IIN is not the applicant's.
        let document = mesh.prepare(&citizen, &regulation.code).await;
        if has_branch(diagram, 2) {
            let error = mesh
                .submit(&citizen, sign_with(&someone_else.signing, &document))
                .await
                .unwrap_err();
            assert_eq!(
                portal_code(&error),
                "eds_iin_mismatch",
                "{}: {error:?}",
                regulation.code
            );
        }
        let view = mesh
            .submit(&citizen, sign_with(&citizen.eds.signing, &document))
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", regulation.code));
        sent.push((regulation, diagram, view.reference));
    }
    for (regulation, diagram, reference) in &sent {
        let done = mesh
            .wait_cabinet(&citizen, reference, &[Stage::Issued, Stage::Refused])
            .await;
        assert_eq!(done.stage(), Stage::Issued, "{}: {done:?}", regulation.code);
        let file = mesh.result_file(&citizen, reference).await;
        crate::mesh::openssl_verifies(&mesh.ca_certificate(), &file.cms)
            .unwrap_or_else(|e| panic!("{}: the result verifies: {e}", regulation.code));
        walks::record(&regulation.code, diagram.number, Branch::Through);
        if has_branch(diagram, 1) {
            walks::record(&regulation.code, diagram.number, Branch::No(1));
        }
        if has_branch(diagram, 2) {
            walks::record(&regulation.code, diagram.number, Branch::No(2));
        }
    }
    // One application per service in the cabinet, and one journal entry each.
    assert_eq!(mesh.cabinet_list(&citizen).await.len(), sent.len());
    assert_eq!(mesh.journal().await.len(), sent.len());
}

/// Diagram 1 of every regulation with a State Corporation channel, through
/// to the result handed over on the recipient's identity (processes 1-3,
/// 5-7, 9, conditions 1-2), and off at condition 1 (a recipient ЖТ МДБ does
/// not know: process 4's message, nothing sent); seed 003's paper steps
/// (§9 1)-5)): the receipt, the accumulation sector's barcode scan, the
/// courier, the delivery.
#[tokio::test]
async fn every_counter_diagram_reaches_its_result_and_stops_at_an_unknown_recipient() {
    let mesh = Mesh::start(Options::default()).await;
    let operator = mesh.operator("operator").await;
    let issuing = mesh.operator("issuing").await;
    let recipient = mesh.person().await;
    let unknown = stranger(&recipient);
    let mut accepted = Vec::new();
    for (regulation, diagram) in diagrams_of(Channel::StateCorporation) {
        let receipt = mesh
            .accept(
                &operator,
                &mesh
                    .checked_draft(&operator, &regulation.code, &recipient)
                    .await,
            )
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", regulation.code));
        assert_eq!(receipt.kind(), ReceiptKind::Acceptance, "{receipt:?}");
        if has_branch(diagram, 1) {
            let draft = mesh
                .draft(&operator, &regulation.code, &unknown, None, &[])
                .await
                .expect("drafted");
            mesh.consent(&operator, &draft.reference).await;
            let error = mesh.check(&operator, &draft.reference).await.unwrap_err();
            assert_eq!(intake_code(&error), "person_not_found", "{error:?}");
            let view = mesh.request(&operator, &draft.reference).await;
            assert!(view.lookup_problem.contains("ЖТ МДБ"), "{view:?}");
            walks::record(&regulation.code, diagram.number, Branch::No(1));
        }
        accepted.push((regulation, diagram, receipt));
    }
    assert!(accepted.len() >= 7, "{} counter diagrams", accepted.len());

    for (regulation, diagram, receipt) in &accepted {
        if diagram.elements.iter().all(|e| e.kind.code() == "step") {
            // Seed 003 §9 2)-5): the paper package's way to the provider.
            paper_path(&mesh, receipt).await;
        } else {
            let ready = mesh
                .wait_request(
                    &operator,
                    &receipt.reference,
                    &[intake::Stage::ResultReady, intake::Stage::NotAccepted],
                )
                .await;
            assert_eq!(
                ready.result_state(),
                ws::State::Issued,
                "{}: {ready:?}",
                regulation.code
            );
            let issued = mesh
                .hand_over(&issuing, &receipt.reference, &recipient.iin, "")
                .await
                .unwrap_or_else(|e| panic!("{}: {e:?}", regulation.code));
            assert_eq!(
                issued.request.map(|r| r.stage()),
                Some(intake::Stage::Issued)
            );
        }
        walks::record(&regulation.code, diagram.number, Branch::Through);
    }
    // Nothing of the unknown recipients reached the provider.
    let journal = mesh.journal().await;
    assert_eq!(journal.len(), accepted.len(), "{journal:?}");
}

/// The accumulation sector scans the receipt's barcode, hands the package
/// to the courier, the courier records its delivery; each state once.
async fn paper_path(mesh: &Mesh, receipt: &intake::Receipt) {
    let sector = mesh.operator("accumulation").await;
    let courier = mesh.operator("courier").await;
    let scanned = mesh
        .intake()
        .scan_package(authorized(
            &sector,
            intake::ScanPackageRequest {
                barcode: receipt.barcode.to_lowercase(),
                ..Default::default()
            },
        ))
        .await
        .expect("scanned")
        .into_inner();
    assert_eq!(scanned.state(), intake::PackageState::InAccumulation);
    mesh.intake()
        .hand_to_courier(authorized(
            &sector,
            intake::HandToCourierRequest {
                barcodes: vec![receipt.barcode.clone()],
                courier: "courier".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("handed to the courier");
    let delivered = mesh
        .intake()
        .record_delivery(authorized(
            &courier,
            intake::RecordDeliveryRequest {
                barcode: receipt.barcode.clone(),
                received_by: "clerk".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("delivered")
        .into_inner();
    assert_eq!(delivered.state(), intake::PackageState::Delivered);
    assert!(delivered.scanned_at.is_some() && delivered.handed_at.is_some());
    // A second scan changes nothing: each state is recorded once.
    let again = mesh
        .intake()
        .scan_package(authorized(
            &sector,
            intake::ScanPackageRequest {
                barcode: receipt.barcode.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("scanned again")
        .into_inner();
    assert_eq!(again.state(), intake::PackageState::Delivered);
    assert_eq!(again.scanned_at, delivered.scanned_at);
}

/// The provider's own office (seed 003 §11, diagram 3): an employee logs
/// in (a wrong password refused: condition 1 → process 2), enters the
/// application, ЖТ МДБ confirms the applicant through the gateway and the
/// procedure runs to the result (processes 3-6, 8); an applicant ЖТ МДБ
/// does not know is refused at once (condition 2 → process 7).
#[tokio::test]
async fn the_providers_office_diagram_reaches_its_result_and_refuses_what_it_cannot_confirm() {
    let mesh = Mesh::start(Options::default()).await;
    let diagrams = diagrams_of(Channel::ProviderOffice);
    assert!(!diagrams.is_empty());
    let refused = mesh
        .workstation()
        .login(ws::LoginRequest {
            login: "clerk".into(),
            password: "not the clerk's password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    let clerk = mesh.employee("clerk").await;
    let known = mesh.person().await;
    for (regulation, diagram) in diagrams {
        let application = |who: &Person| ws::OfficeApplicationRequest {
            regulation: regulation.code.clone(),
            applicant: Some(ws::Person {
                iin: who.iin.clone(),
                surname: who.surname.clone(),
                given_name: who.given_name.clone(),
                ..Default::default()
            }),
            documents: vec![ws::Document {
                code: "application".into(),
                name: "the application, on paper".into(),
                on_paper: true,
                ..Default::default()
            }],
            consent_reference: "consent-office-1".into(),
            ..Default::default()
        };
        let response = mesh
            .workstation()
            .submit_office_application(authorized(&clerk, application(&known)))
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", regulation.code))
            .into_inner();
        assert!(response.refusal.is_none(), "{response:?}");
        let journal_number = response.application.expect("the view").journal_number;
        mesh.wait_application(&journal_number, ws::State::Issued)
            .await;
        walks::record(&regulation.code, diagram.number, Branch::Through);
        if has_branch(diagram, 1) {
            walks::record(&regulation.code, diagram.number, Branch::No(1));
        }

        let response = mesh
            .workstation()
            .submit_office_application(authorized(&clerk, application(&stranger(&known))))
            .await
            .expect("a refusal is an answer")
            .into_inner();
        let refusal = response.refusal.expect("the refusal of process 7");
        assert_eq!(refusal.state(), ws::State::Refused, "{refusal:?}");
        if has_branch(diagram, 2) {
            walks::record(&regulation.code, diagram.number, Branch::No(2));
        }
    }
}

/// The provider's specialist finds the documents wanting (diagram 2
/// condition 3 → process 7; diagram 1 condition 2 → process 8) for every
/// regulation: the employees work each application through their API and
/// refuse; the reasoned refusal reaches the cabinet or the counter.
#[tokio::test]
async fn every_providers_refusal_reaches_where_the_application_began() {
    let mesh = Mesh::start(Options {
        autopilot: false,
        ..Options::default()
    })
    .await;
    let reason = "the documents do not meet the Standard";
    let citizen = mesh.citizen().await;
    let mut in_cabinet = Vec::new();
    for (regulation, diagram) in diagrams_of(Channel::Portal) {
        if has_branch(diagram, 3) {
            let sent = mesh.apply(&citizen, &regulation.code).await;
            in_cabinet.push((regulation, diagram, sent.reference));
        }
    }
    let operator = mesh.operator("operator").await;
    let recipient = mesh.person().await;
    let mut at_counter = Vec::new();
    for (regulation, diagram) in diagrams_of(Channel::StateCorporation) {
        if has_branch(diagram, 2) {
            let reference = mesh
                .checked_draft(&operator, &regulation.code, &recipient)
                .await;
            mesh.accept(&operator, &reference).await.expect("accepted");
            at_counter.push((regulation, diagram, reference));
        }
    }
    assert!(in_cabinet.len() >= 12 && at_counter.len() >= 6);

    for (regulation, diagram, reference) in &in_cabinet {
        let accepted = mesh
            .wait_cabinet(&citizen, reference, &[Stage::Accepted, Stage::InProgress])
            .await;
        mesh.employees_refuse(&accepted.journal_number, "incomplete_package", reason)
            .await;
        let refused = mesh
            .wait_cabinet(&citizen, reference, &[Stage::Refused])
            .await;
        assert_eq!(refused.reasons, [reason], "{}", regulation.code);
        assert!(
            refused
                .grounds
                .iter()
                .any(|g| g.code == "incomplete_package"),
            "{refused:?}"
        );
        walks::record(&regulation.code, diagram.number, Branch::No(3));
    }
    for (regulation, diagram, reference) in &at_counter {
        let registered = mesh
            .wait_request(
                &operator,
                reference,
                &[intake::Stage::Registered, intake::Stage::InProgress],
            )
            .await;
        mesh.employees_refuse(&registered.journal_number, "incomplete_package", reason)
            .await;
        let ready = mesh
            .wait_request(&operator, reference, &[intake::Stage::ResultReady])
            .await;
        assert_eq!(
            ready.result_state(),
            ws::State::Refused,
            "{}: {ready:?}",
            regulation.code
        );
        walks::record(&regulation.code, diagram.number, Branch::No(2));
    }
}
