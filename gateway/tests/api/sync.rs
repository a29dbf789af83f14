//! Synchronous calls (registry look-ups): answered through the gateway and
//! bound to the request's bytes; failing within the deadline when the
//! receiver is down, and never delivered late.

use crate::helpers::*;
use egov_bus::{CallError, Reply, envelope};
use egov_proto::envelope::{DeliveryStatus, Kind};
use egov_proto::gateway::CallRequest;
use egov_trust::SystemId;
use std::time::Duration;

#[tokio::test]
async fn a_call_is_answered_with_the_hash_of_the_requests_signed_bytes() {
    let gw = spawn_gateway().await;
    let registry =
        Recorder::answering(gw.mesh.pool("individuals").await, b"person record".to_vec()).await;
    let _individuals = gw.system(SystemId::Individuals, registry.clone()).await;
    let intake = gw.mesh.bus(SystemId::Intake, None).await;

    let reply = intake
        .call(lookup(), Duration::from_secs(10))
        .await
        .expect("an answer");

    let Reply::Response(answer) = reply else {
        panic!("a response, not a rejection")
    };
    assert_eq!(answer.payload.as_ref(), b"person record");
    let request = registry.next().await;
    assert_eq!(answer.header.correlation_id, request.message_id());
    assert_eq!(
        answer.header.request_hash.as_ref(),
        request.opened.signed_hash()
    );
    envelope::verify_stamp(&gw.mesh.pki.trust(), &answer.envelope, chrono::Utc::now())
        .await
        .expect("the answer is countersigned");
    assert_eq!(
        gw.status(request.message_id()).await.status,
        DeliveryStatus::Processed as i32
    );
    gw.stop().await;
}

/// Issue 2: a synchronous call to a receiver that is down fails within its
/// deadline with a clear code, and the expired request is never delivered.
#[tokio::test]
async fn a_call_to_a_receiver_that_is_down_times_out_and_is_never_delivered_later() {
    let gw = spawn_gateway().await;
    let intake = gw.mesh.bus(SystemId::Intake, None).await;
    let deadline = Duration::from_millis(500);
    let mut statuses = intake.statuses();

    let started = tokio::time::Instant::now();
    let error = intake.call(lookup(), deadline).await.unwrap_err();
    let waited = started.elapsed();

    assert!(matches!(error, CallError::Timeout(_)), "{error:?}");
    assert_eq!(error.code(), "call_timeout");
    // Not before the deadline; after it by no more than a loaded machine's
    // late timer (generous slack: what is ruled out is a call left hanging
    // until something else gives up).
    assert!(
        waited >= deadline && waited < deadline + Duration::from_secs(5),
        "{waited:?}"
    );

    // The request expires in the registry's queue; the gateway records it and
    // tells the caller.
    let expired = wait_any_status(&mut statuses, DeliveryStatus::Expired).await;
    assert_eq!(expired.code, "message_expired");
    let status = gw.status(&expired.message_id).await;
    assert_eq!(status.status, DeliveryStatus::Expired as i32);

    // The registry comes up; a later call is answered, and the expired one
    // never reaches its handler (it would have come first: the queue is FIFO).
    let registry = Recorder::answering(gw.mesh.pool("individuals").await, b"ok".to_vec()).await;
    let _individuals = gw.system(SystemId::Individuals, registry.clone()).await;
    let reply = intake
        .call(lookup(), Duration::from_secs(10))
        .await
        .expect("the registry answers now");
    let handled = registry.next().await;
    assert_eq!(handled.message_id(), reply.opened().header.correlation_id);
    assert_eq!(
        registry.effects().await,
        (1, 1),
        "only the second request was handled"
    );
    gw.stop().await;
}

/// Issue 12 (chaos): a receiver that takes a look-up and never answers —
/// a registry switched to "down" with the request in hand, a crash before
/// the answer — said nothing, and the request stayed QUEUED for good. The
/// gateway settles it EXPIRED once its deadline is `deadline_grace` past,
/// and tells the caller; the receiver is not asked again.
#[tokio::test]
async fn a_request_its_receiver_took_and_never_answered_expires_at_the_gateway() {
    let gw = spawn_gateway_with(&[("EGOV__GATEWAY__DEADLINE_GRACE", "1s")]).await;
    // Takes every message and answers nothing (Outcome::Done).
    let registry = Recorder::new(gw.mesh.pool("individuals").await).await;
    let _individuals = gw.system(SystemId::Individuals, registry.clone()).await;
    let intake = gw.mesh.bus(SystemId::Intake, None).await;
    let mut statuses = intake.statuses();
    let deadline = Duration::from_millis(500);

    let error = intake.call(lookup(), deadline).await.unwrap_err();
    assert_eq!(error.code(), "call_timeout", "{error}");
    let taken = registry.next().await;
    let request = taken.message_id().to_owned();

    let expired = tokio::time::timeout(PATIENCE, async {
        loop {
            let change = statuses.recv().await.expect("status stream");
            if change.message_id == request {
                return change;
            }
        }
    })
    .await
    .expect("the caller hears what became of its request");
    assert_eq!(expired.status, DeliveryStatus::Expired as i32);
    assert_eq!(expired.code, "message_expired");
    assert!(
        expired.detail.contains("no answer and no receipt"),
        "{}",
        expired.detail
    );
    let status = gw.status(&request).await;
    assert_eq!(status.status, DeliveryStatus::Expired as i32);
    let deadline_at = taken.opened.expires_at().expect("a look-up has a deadline");
    let settled_at = expired
        .at
        .as_ref()
        .and_then(envelope::from_timestamp)
        .expect("a time");
    assert!(
        settled_at >= deadline_at + chrono::Duration::seconds(1),
        "not before the grace: deadline {deadline_at}, settled {settled_at}"
    );
    assert_eq!(registry.effects().await, (1, 1), "handled once, not again");
    gw.stop().await;
}

#[tokio::test]
async fn a_call_the_gateway_refuses_fails_at_once_with_the_gateways_code() {
    let gw = spawn_gateway().await;
    let portal = gw.mesh.bus(SystemId::Portal, None).await;
    let started = tokio::time::Instant::now();
    let notary =
        egov_bus::Outgoing::raw(SystemId::Notary, "power-of-attorney", Kind::Request, vec![]);

    let error = portal
        .call(notary, Duration::from_secs(10))
        .await
        .unwrap_err();

    assert_eq!(error.code(), "route_not_allowed", "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused without waiting for the deadline"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_partner_without_amqp_calls_through_grpc() {
    let gw = spawn_gateway().await;
    let registry =
        Recorder::answering(gw.mesh.pool("individuals").await, b"person record".to_vec()).await;
    let _individuals = gw.system(SystemId::Individuals, registry).await;
    let intake = gw.mesh.identity(SystemId::Intake);
    let message = lookup().ttl(Duration::from_secs(10));
    let header = message.header(SystemId::Intake, chrono::Utc::now(), "");
    let request = envelope::seal(&intake, header, message.payload.clone());
    let request_hash = egov_trust::sha256(&request.signed);

    let answer = gw
        .client
        .clone()
        .call(CallRequest {
            envelope: Some(request),
        })
        .await
        .expect("Call is answered")
        .into_inner()
        .response
        .expect("a response envelope");

    let opened = envelope::open_envelope(answer).unwrap();
    assert_eq!(opened.kind(), Kind::Response);
    assert_eq!(opened.payload.as_ref(), b"person record");
    assert_eq!(opened.header.request_hash.as_ref(), request_hash);
    gw.stop().await;
}
