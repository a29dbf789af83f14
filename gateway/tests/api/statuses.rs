//! Delivery statuses that tell the truth: after a burst of messages every
//! status is final and true — in GetStatus, in Trace and in the sender's
//! reports — with no fault and across faults mid-burst; receipts are applied
//! once and never routed; a receiver's refusal is REJECTED with its code.

use crate::helpers::*;
use egov_bus::{Outgoing, envelope};
use egov_proto::envelope::{DeliveryStatus, Kind, Receipts, StatusChange};
use egov_proto::gateway::{SendRequest, TraceRequest};
use egov_testkit::mesh::RETRY_DELAYS;
use egov_trust::SystemId;
use std::collections::BTreeMap;

const BURST: usize = 1000;

enum Fault {
    None,
    /// The broker closes every connection of the mesh, as a restart does.
    BrokerDropsConnections,
    /// Every database session of the mesh is terminated, as a PostgreSQL
    /// restart does (a real restart would break the tests running beside).
    DatabaseDropsConnections,
}

/// Sends `BURST` applications from the portal to a recording workstation,
/// brings `fault` once a fifth of them are handled, and checks that every
/// one was handled once and ends PROCESSED wherever a sender looks.
async fn burst_ends_processed(fault: Fault) {
    let gw = spawn_gateway().await;
    let (_workstation, receiver) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let reports = collect_reports(portal.statuses());

    let sends = (0..BURST).map(|i| {
        let portal = portal.clone();
        async move {
            portal
                .send(application(&format!("burst-{i}")))
                .await
                .expect("published")
        }
    });
    let ids: Vec<String> = futures_util::future::join_all(sends).await;

    if !matches!(fault, Fault::None) {
        for _ in 0..BURST / 5 {
            receiver.next().await;
        }
        let (handled, _) = receiver.effects().await;
        match fault {
            Fault::BrokerDropsConnections => {
                assert!(gw.mesh.close_broker_connections().await >= 3);
            }
            Fault::DatabaseDropsConnections => {
                assert!(gw.mesh.database.drop_connections().await > 0);
            }
            Fault::None => unreachable!(),
        }
        assert!(
            handled < BURST as i64,
            "the fault came after all {BURST} were handled: nothing was in flight"
        );
    }

    // Every message handled, each exactly once.
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    loop {
        let (rows, distinct) = receiver.effects().await;
        assert_eq!(rows, distinct, "an effect happened twice");
        if rows == BURST as i64 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {rows} of {BURST} handled"
        );
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), receiver.next()).await;
    }

    // Every status final and true in the gateway's record…
    let pool = gw.mesh.pool("gateway").await;
    let counts = settled_statuses(&pool, &ids).await;
    assert_eq!(
        counts,
        BTreeMap::from([("DELIVERY_STATUS_PROCESSED".to_owned(), BURST as i64)])
    );
    // …in GetStatus, as a sender asks…
    for id in &ids {
        let status = gw.status(id).await;
        assert_eq!(status.status(), DeliveryStatus::Processed, "{id}");
        assert!(status.processed_at.is_some() && status.delivered_at.is_some());
    }
    // …and in the sender's own reports.
    reports
        .wait_all(&ids, DeliveryStatus::Processed, PATIENCE)
        .await;
    let log = egov_gateway::log::verify(&pool, 0, 0).await.unwrap();
    assert!(log.intact, "{}", log.problem);
    gw.stop().await;
}

#[tokio::test]
async fn a_burst_of_a_thousand_ends_every_message_processed() {
    burst_ends_processed(Fault::None).await;
}

#[tokio::test]
async fn a_burst_across_the_broker_dropping_every_connection_ends_every_message_processed() {
    burst_ends_processed(Fault::BrokerDropsConnections).await;
}

#[tokio::test]
async fn a_burst_across_the_database_dropping_every_connection_ends_every_message_processed() {
    burst_ends_processed(Fault::DatabaseDropsConnections).await;
}

/// A receipts envelope signed by the workstation about `message_id`.
fn receipts_envelope(
    gw: &TestGateway,
    message_id: &str,
    status: DeliveryStatus,
) -> egov_proto::envelope::Envelope {
    let payload = Receipts {
        receipts: vec![StatusChange {
            message_id: message_id.to_owned(),
            status: status as i32,
            at: Some(envelope::timestamp(chrono::Utc::now())),
            attempt: 1,
            receiver: "workstation".into(),
            ..StatusChange::default()
        }],
    };
    let message = Outgoing::raw(
        SystemId::Gateway,
        "receipts",
        Kind::Receipt,
        egov_proto::prost::Message::encode_to_vec(&payload),
    );
    let header = message.header(SystemId::Workstation, chrono::Utc::now(), "");
    envelope::seal(
        &gw.mesh.identity(SystemId::Workstation),
        header,
        message.payload,
    )
}

