//! Size limits (issue 13, point 3): an envelope over `gateway.max_envelope_bytes`
//! is refused with `payload_too_large` over AMQP and over gRPC alike, and a
//! gRPC request over `grpc.max_message_bytes` gets the same code from the
//! port itself, never tonic's OUT_OF_RANGE without a code.

use crate::helpers::*;
use chrono::Utc;
use egov_bus::envelope;
use egov_proto::envelope::{DeliveryStatus, Envelope};
use egov_proto::gateway::{SendRequest, TraceRequest};
use egov_trust::SystemId;
use tonic_types::StatusExt;

const ENVELOPE_LIMIT: usize = 16 * 1024;
const MESSAGE_LIMIT: usize = 64 * 1024;

/// A gateway whose limits are small, so the tests send small messages.
async fn gateway_with_small_limits() -> TestGateway {
    spawn_gateway_with(&[
        ("EGOV__GATEWAY__MAX_ENVELOPE_BYTES", "16384"),
        ("EGOV__GRPC__MAX_MESSAGE_BYTES", "65536"),
    ])
    .await
}

/// An application from the portal with a payload of `bytes` bytes.
fn application_of(gw: &TestGateway, conversation: &str, bytes: usize) -> Envelope {
    let identity = gw.mesh.identity(SystemId::Portal);
    let mut message = application(conversation);
    message.payload = vec![b'x'; bytes];
    let header = message.header(SystemId::Portal, Utc::now(), "");
    envelope::seal(&identity, header, message.payload)
}

/// The ErrorInfo of a `payload_too_large` refusal: (limit, limit_bytes, size_bytes).
fn too_large(error: &tonic::Status) -> (String, usize, usize) {
    assert_eq!(error.code(), tonic::Code::ResourceExhausted, "{error:?}");
    assert!(
        error.message().starts_with("payload_too_large: "),
        "{}",
        error.message()
    );
    let info = error
        .get_error_details()
        .error_info()
        .cloned()
        .unwrap_or_else(|| panic!("no ErrorInfo on {error:?}"));
    assert_eq!(info.reason, "payload_too_large");
    assert_eq!(info.domain, "gateway.egov-mesh");
    let number = |key: &str| info.metadata[key].parse::<usize>().unwrap();
    (
        info.metadata["limit"].clone(),
        number("limit_bytes"),
        number("size_bytes"),
    )
}

