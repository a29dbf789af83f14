//! Who may read what (issue 14 point 2): GetStatus and Trace answer a
//! system only about the messages it sent or received, the gateway's
//! operator (signing as "gateway") about everything; VerifyLog only the
//! operator; a read without a credential is refused.

use crate::helpers::*;
use egov_bus::envelope;
use egov_proto::envelope::DeliveryStatus;
use egov_proto::gateway::{GetStatusRequest, TraceRequest, VerifyLogRequest};
use egov_trust::SystemId;

fn read_as(gw: &TestGateway, system: SystemId) -> egov_proto::envelope::Envelope {
    envelope::credential(&gw.mesh.identity(system), "read")
}

#[tokio::test]
async fn each_system_reads_only_what_it_sent_or_received_and_the_log_only_the_operator() {
    let gw = spawn_gateway().await;
    let (_workstation, _receiver) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let id = portal.send(application("reads-1")).await.expect("sent");
    wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    let mut client = gw.client.clone();

    // No credential: refused before anything is looked up.
    let error = client
        .get_status(GetStatusRequest {
            message_id: id.clone(),
            credential: None,
        })
        .await
        .unwrap_err();
    assert!(
        error.message().starts_with("credential_refused: "),
        "{error:?}"
    );

    // The sender and the receiver read its status; another system does not.
    for party in [SystemId::Portal, SystemId::Workstation, SystemId::Gateway] {
        let status = client
            .get_status(GetStatusRequest {
                message_id: id.clone(),
                credential: Some(read_as(&gw, party)),
            })
            .await
            .unwrap_or_else(|e| panic!("{party} reads its message: {e:?}"))
            .into_inner();
        assert_eq!(status.status, DeliveryStatus::Processed as i32);
    }
    let error = client
        .get_status(GetStatusRequest {
            message_id: id.clone(),
            credential: Some(read_as(&gw, SystemId::Intake)),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::PermissionDenied, "{error:?}");
    assert!(error.message().starts_with("not_a_party: "), "{error:?}");

    // The same for the conversation's trace: the intake, a party to none
    // of it, reads nothing of it.
    let trace = |system| TraceRequest {
        conversation_id: "reads-1".into(),
        credential: Some(read_as(&gw, system)),
        ..Default::default()
    };
    let entries = client
        .trace(trace(SystemId::Portal))
        .await
        .expect("the portal reads its conversation")
        .into_inner()
        .entries;
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|e| e.sender == "portal" || e.receiver == "portal"),
        "{entries:?}"
    );
    let error = client.trace(trace(SystemId::Intake)).await.unwrap_err();
    assert!(error.message().starts_with("not_a_party: "), "{error:?}");

    // And the other way: the portal's certificate reads nothing of an
    // intake conversation.
    let (intake, _) = gw.recording(SystemId::Intake).await;
    let mut intake_statuses = intake.statuses();
    let counter = intake
        .send(application("reads-intake"))
        .await
        .expect("sent");
    wait_status(&mut intake_statuses, &counter, DeliveryStatus::Processed).await;
    let error = client
        .trace(TraceRequest {
            conversation_id: "reads-intake".into(),
            credential: Some(read_as(&gw, SystemId::Portal)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(error.message().starts_with("not_a_party: "), "{error:?}");

    // The log: the operator only.
    let error = client
        .verify_log(VerifyLogRequest {
            credential: Some(read_as(&gw, SystemId::Portal)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        error.message().starts_with("credential_refused: "),
        "{error:?}"
    );
    let report = client
        .verify_log(VerifyLogRequest {
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .expect("the operator verifies the log")
        .into_inner();
    assert!(report.intact, "{}", report.problem);
    gw.stop().await;
}
