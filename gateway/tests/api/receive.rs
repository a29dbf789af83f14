//! A partner that speaks nothing but gRPC (issue 13, point 3): it plays the
//! provider's workstation with the gateway's Send, Receive and Ack only —
//! no AMQP in this module's partner — and receives a request, answers it,
//! and sees its own delivery statuses; what it does not ack comes back.

use crate::helpers::*;
use egov_bus::envelope::{self, timestamp};
use egov_proto::envelope::{DeliveryStatus, Envelope, Header, Kind, StatusReport};
use egov_proto::gateway::{AckRequest, ReceiveRequest, SendRequest};
use egov_proto::prost::Message;
use egov_trust::SystemId;

/// The stable code of a gateway refusal (ErrorInfo's reason).
fn code(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_else(|| panic!("no ErrorInfo on {status:?}"))
}

/// The gRPC-only partner: its identity and the gateway's client.
struct Partner<'g> {
    gw: &'g TestGateway,
    system: SystemId,
}

impl Partner<'_> {
    /// A fresh credential: an envelope to the gateway, service "receive".
    fn credential(&self, created: chrono::DateTime<chrono::Utc>) -> Envelope {
        let header = Header {
            protocol_version: 1,
            message_id: envelope::new_message_id(),
            sender: self.system.to_string(),
            receiver: "gateway".into(),
            service: "receive".into(),
            kind: Kind::Request as i32,
            created_at: Some(timestamp(created)),
            ..Default::default()
        };
        envelope::seal(&self.gw.mesh.identity(self.system), header, Vec::new())
    }

    async fn receive(&self, wait_ms: u32) -> Option<(envelope::Opened, String)> {
        let answer = self
            .gw
            .client
            .clone()
            .receive(ReceiveRequest {
                credential: Some(self.credential(chrono::Utc::now())),
                wait_ms,
            })
            .await
            .expect("Receive")
            .into_inner();
        answer.envelope.map(|e| {
            (
                envelope::open_envelope(e).expect("an envelope"),
                answer.ack_token,
            )
        })
    }

    async fn ack(&self, token: &str) -> Result<(), tonic::Status> {
        self.gw
            .client
            .clone()
            .ack(AckRequest {
                credential: Some(self.credential(chrono::Utc::now())),
                ack_token: token.into(),
            })
            .await
            .map(|_| ())
    }
}

#[tokio::test]
async fn a_grpc_only_partner_receives_a_request_answers_it_and_sees_its_statuses() {
    let gw = spawn_gateway().await;
    let (portal, _recorded) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let partner = Partner {
        gw: &gw,
        system: SystemId::Workstation,
    };

    // Nothing yet: an empty answer, no error.
    assert!(partner.receive(0).await.is_none());

    let id = portal.send(application("grpc-partner")).await.unwrap();
    let (request, token) = partner.receive(5_000).await.expect("the application");
    assert_eq!(request.header.message_id, id);
    assert_eq!(request.kind(), Kind::Request);
    // Countersigned by the gateway, as over AMQP.
    envelope::verify_stamp(&gw.mesh.pki.trust(), &request.envelope, chrono::Utc::now())
        .await
        .expect("the gateway's stamp verifies");
    // Held for the partner until acked: nobody else gets it.
    assert!(partner.receive(0).await.is_none());
    partner.ack(&token).await.expect("acked");
    wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    // An ack token is good once.
    let again = partner.ack(&token).await.unwrap_err();
    assert_eq!(code(&again), "unknown_ack_token");

    // It answers: a status to the portal, sent with Send.
    let answer = egov_bus::Outgoing::raw(
        SystemId::Portal,
        "application-status",
        Kind::Request,
        b"accepted".to_vec(),
    )
    .conversation("grpc-partner");
    let header = answer.header(SystemId::Workstation, chrono::Utc::now(), "");
    let sealed = envelope::seal(
        &gw.mesh.identity(SystemId::Workstation),
        header,
        answer.payload,
    );
    let sent = gw
        .client
        .clone()
        .send(SendRequest {
            envelope: Some(sealed),
        })
        .await
        .expect("Send")
        .into_inner()
        .message_id;
    // Its own statuses arrive in its inbox as the gateway's reports: up to
    // PROCESSED once the portal has handled the answer.
    let mut seen = Vec::new();
    while !seen.contains(&(DeliveryStatus::Processed as i32)) {
        let (report, token) = partner.receive(5_000).await.expect("a status report");
        assert_eq!(report.kind(), Kind::DeliveryStatus, "{:?}", report.header);
        let changes = StatusReport::decode(report.payload.clone()).expect("a report");
        seen.extend(
            changes
                .changes
                .iter()
                .filter(|c| c.message_id == sent)
                .map(|c| c.status),
        );
        partner.ack(&token).await.expect("acked");
    }
    gw.stop().await;
}

#[tokio::test]
async fn what_a_partner_does_not_ack_is_given_out_again() {
    let gw = spawn_gateway_with(&[("EGOV__GATEWAY__RECEIVE_ACK_TIMEOUT", "1s")]).await;
    let (portal, _recorded) = gw.recording(SystemId::Portal).await;
    let partner = Partner {
        gw: &gw,
        system: SystemId::Workstation,
    };
    let id = portal.send(application("dropped")).await.unwrap();
    let (first, stale) = partner.receive(5_000).await.expect("the application");
    assert_eq!(first.header.message_id, id);
    // The partner dies holding it; after the ack timeout it is back.
    let (again, token) = partner.receive(10_000).await.expect("given out again");
    assert_eq!(again.header.message_id, id);
    assert_ne!(token, stale);
    let late = partner.ack(&stale).await.unwrap_err();
    assert_eq!(code(&late), "unknown_ack_token");
    partner.ack(&token).await.expect("acked");
    assert!(
        partner.receive(0).await.is_none(),
        "delivered once more, not twice"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_credential_that_proves_nothing_is_refused() {
    let gw = spawn_gateway().await;
    let partner = Partner {
        gw: &gw,
        system: SystemId::Workstation,
    };
    let receive = |credential: Envelope| {
        let mut client = gw.client.clone();
        async move {
            client
                .receive(ReceiveRequest {
                    credential: Some(credential),
                    wait_ms: 0,
                })
                .await
                .unwrap_err()
        }
    };
    // Kept and replayed: created an hour ago.
    let stale = partner.credential(chrono::Utc::now() - chrono::Duration::hours(1));
    assert_eq!(code(&receive(stale).await), "credential_refused");
    // Signed by someone else: says workstation, the portal's key.
    let mut forged = partner.credential(chrono::Utc::now());
    let portal = gw.mesh.identity(SystemId::Portal);
    forged.signer_certificate = portal.certificate_der.clone().into();
    forged.signature = portal.key.sign(&forged.signed).into();
    assert_eq!(code(&receive(forged).await), "credential_refused");
    // Not a credential: an application.
    let message = application("not-a-credential");
    let header = message.header(SystemId::Workstation, chrono::Utc::now(), "");
    let wrong = envelope::seal(
        &gw.mesh.identity(SystemId::Workstation),
        header,
        message.payload,
    );
    assert_eq!(code(&receive(wrong).await), "credential_refused");
    gw.stop().await;
}
