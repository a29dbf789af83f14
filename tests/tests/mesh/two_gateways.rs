//! Two gateway instances on one broker and one database (issue 15 point 5):
//! they take turns at the ingress (competing consumers) and write one hash
//! chain (each re-chains its batch when the other moved the head). One is
//! killed with SIGKILL in the middle of a stream of applications and not
//! started again: its unacknowledged deliveries go back to the ingress and
//! the other instance carries on. Every application ends with exactly one
//! result, once in its cabinet and once in the journal, and the log
//! verifies.

use crate::citizen::Citizen;
use crate::mesh::{Mesh, Options, PATIENCE};
use crate::provider::assert_one_result;
use egov_proto::portal::Stage;
use egov_testkit::wait;
use egov_trust::SystemId;

/// Applications before the kill, and as many after.
const HALF: usize = 5;

#[tokio::test]
async fn two_gateways_share_the_ingress_and_the_chain_and_one_killed_loses_nothing() {
    let mesh = Mesh::start(Options::default()).await;
    mesh.start_second_gateway().await;
    let citizens: Vec<Citizen> = vec![mesh.citizen().await, mesh.citizen().await];

    let mut applications: Vec<(&Citizen, String)> = Vec::new();
    for n in 0..HALF {
        let citizen = &citizens[n % 2];
        applications.push((citizen, mesh.apply(citizen, "003").await.reference));
    }
    // Both instances take work from the ingress.
    let second = mesh.second_gateway_metrics();
    let accepted_by_second =
        wait::until(PATIENCE, "the second gateway accepts messages", || async {
            let scrape = egov_testkit::metrics::scrape(second).await;
            match scrape.count("egov_gateway_messages_accepted_total", &[]) {
                n if n > 0.0 => Ok(n),
                _ => Err("none yet".to_owned()),
            }
        })
        .await;
    let first = egov_testkit::metrics::scrape(mesh.metrics_address(SystemId::Gateway))
        .await
        .count("egov_gateway_messages_accepted_total", &[]);
    eprintln!(
        "before the kill: the first gateway accepted {first}, the second {accepted_by_second}"
    );
    assert!(first > 0.0, "the first gateway took no message");
    mesh.sigkill_second_gateway();
    let mut unfinished = 0;
    for (citizen, reference) in &applications {
        let stage = mesh.cabinet(citizen, reference).await.stage();
        unfinished += usize::from(!matches!(stage, Stage::Issued | Stage::Refused));
    }
    eprintln!("at the kill: {unfinished} of {HALF} applications without their result");
    assert!(
        unfinished > 0,
        "every application had its result before the kill: nothing was in flight"
    );

    for n in 0..HALF {
        let citizen = &citizens[n % 2];
        applications.push((citizen, mesh.apply(citizen, "003").await.reference));
    }
    for (citizen, reference) in &applications {
        let view = mesh
            .wait_cabinet(citizen, reference, &[Stage::Issued, Stage::Refused])
            .await;
        assert_eq!(view.stage(), Stage::Issued, "{view:?}");
        let trace = mesh.settled_trace(reference).await;
        assert_one_result(reference, &trace, SystemId::Portal);
    }
    mesh.assert_each_once_in_the_cabinets(&citizens, &applications)
        .await;
    mesh.assert_one_journal_entry_each(HALF * 2).await;
    let log = mesh.verify_log().await;
    assert!(log.intact, "{}", log.problem);
}
