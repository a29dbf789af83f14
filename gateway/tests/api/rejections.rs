//! Every reason the gateway refuses a message, each in its own test: the
//! sender gets that reason's code, the log records it, and nothing reaches
//! the receiver.

use crate::helpers::*;
use chrono::{Duration, Utc};
use egov_bus::{Bus, Outgoing, envelope};
use egov_proto::envelope::{DeliveryStatus, Envelope, Header, Kind};
use egov_proto::gateway::{SendRequest, TraceRequest};
use egov_trust::{CertificateAuthority, Identity, SubjectSpec, SystemId};
use tonic_types::StatusExt;

/// Publishes `envelope` over AMQP as `sender` and checks the whole refusal.
async fn refused_over_amqp(gw: &TestGateway, sender: &Bus, envelope: Envelope, code: &str) {
    let opened = envelope::open_envelope(envelope.clone()).unwrap();
    let id = opened.header.message_id.clone();
    let receiver = SystemId::parse(&opened.header.receiver).unwrap_or(SystemId::Workstation);
    let mut statuses = sender.statuses();

    sender.publish(&envelope).await.unwrap();

    let report = wait_status(&mut statuses, &id, DeliveryStatus::Rejected).await;
    assert_eq!(report.code, code, "{}", report.detail);
    assert!(!report.detail.is_empty());
    if id.parse::<uuid::Uuid>().is_ok() {
        let status = gw.status(&id).await;
        assert_eq!(status.status, DeliveryStatus::Rejected as i32);
        assert_eq!(status.code, code, "the log records the reason");
    }
    if receiver != SystemId::Gateway {
        let inbox = gw.mesh.names().inbox(receiver);
        assert_eq!(
            gw.mesh.queue_depth(&inbox).await,
            0,
            "nothing reached {receiver}"
        );
    }
}

fn header_for(identity: &Identity, message: &Outgoing) -> Header {
    message.header(identity.system, Utc::now(), "")
}

async fn portal(gw: &TestGateway) -> Bus {
    gw.recording(SystemId::Portal).await.0
}

#[tokio::test]
async fn a_malformed_envelope_is_refused_with_malformed_envelope() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let identity = gw.mesh.identity(SystemId::Portal);
    let mut header = header_for(&identity, &application("bad-1"));
    header.message_id = "not-a-uuid".into();
    let sealed = envelope::seal(&identity, header, b"x".to_vec());
    refused_over_amqp(&gw, &portal, sealed, "malformed_envelope").await;
    let trace = gw
        .client
        .clone()
        .trace(TraceRequest {
            conversation_id: "bad-1".into(),
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(trace.entries.len(), 1);
    assert_eq!(trace.entries[0].verdict, "malformed_envelope");

    // Bytes that are no envelope at all, over gRPC.
    let garbage = Envelope {
        signed: vec![0xff, 0xff, 0xff].into(),
        signature: vec![1].into(),
        signer_certificate: vec![1].into(),
        ..Envelope::default()
    };
    let error = gw
        .client
        .clone()
        .send(SendRequest {
            envelope: Some(garbage),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::InvalidArgument);
    assert!(
        error.message().starts_with("malformed_envelope:"),
        "{}",
        error.message()
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_sender_that_is_no_system_of_the_mesh_is_refused_with_unknown_sender() {
    let gw = spawn_gateway().await;
    let identity = gw.mesh.identity(SystemId::Portal);
    let mut header = header_for(&identity, &application("bad-2"));
    header.sender = "bank".into();
    let id = header.message_id.clone();
    let sealed = envelope::seal(&identity, header, b"x".to_vec());

    let error = gw
        .client
        .clone()
        .send(SendRequest {
            envelope: Some(sealed),
        })
        .await
        .unwrap_err();

    assert_eq!(error.code(), tonic::Code::Unauthenticated);
    assert!(
        error.message().starts_with("unknown_sender:"),
        "{}",
        error.message()
    );
    let info = error
        .get_details_error_info()
        .expect("ErrorInfo in the details");
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("unknown_sender", "gateway.egov-mesh")
    );
    let status = gw.status(&id).await;
    assert_eq!(
        (status.status, status.code.as_str()),
        (DeliveryStatus::Rejected as i32, "unknown_sender")
    );
    let inbox = gw.mesh.names().inbox(SystemId::Workstation);
    assert_eq!(gw.mesh.queue_depth(&inbox).await, 0);
    gw.stop().await;
}

#[tokio::test]
async fn a_signature_over_other_bytes_is_refused_with_bad_signature() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let mut sealed = portal.seal(&application("bad-3"), "");
    sealed.signature = gw
        .mesh
        .identity(SystemId::Portal)
        .key
        .sign(b"other bytes")
        .into();
    refused_over_amqp(&gw, &portal, sealed, "bad_signature").await;
    gw.stop().await;
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_with_untrusted_certificate() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let rogue = CertificateAuthority::create("rogue CA", Utc::now(), Duration::days(1)).unwrap();
    let issued = rogue
        .issue(
            &SubjectSpec::System(SystemId::Portal),
            Utc::now() - Duration::hours(1),
            Utc::now() + Duration::days(1),
        )
        .unwrap();
    let impostor =
        Identity::from_der(issued.certificate_der.clone(), issued.signing_key()).unwrap();
    let message = application("bad-4");
    let sealed = envelope::seal(
        &impostor,
        header_for(&impostor, &message),
        message.payload.clone(),
    );
    refused_over_amqp(&gw, &portal, sealed, "untrusted_certificate").await;
    gw.stop().await;
}

#[tokio::test]
async fn an_expired_certificate_is_refused_with_certificate_expired() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let expired = gw.mesh.pki.identity_valid(
        SystemId::Portal,
        Utc::now() - Duration::days(10),
        Utc::now() - Duration::days(1),
    );
    let message = application("bad-5");
    let sealed = envelope::seal(
        &expired,
        header_for(&expired, &message),
        message.payload.clone(),
    );
    refused_over_amqp(&gw, &portal, sealed, "certificate_expired").await;
    gw.stop().await;
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_with_certificate_revoked() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let (revoked, serial) = gw.mesh.pki.revocable_identity(SystemId::Portal);
    gw.mesh.pki.revoke(&serial);
    let message = application("bad-6");
    let sealed = envelope::seal(
        &revoked,
        header_for(&revoked, &message),
        message.payload.clone(),
    );
    refused_over_amqp(&gw, &portal, sealed, "certificate_revoked").await;
    gw.stop().await;
}

#[tokio::test]
async fn a_message_signed_with_a_tls_key_is_refused_with_certificate_not_for_signing() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    // The portal's own TLS certificate, of the mesh CA, valid, its own
    // system: only its purpose is wrong.
    let tls = gw.mesh.pki.tls_identity(SystemId::Portal);
    let message = application("bad-tls");
    let sealed = envelope::seal(&tls, header_for(&tls, &message), message.payload.clone());
    refused_over_amqp(&gw, &portal, sealed, "certificate_not_for_signing").await;
    gw.stop().await;
}

