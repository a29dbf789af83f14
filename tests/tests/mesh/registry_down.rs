//! A registry down (its admin API's fault mode, as `egovctl fault
//! individuals down` sets it): process 4 of diagram 1 tells the operator
//! the data could not be obtained and to try again, the draft kept; the
//! portal's registration says the same and makes no account. When ЖТ МДБ is
//! back, the same draft and the same registration go through and reach
//! their results, once.

use crate::citizen::{self, Citizen};
use crate::counter;
use crate::mesh::{Mesh, Options};
use crate::provider::assert_one_result;
use egov_proto::intake::Stage;
use egov_proto::portal::Stage as PortalStage;
use egov_proto::registry::FaultKind;
use egov_trust::SystemId;

#[tokio::test]
async fn diagram_1_process_4_registry_down_says_try_again_then_the_kept_draft_reaches_a_result() {
    let mesh = Mesh::start(Options::default()).await;
    let operator = mesh.operator("operator").await;
    let recipient = mesh.person().await;
    let draft = mesh
        .draft(&operator, "003", &recipient, None, &[])
        .await
        .expect("drafted");
    mesh.consent(&operator, &draft.reference).await;
    let person = mesh.person().await;

    mesh.set_fault(SystemId::Individuals, FaultKind::Down).await;
    let error = mesh.check(&operator, &draft.reference).await.unwrap_err();
    assert_eq!(counter::code(&error), "registry_unavailable", "{error:?}");
    assert_eq!(error.code(), tonic::Code::Unavailable);
    let kept = mesh.request(&operator, &draft.reference).await;
    assert_eq!(kept.stage(), Stage::Draft, "the draft is kept: {kept:?}");
    assert!(kept.consent_given, "{kept:?}");
    assert!(
        kept.lookup_problem.contains("ЖТ МДБ"),
        "{}",
        kept.lookup_problem
    );
    // Diagram 2's pre-step meets the same outage: try again, no account.
    let error = mesh.register(&person).await.unwrap_err();
    assert_eq!(citizen::code(&error), "registry_unavailable", "{error:?}");
    let login = mesh
        .portal()
        .login(egov_proto::portal::LoginRequest {
            iin: person.iin.clone(),
            password: citizen::PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        citizen::code(&login),
        "login_refused",
        "no half-made account"
    );

    // ЖТ МДБ is back: the same draft and the same registration go through.
    mesh.set_fault(SystemId::Individuals, FaultKind::None).await;
    let checked = mesh
        .check(&operator, &draft.reference)
        .await
        .expect("found now");
    assert_eq!(checked.stage(), Stage::Checked, "{checked:?}");
    mesh.accept(&operator, &draft.reference)
        .await
        .expect("accepted");
    mesh.register(&person).await.expect("registered now");
    let token = mesh.log_in(&person).await;
    let eds = mesh.issue_eds(&person);
    let citizen = Citizen { person, eds, token };
    let sent = mesh.apply(&citizen, "003").await;

    let ready = mesh
        .wait_request(&operator, &draft.reference, &[Stage::ResultReady])
        .await;
    assert_eq!(ready.stage(), Stage::ResultReady);
    let issued = mesh
        .wait_cabinet(&citizen, &sent.reference, &[PortalStage::Issued])
        .await;
    assert!(issued.has_result, "{issued:?}");
    let trace = mesh.settled_trace(&draft.reference).await;
    assert_one_result(&draft.reference, &trace, SystemId::Intake);
    let trace = mesh.settled_trace(&sent.reference).await;
    assert_one_result(&sent.reference, &trace, SystemId::Portal);
}
