//! Allowed messages: countersigned, delivered, processed, waiting for their
//! receiver, retried and dead-lettered.

use crate::helpers::*;
use egov_bus::envelope;
use egov_proto::envelope::DeliveryStatus;
use egov_proto::gateway::{ListRoutesRequest, TraceRequest};
use egov_trust::SystemId;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// DESIGN.md / issue 2: an allowed message reaches its receiver with the
/// gateway's countersignature, and GetStatus says delivered, then processed.
#[tokio::test]
async fn an_allowed_message_arrives_countersigned_and_is_reported_delivered_then_processed() {
    // Arrange
    let gw = spawn_gateway().await;
    let gate = Arc::new(Semaphore::new(0));
    let receiver = Recorder::gated(gw.mesh.pool("workstation").await, gate.clone()).await;
    let _workstation = gw.system(SystemId::Workstation, receiver.clone()).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();

    // Act
    let id = portal.send(application("app-1")).await.unwrap();

    // Assert: it arrives, countersigned over exactly the bytes the portal signed.
    wait_status(&mut statuses, &id, DeliveryStatus::Queued).await;
    let incoming = receiver.next().await;
    assert_eq!(incoming.message_id(), id);
    assert_eq!(incoming.opened.payload.as_ref(), b"application form");
    let stamp = envelope::verify_stamp(
        &gw.mesh.pki.trust(),
        &incoming.opened.envelope,
        chrono::Utc::now(),
    )
    .await
    .expect("the gateway's countersignature verifies");
    assert_eq!(stamp.message_id, id);
    assert!(stamp.log_sequence >= 1);
    let portal_cert =
        egov_trust::CertificateInfo::parse(&incoming.opened.envelope.signer_certificate).unwrap();
    assert!(portal_cert.verifies(
        &incoming.opened.envelope.signed,
        &incoming.opened.envelope.signature
    ));

    // Delivered while the handler works, processed once it has committed.
    wait_status(&mut statuses, &id, DeliveryStatus::Delivered).await;
    let status = gw.status(&id).await;
    assert_eq!(status.status, DeliveryStatus::Delivered as i32);
    assert!(status.delivered_at.is_some() && status.processed_at.is_none());
    gate.add_permits(1);
    wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    let status = gw.status(&id).await;
    assert_eq!(status.status, DeliveryStatus::Processed as i32);
    assert!(status.processed_at.is_some());
    assert_eq!(
        (status.sender.as_str(), status.receiver.as_str()),
        ("portal", "workstation")
    );
    assert_eq!(receiver.effects().await, (1, 1));
    gw.stop().await;
}

/// A message to a receiver that is not consuming waits in its queue, and
/// arrives when the receiver starts.
#[tokio::test]
async fn a_message_to_a_receiver_that_is_not_running_waits_and_arrives_when_it_starts() {
    let gw = spawn_gateway().await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();

    let id = portal.send(application("app-2")).await.unwrap();
    wait_status(&mut statuses, &id, DeliveryStatus::Queued).await;
    let inbox = gw.mesh.names().inbox(SystemId::Workstation);
    assert_eq!(
        gw.mesh.queue_depth(&inbox).await,
        1,
        "it waits in the workstation's inbox"
    );
    assert_eq!(gw.status(&id).await.status, DeliveryStatus::Queued as i32);

    let (_workstation, receiver) = gw.recording(SystemId::Workstation).await;
    assert_eq!(receiver.next().await.message_id(), id);
    wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    assert_eq!(receiver.effects().await, (1, 1));
    gw.stop().await;
}

