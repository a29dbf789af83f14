//! The provider's own office channel (seed 003 §11, diagram 3): an employee
//! enters the applicant's data, the workstation asks ЖТ МДБ through the real
//! gateway (process 5); a known applicant goes on to the staff procedure, an
//! IIN missing in ЖТ МДБ ends in the refusal of process 7 (condition 2).

use crate::helpers::*;
use chrono::NaiveDate;
use egov_individuals::model::{Address, DocumentKind, IdentityDocument, Person, RegistryRows};
use egov_proto::workstation::{self as pb, act_request::Action};
use egov_trust::iin::Sex;
use egov_trust::{Iin, SystemId};
use tokio_util::sync::CancellationToken;

/// The individuals registry in this mesh, with the test applicant in it.
struct Individuals {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for Individuals {
    fn drop(&mut self) {
        self.stop.cancel();
        self.task.abort();
    }
}

async fn individuals(ws: &TestWorkstation) -> Individuals {
    let settings: egov_individuals::settings::Settings =
        egov_runtime::settings::load("individuals", &ws.mesh.source(SystemId::Individuals))
            .expect("registry settings");
    let app = egov_individuals::startup::Application::build(settings)
        .await
        .expect("build the registry");
    app.wait_ready(PATIENCE)
        .await
        .expect("the registry connects");
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(stop.clone()));
    let known = applicant(1);
    let pool = ws.mesh.pool("individuals").await;
    egov_individuals::storage::write_rows(
        &pool,
        &RegistryRows {
            persons: vec![Person {
                iin: Iin::parse(&known.iin).unwrap(),
                surname: known.surname.clone(),
                given_name: known.given_name.clone(),
                patronymic: Some(known.patronymic.clone()),
                birth_date: NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
                sex: Sex::Female,
                citizenship: "KAZ".into(),
                address: Address {
                    region: "г. Алматы".into(),
                    district_or_city: "Бостандыкский район".into(),
                    street: "ул. Тимирязева, д. 42".into(),
                },
                document: IdentityDocument {
                    kind: DocumentKind::IdCard,
                    number: "047112233".into(),
                    issuer: "МВД РК".into(),
                    issued_on: NaiveDate::from_ymd_opt(2021, 3, 20).unwrap(),
                    expires_on: Some(NaiveDate::from_ymd_opt(2031, 3, 19).unwrap()),
                },
                deceased_on: None,
                declared_missing_on: None,
            }],
            ..RegistryRows::default()
        },
    )
    .await
    .expect("seed the applicant");
    Individuals { stop, task }
}

fn office_application(regulation: &str, who: pb::Person) -> pb::OfficeApplicationRequest {
    pb::OfficeApplicationRequest {
        regulation: regulation.into(),
        applicant: Some(who),
        representative: None,
        documents: vec![document("application")],
        form: Vec::new(),
        consent_reference: "consent-2026-000777".into(),
    }
}

async fn submit(
    ws: &TestWorkstation,
    who: &Staffer,
    request: pb::OfficeApplicationRequest,
) -> Result<pb::OfficeApplicationResponse, tonic::Status> {
    let token = ws.login(who).await;
    ws.client
        .clone()
        .submit_office_application(TestWorkstation::authorized(&token, request))
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn an_applicant_known_to_the_registry_goes_on_to_the_staff_procedure() {
    let ws = spawn(Options::default()).await;
    let _registry = individuals(&ws).await;
    let response = submit(
        &ws,
        &ws.staff.clerk,
        office_application("003", applicant(1)),
    )
    .await
    .expect("the office application is registered");
    assert!(response.refusal.is_none());
    let view = response.application.unwrap();
    assert_eq!(view.channel, pb::Channel::ProviderOffice as i32);
    assert_eq!(view.state, pb::State::Accepted as i32);
    assert_eq!(view.tasks.len(), 5);
    let journal = view.journal_number;
    // It is on the clerk's list, and goes through the procedure.
    assert!(
        ws.tasks(&ws.staff.clerk)
            .await
            .iter()
            .any(|t| t.journal_number == journal)
    );
    let steps = [
        (&ws.staff.clerk, Action::Register(pb::Register::default())),
        (
            &ws.staff.head,
            Action::Assign(pb::Assign {
                specialist_login: ws.staff.specialist.login.clone(),
                resolution: String::new(),
            }),
        ),
        (
            &ws.staff.specialist,
            Action::Approve(pb::Approve::default()),
        ),
        (&ws.staff.head, Action::Sign(pb::Sign {})),
        (&ws.staff.clerk, Action::Issue(pb::Issue {})),
    ];
    for (i, (who, action)) in steps.into_iter().enumerate() {
        ws.act(who, &journal, i as u32 + 1, action).await.unwrap();
    }
    let view = ws.application(&journal).await;
    assert_eq!(view.state, pb::State::Issued as i32);
    assert_eq!(view.tasks[4].note, "handed over at the office");
    // The result is handed over at the office: signed, kept, not sent.
    let kept = ws.document(&journal).await;
    let document = kept.document.unwrap();
    let result = pb::ApplicationResult {
        document: Some(document),
        ..Default::default()
    };
    assert_eq!(verified(&result, &ws.staff.head).result_code, "resolution");
    assert!(ws.portal_inbox.all().is_empty());
}

#[tokio::test]
async fn an_iin_missing_in_the_registry_ends_in_the_refusal_of_process_7() {
    let ws = spawn(Options::default()).await;
    let _registry = individuals(&ws).await;
    let mut stranger = applicant(1);
    stranger.iin = iin(2);
    let response = submit(&ws, &ws.staff.clerk, office_application("003", stranger))
        .await
        .expect("a refusal is an answer, not an error");
    let view = response.application.unwrap();
    assert_eq!(view.state, pb::State::Refused as i32);
    assert!(view.tasks.iter().all(|t| t.done_at.is_some()));
    let refusal = response.refusal.expect("the refusal of process 7");
    assert_eq!(refusal.state, pb::State::Refused as i32);
    let result = pb::ApplicationResult {
        document: refusal.document.clone(),
        ..Default::default()
    };
    let document = verified(&result, &ws.staff.head);
    let reasons = document.refusal.unwrap();
    assert_eq!(reasons.grounds[0].code, "applicant_data_not_confirmed");
    assert!(
        reasons.grounds[0].source.contains("seed 003 §11"),
        "{:?}",
        reasons.grounds[0]
    );
    assert!(reasons.reasons[0].contains(&iin(2)));
    assert_eq!(
        reasons.element,
        "diagram 3, condition 2 → process 7 (seed 003 §11, line 162)"
    );

    // Someone whose name ЖТ МДБ does not confirm is refused the same way.
    let mut impostor = applicant(1);
    impostor.surname = "Иванова".into();
    let response = submit(&ws, &ws.staff.clerk, office_application("003", impostor))
        .await
        .unwrap();
    assert!(response.refusal.is_some());

    // Bad input is refused before the registry is asked.
    let mut request = office_application("003", applicant(1));
    request.consent_reference.clear();
    let error = submit(&ws, &ws.staff.clerk, request)
        .await
        .expect_err("no consent");
    assert_eq!(code(&error), "missing_field");
    assert!(error.message().contains("consent_reference"));
    let error = submit(
        &ws,
        &ws.staff.clerk,
        office_application("001", applicant(1)),
    )
    .await
    .expect_err("seed 001 is not applied for at the office");
    assert_eq!(code(&error), "channel_not_offered");
}