#[tokio::test]
async fn a_send_over_either_limit_is_refused_with_payload_too_large_naming_the_limit() {
    let gw = gateway_with_small_limits().await;
    let mut client = gw.client.clone();

    // Within the port's limit, over the envelope's: the gateway refuses it.
    let envelope = application_of(&gw, "big-grpc-1", 2 * ENVELOPE_LIMIT);
    let error = client
        .send(SendRequest {
            envelope: Some(envelope),
        })
        .await
        .unwrap_err();
    let (limit, limit_bytes, size) = too_large(&error);
    assert_eq!(limit, "gateway.max_envelope_bytes");
    assert_eq!(limit_bytes, ENVELOPE_LIMIT);
    assert!(size > 2 * ENVELOPE_LIMIT, "{size}");
    assert!(
        error
            .message()
            .contains("gateway.max_envelope_bytes is 16384"),
        "{}",
        error.message()
    );

    // Over the port's limit: refused from the message's first bytes.
    let envelope = application_of(&gw, "big-grpc-2", 2 * MESSAGE_LIMIT);
    let error = client
        .send(SendRequest {
            envelope: Some(envelope),
        })
        .await
        .unwrap_err();
    let (limit, limit_bytes, size) = too_large(&error);
    assert_eq!(limit, "grpc.max_message_bytes");
    assert_eq!(limit_bytes, MESSAGE_LIMIT);
    assert!(size > 2 * MESSAGE_LIMIT, "{size}");

    // The connection still serves, and the refused envelope is logged
    // without its bytes; nothing reached the receiver.
    let trace = client
        .trace(TraceRequest {
            conversation_id: "big-grpc-1".into(),
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(trace.entries.len(), 1);
    assert_eq!(trace.entries[0].verdict, "payload_too_large");
    let inbox = gw.mesh.names().inbox(SystemId::Workstation);
    assert_eq!(gw.mesh.queue_depth(&inbox).await, 0);
    gw.stop().await;
}

/// The case with the settings as shipped: a 9 MiB envelope, which
/// tonic alone answered with OUT_OF_RANGE "decoded message length too large".
#[tokio::test]
async fn with_the_default_settings_a_9_mib_send_gets_payload_too_large() {
    let gw = spawn_gateway().await;
    let envelope = application_of(&gw, "big-default", 9 * 1024 * 1024);
    let error = gw
        .client
        .clone()
        .send(SendRequest {
            envelope: Some(envelope),
        })
        .await
        .unwrap_err();
    let (limit, limit_bytes, _) = too_large(&error);
    assert_eq!(limit, "grpc.max_message_bytes");
    assert_eq!(limit_bytes, 8 * 1024 * 1024);
    gw.stop().await;
}

#[tokio::test]
async fn an_amqp_publish_over_the_envelope_limit_is_refused_with_payload_too_large() {
    let gw = gateway_with_small_limits().await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let envelope = application_of(&gw, "big-amqp", 2 * ENVELOPE_LIMIT);
    let id = envelope::open_envelope(envelope.clone())
        .unwrap()
        .header
        .message_id;
    let mut statuses = portal.statuses();

    portal.publish(&envelope).await.unwrap();

    // The sender hears it, as of any refused envelope.
    let report = wait_status(&mut statuses, &id, DeliveryStatus::Rejected).await;
    assert_eq!(report.code, "payload_too_large", "{}", report.detail);
    assert!(
        report
            .detail
            .contains("gateway.max_envelope_bytes is 16384"),
        "{}",
        report.detail
    );
    let status = gw.status(&id).await;
    assert_eq!(status.status, DeliveryStatus::Rejected as i32);
    assert_eq!(status.code, "payload_too_large");
    let inbox = gw.mesh.names().inbox(SystemId::Workstation);
    assert_eq!(gw.mesh.queue_depth(&inbox).await, 0, "nothing delivered");

    // A message within the limit from the same sender still goes through.
    let small = application_of(&gw, "small-amqp", 100);
    let small_id = envelope::open_envelope(small.clone())
        .unwrap()
        .header
        .message_id;
    portal.publish(&small).await.unwrap();
    wait_status(&mut statuses, &small_id, DeliveryStatus::Queued).await;
    gw.stop().await;
}

/// Issue 14 point 5: each sender's rate. Within its burst every message is
/// accepted; past it a message is refused `rate_limited` (RESOURCE_EXHAUSTED,
/// logged as refused, never accepted), while another sender's messages
/// still pass.
#[tokio::test]
async fn a_sender_over_its_rate_is_refused_rate_limited_and_others_still_pass() {
    // A burst of 3 and practically no refill: the 4th is over.
    let gw = spawn_gateway_with(&[
        ("EGOV__GATEWAY__RATE_LIMIT_PER_SECOND", "0.001"),
        ("EGOV__GATEWAY__RATE_LIMIT_BURST", "3"),
    ])
    .await;
    let mut client = gw.client.clone();
    for n in 0..3 {
        client
            .send(SendRequest {
                envelope: Some(application_of(&gw, &format!("rate-{n}"), 10)),
            })
            .await
            .unwrap_or_else(|e| panic!("message {n} within the burst: {e:?}"));
    }
    let error = client
        .send(SendRequest {
            envelope: Some(application_of(&gw, "rate-over", 10)),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::ResourceExhausted, "{error:?}");
    assert!(
        error.message().starts_with("rate_limited: "),
        "{}",
        error.message()
    );
    let info = error
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    assert_eq!(info.reason, "rate_limited");
    let trace = client
        .trace(TraceRequest {
            conversation_id: "rate-over".into(),
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .expect("trace")
        .into_inner();
    let verdicts: Vec<&str> = trace.entries.iter().map(|e| e.verdict.as_str()).collect();
    assert_eq!(
        verdicts,
        ["rate_limited"],
        "logged as refused, not accepted"
    );

    // Another sender has its own allowance.
    let identity = gw.mesh.identity(SystemId::Intake);
    let message = application("rate-intake");
    let header = message.header(SystemId::Intake, Utc::now(), "");
    client
        .send(SendRequest {
            envelope: Some(envelope::seal(&identity, header, message.payload)),
        })
        .await
        .expect("the intake is not limited by the portal's rate");
    gw.stop().await;
}
