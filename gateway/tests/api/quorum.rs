//! Quorum queues (issue 15 point 5), chosen by `bus.queue_type = "quorum"`
//! on every party of a namespace. They run on this single-node broker as
//! they would on a cluster: what the mesh relies on of its queues — per-queue
//! TTL of the retry queues and dead-lettering back into the inbox,
//! per-message expiry dead-lettered to the gateway — holds with them too.

use crate::helpers::*;
use egov_bus::names::QueueType;
use egov_proto::envelope::DeliveryStatus;
use egov_testkit::TestMesh;
use egov_trust::SystemId;
use std::time::Duration;

#[tokio::test]
async fn with_quorum_queues_messages_are_retried_dead_lettered_and_expire() {
    let mut mesh = TestMesh::new().await;
    mesh.queue_type = QueueType::Quorum;
    let gw = spawn_gateway_in(mesh, &[]).await;
    let names = gw.mesh.names();

    // The inboxes are quorum queues: the broker refuses them declared as
    // classic ones.
    let (connection, channel) = gw.mesh.channel().await;
    let mut classic = lapin::types::FieldTable::default();
    classic.insert(
        "x-queue-type".into(),
        lapin::types::AMQPValue::LongString("classic".into()),
    );
    let redeclared = channel
        .queue_declare(
            names.inbox(SystemId::Workstation).into(),
            lapin::options::QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            classic,
        )
        .await;
    assert!(
        redeclared
            .as_ref()
            .is_err_and(|e| e.to_string().contains("PRECONDITION_FAILED")),
        "{redeclared:?}"
    );
    let _ = connection.close(200, "done".into()).await;

    // A failing handler: retried through its retry queues (per-queue TTL,
    // dead-lettered back into the inbox), then dead-lettered.
    let receiver = Recorder::failing(gw.mesh.pool("workstation").await).await;
    let _workstation = gw.system(SystemId::Workstation, receiver.clone()).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let id = portal.send(application("quorum-1")).await.unwrap();
    let mut attempts = Vec::new();
    for _ in 0..3 {
        attempts.push(receiver.next().await.attempt);
    }
    assert_eq!(attempts, vec![1, 2, 3]);
    let dead = wait_status(&mut statuses, &id, DeliveryStatus::DeadLettered).await;
    assert_eq!(dead.code, "retries_exhausted");
    assert_eq!(
        gw.mesh
            .queue_depth(&names.dead(SystemId::Workstation))
            .await,
        1
    );

    // A call to a registry that is not running: the request expires in its
    // quorum inbox and is dead-lettered to the gateway, which reports it.
    let intake = gw.mesh.bus(SystemId::Intake, None).await;
    let mut statuses = intake.statuses();
    intake
        .call(lookup(), Duration::from_millis(300))
        .await
        .expect_err("nobody answers");
    let expired = wait_any_status(&mut statuses, DeliveryStatus::Expired).await;
    assert_eq!(expired.code, "message_expired");
    assert!(
        expired.detail.contains("expired in individuals's queue"),
        "dead-lettered from the quorum inbox, not swept: {}",
        expired.detail
    );
    gw.stop().await;
}