#[tokio::test]
async fn a_receipts_envelope_that_comes_back_is_applied_once_and_published_nowhere() {
    let gw = spawn_gateway().await;
    // A workstation that is not consuming: only the test reports on it.
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let workstation = gw.mesh.bus(SystemId::Workstation, None).await;
    let mut statuses = portal.statuses();
    let id = portal.send(application("receipt-again")).await.unwrap();
    wait_status(&mut statuses, &id, DeliveryStatus::Queued).await;

    let receipt = receipts_envelope(&gw, &id, DeliveryStatus::Delivered);
    let receipt_id = envelope::open_envelope(receipt.clone())
        .unwrap()
        .header
        .message_id;
    // Sent, then the same bytes again three times: as a redelivery after a
    // crash would bring them, and as the gateway's own retry path would.
    for _ in 0..4 {
        workstation.publish(&receipt).await.unwrap();
    }
    wait_status(&mut statuses, &id, DeliveryStatus::Delivered).await;
    // A later message through the same ingress marks that the copies were
    // decided (the pipeline keeps the ingress order).
    let later = portal.send(application("after-the-copies")).await.unwrap();
    wait_status(&mut statuses, &later, DeliveryStatus::Queued).await;

    let receipt_status = gw.status(&receipt_id).await;
    assert_eq!(
        receipt_status.status(),
        DeliveryStatus::Processed,
        "the gateway applied the receipts: {receipt_status:?}"
    );
    let pool = gw.mesh.pool("gateway").await;
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM message_log WHERE message_id = $1")
        .bind(receipt_id.parse::<uuid::Uuid>().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(logged, 1, "the receipt is logged once");
    let names = gw.mesh.names();
    assert_eq!(gw.mesh.queue_depth(&names.gateway_dead()).await, 0);
    for delay in RETRY_DELAYS {
        assert_eq!(
            gw.mesh.queue_depth(&names.gateway_retry(delay)).await,
            0,
            "nothing waits to be retried"
        );
    }
    // The message itself: delivered once, by the one receipt.
    let status = gw.status(&id).await;
    assert_eq!(status.status(), DeliveryStatus::Delivered);
    assert_eq!(status.attempts, 1);
    gw.stop().await;
}

#[tokio::test]
async fn a_message_its_receiver_refuses_is_rejected_with_the_receivers_code_over_amqp() {
    let gw = spawn_gateway().await;
    let refusing = Recorder::refusing(
        gw.mesh.pool("workstation").await,
        "not_an_application",
        "the payload is not an application form",
    )
    .await;
    let _workstation = gw.system(SystemId::Workstation, refusing).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();

    let id = portal.send(application("refused-amqp")).await.unwrap();

    let report = wait_status(&mut statuses, &id, DeliveryStatus::Rejected).await;
    assert_eq!(report.code, "not_an_application");
    assert_eq!(report.detail, "the payload is not an application form");
    let status = gw.status(&id).await;
    assert_eq!(status.status(), DeliveryStatus::Rejected);
    assert_eq!(status.code, "not_an_application");
    let trace = gw
        .client
        .clone()
        .trace(TraceRequest {
            conversation_id: "refused-amqp".into(),
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let entry = trace
        .entries
        .iter()
        .find(|e| e.message_id == id)
        .expect("the application in the trace");
    assert_eq!(entry.status(), DeliveryStatus::Rejected);
    assert_eq!(entry.status_code, "not_an_application");
    gw.stop().await;
}

#[tokio::test]
async fn a_message_its_receiver_refuses_is_rejected_with_the_receivers_code_over_grpc_send() {
    let gw = spawn_gateway().await;
    let refusing = Recorder::refusing(
        gw.mesh.pool("workstation").await,
        "not_an_application",
        "the payload is not an application form",
    )
    .await;
    let _workstation = gw.system(SystemId::Workstation, refusing).await;
    // A partner with no inbox: it sends over gRPC and asks GetStatus.
    let message = application("refused-grpc");
    let header = message.header(SystemId::Portal, chrono::Utc::now(), "");
    let id = header.message_id.clone();
    let sealed = envelope::seal(&gw.mesh.identity(SystemId::Portal), header, message.payload);
    gw.client
        .clone()
        .send(SendRequest {
            envelope: Some(sealed),
        })
        .await
        .expect("accepted by the gateway");

    // A partner with no inbox asks until the receiver's verdict is in.
    let status = egov_testkit::wait::until(PATIENCE, "the receiver's verdict", || async {
        let status = gw.status(&id).await;
        if rank(status.status()) == 4 {
            Ok(status)
        } else {
            Err(format!("{:?}", status.status()))
        }
    })
    .await;
    assert_eq!(status.status(), DeliveryStatus::Rejected);
    assert_eq!(status.code, "not_an_application");
    assert_eq!(status.detail, "the payload is not an application form");
    gw.stop().await;
}