/// A handler that keeps failing is retried after growing delays (100 ms,
/// then 200 ms in tests), then the message is dead-lettered and its sender
/// is told.
#[tokio::test]
async fn a_failing_handler_is_retried_with_growing_delays_then_dead_lettered() {
    let gw = spawn_gateway().await;
    let receiver = Recorder::failing(gw.mesh.pool("workstation").await).await;
    let _workstation = gw.system(SystemId::Workstation, receiver.clone()).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();

    let id = portal.send(application("app-3")).await.unwrap();

    let mut attempts = Vec::new();
    for _ in 0..3 {
        let (incoming, at) = receiver.next_timed().await;
        attempts.push((incoming.attempt, at));
    }
    assert_eq!(
        attempts.iter().map(|a| a.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let first_wait = attempts[1].1 - attempts[0].1;
    let second_wait = attempts[2].1 - attempts[1].1;
    assert!(
        first_wait >= egov_testkit::mesh::RETRY_DELAYS[0],
        "{first_wait:?}"
    );
    assert!(
        second_wait >= egov_testkit::mesh::RETRY_DELAYS[1],
        "{second_wait:?}"
    );

    let dead = wait_status(&mut statuses, &id, DeliveryStatus::DeadLettered).await;
    assert_eq!(dead.code, "retries_exhausted");
    assert!(
        dead.detail.contains("registry it needs is down"),
        "{}",
        dead.detail
    );
    let status = gw.status(&id).await;
    assert_eq!(status.status, DeliveryStatus::DeadLettered as i32);
    assert_eq!(status.attempts, 3);
    let dead_queue = gw.mesh.names().dead(SystemId::Workstation);
    assert_eq!(gw.mesh.queue_depth(&dead_queue).await, 1);
    assert_eq!(receiver.effects().await, (0, 0), "no effect was committed");
    gw.stop().await;
}

/// Trace lists a conversation's messages in log order, with their times.
#[tokio::test]
async fn trace_lists_the_messages_of_a_conversation_in_order() {
    let gw = spawn_gateway().await;
    let (_workstation, _receiver) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let first = portal.send(application("case-7")).await.unwrap();
    wait_status(&mut statuses, &first, DeliveryStatus::Processed).await;
    let second = portal.send(application("case-7")).await.unwrap();
    wait_status(&mut statuses, &second, DeliveryStatus::Processed).await;
    let _other = portal.send(application("case-8")).await.unwrap();

    let trace = gw
        .client
        .clone()
        .trace(TraceRequest {
            conversation_id: "case-7".into(),
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = trace
        .entries
        .iter()
        .map(|e| e.message_id.as_str())
        .collect();
    assert_eq!(ids, vec![first.as_str(), second.as_str()]);
    assert!(trace.entries[0].log_sequence < trace.entries[1].log_sequence);
    assert!(
        trace
            .entries
            .iter()
            .all(|e| e.verdict == "accepted" && e.logged_at.is_some())
    );
    assert!(
        trace
            .entries
            .iter()
            .all(|e| e.status == DeliveryStatus::Processed as i32)
    );
    gw.stop().await;
}

/// ListRoutes is the routing table, every row citing its source.
#[tokio::test]
async fn list_routes_shows_the_diagrams_rows_with_their_sources() {
    let gw = spawn_gateway().await;
    let routes = gw
        .client
        .clone()
        .list_routes(ListRoutesRequest {})
        .await
        .unwrap()
        .into_inner()
        .routes;
    assert!(routes.len() >= 9);
    let lookup = routes
        .iter()
        .find(|r| r.sender == "intake" && r.receiver == "individuals")
        .expect("diagram 1, process 3");
    assert_eq!(lookup.service, "person-by-iin");
    assert_eq!(lookup.diagram, "1");
    assert!(lookup.process.contains("process 3"));
    assert!(
        routes
            .iter()
            .all(|r| !r.seed.is_empty() && !r.diagram.is_empty() && !r.process.is_empty())
    );
    gw.stop().await;
}

/// Graceful shutdown of a system: it stops taking messages, lets the one in
/// hand finish and acknowledges it, then exits; what it had not taken waits
/// in its queue for the next start.
#[tokio::test]
async fn a_system_shutting_down_finishes_the_message_in_hand_and_leaves_the_rest_queued() {
    let gw = spawn_gateway().await;
    let gate = Arc::new(Semaphore::new(0));
    let receiver = Recorder::gated(gw.mesh.pool("workstation").await, gate.clone()).await;
    let mut workstation_settings = gw.mesh.bus_settings();
    workstation_settings.prefetch = 1;
    let workstation = egov_bus::Bus::start(
        workstation_settings,
        gw.mesh.identity(SystemId::Workstation),
        gw.mesh.pki.trust(),
        Some(egov_bus::Inbox {
            handler: receiver.clone(),
            pool: gw.mesh.pool("workstation").await,
        }),
    )
    .await
    .unwrap();
    workstation.wait_connected(PATIENCE).await.unwrap();
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let first = portal.send(application("shutdown-1")).await.unwrap();
    let second = portal.send(application("shutdown-2")).await.unwrap();
    assert_eq!(receiver.next().await.message_id(), first);

    // Shut down while the first is in the handler.
    let stopping = tokio::spawn({
        let workstation = workstation.clone();
        async move { workstation.shutdown().await }
    });
    gate.add_permits(1);
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .expect("shutdown completes once the handler is done")
        .unwrap();

    wait_status(&mut statuses, &first, DeliveryStatus::Processed).await;
    assert_eq!(receiver.effects().await, (1, 1));
    let inbox = gw.mesh.names().inbox(SystemId::Workstation);
    assert_eq!(gw.mesh.queue_depth(&inbox).await, 1, "the second waits");
    assert_eq!(
        gw.status(&second).await.status,
        DeliveryStatus::Queued as i32
    );
    gw.stop().await;
}

/// The gateway stopped gracefully in the middle of a stream: what it had in
/// hand is delivered and acknowledged, the rest waits in its ingress queue —
/// every message is in exactly one of the two.
#[tokio::test]
async fn a_gateway_stopped_gracefully_leaves_every_message_in_exactly_one_queue() {
    let gw = spawn_gateway().await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let total = 300;
    let sends = (0..total).map(|i| {
        let portal = portal.clone();
        async move {
            portal
                .send(application(&format!("graceful-{i}")))
                .await
                .unwrap()
        }
    });
    let ids = futures_util::future::join_all(sends).await;
    wait_status(&mut statuses, &ids[0], DeliveryStatus::Queued).await;

    let mesh = gw.stop_keeping_mesh().await;

    let names = mesh.names();
    let waiting = mesh.queue_depth(&names.ingress()).await;
    let delivered = mesh.queue_depth(&names.inbox(SystemId::Workstation)).await;
    assert_eq!(
        waiting + delivered,
        total as u32,
        "{waiting} waiting + {delivered} delivered"
    );
    assert!(delivered >= 1);
}

/// A receipt about a failed message is stored before the delivery is
/// acknowledged, so a system that crashes right after still reports it:
/// the restarted system's relay sends what the database holds.
#[tokio::test]
async fn a_stored_receipt_reaches_the_gateway_from_the_restarted_system() {
    let gw = spawn_gateway().await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    // The workstation's tables exist; it is not consuming.
    let (workstation, _) = gw.recording(SystemId::Workstation).await;
    workstation.pause_inbox();
    workstation.shutdown().await;
    let id = portal.send(application("stored-receipt")).await.unwrap();
    wait_status(&mut statuses, &id, DeliveryStatus::Queued).await;

    // What the crashed workstation had written just before dying.
    let pool = gw.mesh.pool("workstation").await;
    sqlx::query(
        "INSERT INTO bus_receipts (message_id, status, code, detail, attempt, service, conversation_id, correlation_id)
         VALUES ($1, $2, 'retries_exhausted', 'the registry it needs is down', 3, 'submit-application', 'stored-receipt', '')",
    )
    .bind(id.parse::<uuid::Uuid>().unwrap())
    .bind(DeliveryStatus::DeadLettered as i16)
    .execute(&pool)
    .await
    .unwrap();

    // Restarted with its dependency still down: it cannot process the
    // message (a processed message would rightly outrank the dead letter).
    let failing = Recorder::failing(gw.mesh.pool("workstation").await).await;
    let restarted = gw.system(SystemId::Workstation, failing).await;
    restarted.pause_inbox();
    restarted.wake_relay();

    let dead = wait_status(&mut statuses, &id, DeliveryStatus::DeadLettered).await;
    assert_eq!(dead.code, "retries_exhausted");
    assert_eq!(
        gw.status(&id).await.status,
        DeliveryStatus::DeadLettered as i32
    );
    // The relay deletes a receipt once the broker confirms it, which may be
    // after the gateway has already forwarded the status: wait, not assert.
    egov_testkit::wait::until(PATIENCE, "sent receipts are removed", || {
        let pool = pool.clone();
        async move {
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM bus_receipts")
                .fetch_one(&pool)
                .await
                .map_err(|e| e.to_string())?;
            if left == 0 {
                Ok(())
            } else {
                Err(format!("{left} left"))
            }
        }
    })
    .await;
    gw.stop().await;
}