#[tokio::test]
async fn another_systems_certificate_is_refused_with_certificate_not_senders() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let intake = gw.mesh.identity(SystemId::Intake);
    let portal_identity = gw.mesh.identity(SystemId::Portal);
    let message = application("bad-7");
    // The header says portal; the signature and certificate are intake's.
    let header = header_for(&portal_identity, &message);
    let sealed = envelope::seal(&intake, header, message.payload.clone());
    refused_over_amqp(&gw, &portal, sealed, "certificate_not_senders").await;
    gw.stop().await;
}

#[tokio::test]
async fn a_route_the_diagrams_do_not_draw_is_refused_with_route_not_allowed() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let message = Outgoing::raw(
        SystemId::Notary,
        "power-of-attorney",
        Kind::Request,
        b"x".to_vec(),
    );
    let sealed = portal.seal(&message, "");
    refused_over_amqp(&gw, &portal, sealed, "route_not_allowed").await;
    gw.stop().await;
}

#[tokio::test]
async fn a_message_past_its_expiry_is_refused_with_message_expired() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let identity = gw.mesh.identity(SystemId::Portal);
    let mut header = header_for(&identity, &application("bad-9"));
    header.expires_at = Some(envelope::timestamp(Utc::now() - Duration::seconds(1)));
    let sealed = envelope::seal(&identity, header, b"x".to_vec());
    refused_over_amqp(&gw, &portal, sealed, "message_expired").await;
    gw.stop().await;
}

#[tokio::test]
async fn a_message_id_sent_twice_is_refused_with_duplicate_message_id_and_delivered_once() {
    let gw = spawn_gateway().await;
    let portal = portal(&gw).await;
    let sealed = portal.seal(&application("dup"), "");
    let id = envelope::open_envelope(sealed.clone())
        .unwrap()
        .header
        .message_id;
    let mut statuses = portal.statuses();
    portal.publish(&sealed).await.unwrap();
    wait_status(&mut statuses, &id, DeliveryStatus::Queued).await;

    portal.publish(&sealed).await.unwrap();
    let report = wait_status(&mut statuses, &id, DeliveryStatus::Rejected).await;
    assert_eq!(report.code, "duplicate_message_id");
    assert!(
        report.detail.contains("already accepted"),
        "{}",
        report.detail
    );

    // The first is still queued, and only one copy waits for the receiver.
    assert_eq!(gw.status(&id).await.status, DeliveryStatus::Queued as i32);
    let inbox = gw.mesh.names().inbox(SystemId::Workstation);
    assert_eq!(gw.mesh.queue_depth(&inbox).await, 1);
    gw.stop().await;
}

#[tokio::test]
async fn an_answer_to_no_request_is_refused_with_unknown_request() {
    let gw = spawn_gateway().await;
    let (individuals, _) = gw.recording(SystemId::Individuals).await;
    let mut answer = Outgoing::raw(
        SystemId::Intake,
        "person-by-iin",
        Kind::Response,
        b"{}".to_vec(),
    );
    answer.correlation_id = uuid::Uuid::now_v7().to_string();
    answer.request_hash = vec![7; 32];
    let sealed = individuals.seal(&answer, "");
    refused_over_amqp(&gw, &individuals, sealed, "unknown_request").await;
    gw.stop().await;
}

#[tokio::test]
async fn an_answer_whose_request_hash_differs_is_refused_with_request_hash_mismatch() {
    let gw = spawn_gateway().await;
    let (intake, _) = gw.recording(SystemId::Intake).await;
    let (individuals, _) = gw.recording(SystemId::Individuals).await;
    let mut statuses = intake.statuses();
    // A real request, accepted by the gateway...
    let request_id = intake.send(lookup()).await.unwrap();
    wait_status(&mut statuses, &request_id, DeliveryStatus::Queued).await;
    // ...answered with a hash of other bytes.
    let mut answer = Outgoing::raw(
        SystemId::Intake,
        "person-by-iin",
        Kind::Response,
        b"{}".to_vec(),
    );
    answer.correlation_id = request_id;
    answer.request_hash = egov_trust::sha256(b"some other request").to_vec();
    let sealed = individuals.seal(&answer, "");
    refused_over_amqp(&gw, &individuals, sealed, "request_hash_mismatch").await;
    gw.stop().await;
}
