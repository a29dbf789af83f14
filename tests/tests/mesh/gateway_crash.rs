//! The gateway's process killed with SIGKILL in the middle of a stream of
//! applications from the portal and the intake, and started again on the
//! same settings: every application ends with exactly one result, one
//! journal entry at the provider, one line in the cabinet or at the counter,
//! every message of it processed, and the gateway's log verifies.

use crate::citizen::Citizen;
use crate::mesh::{Mesh, Options, PATIENCE};
use crate::provider::assert_one_result;
use egov_proto::intake::Stage as CounterStage;
use egov_proto::portal::Stage;
use egov_trust::SystemId;

/// Applications of each half of the stream: from the portal, at the counter.
const PORTAL: usize = 4;
const COUNTER: usize = 3;

#[tokio::test]
async fn a_sigkilled_gateway_restarted_loses_nothing() {
    let mesh = Mesh::start(Options::default()).await;
    // What needs the gateway answering at once (look-ups in ЖТ МДБ): two
    // registered citizens, and checked drafts at the counter.
    let citizens: Vec<Citizen> = vec![mesh.citizen().await, mesh.citizen().await];
    let operator = mesh.operator("operator").await;
    let mut drafts = Vec::new();
    for _ in 0..COUNTER * 2 {
        let recipient = mesh.person().await;
        drafts.push(mesh.checked_draft(&operator, "003", &recipient).await);
    }

    // The first half of the stream…
    let mut applications: Vec<(&Citizen, String)> = Vec::new();
    for n in 0..PORTAL {
        let citizen = &citizens[n % 2];
        applications.push((citizen, mesh.apply(citizen, "003").await.reference));
    }
    for reference in &drafts[..COUNTER] {
        mesh.accept(&operator, reference).await.expect("accepted");
    }
    // …moving through the gateway: the provider has registered one.
    egov_testkit::wait::until(
        PATIENCE,
        "an application registered by the provider",
        || async {
            for (citizen, reference) in &applications {
                if mesh.cabinet(citizen, reference).await.stage() != Stage::Sent {
                    return Ok(());
                }
            }
            Err("every one still at SENT".to_owned())
        },
    )
    .await;
    mesh.sigkill(SystemId::Gateway);

    // The kill interrupted work in flight: applications without a result.
    let mut unfinished = 0;
    for (citizen, reference) in &applications {
        let stage = mesh.cabinet(citizen, reference).await.stage();
        unfinished += usize::from(!matches!(stage, Stage::Issued | Stage::Refused));
    }
    for reference in &drafts[..COUNTER] {
        let stage = mesh.request(&operator, reference).await.stage();
        unfinished += usize::from(stage != CounterStage::ResultReady);
    }
    eprintln!(
        "at the kill: {unfinished} of {} applications without their result",
        PORTAL + COUNTER
    );
    assert!(
        unfinished > 0,
        "every application had its result before the kill: nothing was in flight"
    );

    // The second half, taken while the gateway is down (it waits in the
    // broker).
    for n in 0..PORTAL {
        let citizen = &citizens[n % 2];
        applications.push((citizen, mesh.apply(citizen, "003").await.reference));
    }
    for reference in &drafts[COUNTER..] {
        mesh.accept(&operator, reference).await.expect("accepted");
    }

    // The same settings file, a new process.
    mesh.restart(SystemId::Gateway).await;

    for (citizen, reference) in &applications {
        let view = mesh
            .wait_cabinet(citizen, reference, &[Stage::Issued, Stage::Refused])
            .await;
        assert_eq!(view.stage(), Stage::Issued, "{view:?}");
        let trace = mesh.settled_trace(reference).await;
        assert_one_result(reference, &trace, SystemId::Portal);
    }
    for reference in &drafts {
        let view = mesh
            .wait_request(&operator, reference, &[CounterStage::ResultReady])
            .await;
        assert_eq!(view.result_state(), egov_proto::workstation::State::Issued);
        let trace = mesh.settled_trace(reference).await;
        assert_one_result(reference, &trace, SystemId::Intake);
    }

    // Each once in the cabinets, at the counter and in the journal.
    mesh.assert_each_once_in_the_cabinets(&citizens, &applications)
        .await;
    let mut at_counter: Vec<String> = mesh
        .requests(&operator)
        .await
        .into_iter()
        .map(|r| r.reference)
        .collect();
    at_counter.sort();
    let mut taken = drafts.clone();
    taken.sort();
    assert_eq!(at_counter, taken, "each request once at the counter");
    mesh.assert_one_journal_entry_each(PORTAL * 2 + COUNTER * 2)
        .await;
    let log = mesh.verify_log().await;
    assert!(log.intact, "{}", log.problem);
}
