//! Promises of the README and docs/architecture.md, each shown the way a
//! partner or an operator would see it: failing closed on a stale
//! revocation list, receipts and answers only from the right system, a
//! refused message leaving its id free, the order of the checks, a receiver
//! that trusts only the gateway's stamp and handles each id once, and
//! unacknowledged messages redelivered when the broker drops everything.

use crate::helpers::*;
use chrono::{Duration, Utc};
use egov_bus::{Bus, Context, Handler, HandlerError, Inbox, Incoming, Outcome, Outgoing, envelope};
use egov_proto::envelope::{DeliveryStatus, Envelope, Header, Kind, Receipts, StatusChange};
use egov_proto::gateway::{GetStatusRequest, SendRequest, TraceRequest};
use egov_proto::prost::Message;
use egov_trust::{CertificateAuthority, Identity, SubjectSpec, SystemId};
use futures_util::future::BoxFuture;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Sends `envelope` with the gateway's gRPC Send; the error if refused.
async fn grpc_send(gw: &TestGateway, envelope: Envelope) -> Result<(), tonic::Status> {
    gw.client
        .clone()
        .send(SendRequest {
            envelope: Some(envelope),
        })
        .await
        .map(|_| ())
}

/// The stable code at the start of a gateway error's message.
fn code_of(error: &tonic::Status) -> &str {
    error.message().split(':').next().unwrap_or_default()
}

/// What GetStatus says of `id`: its status, or the error's code.
async fn status_or_code(gw: &TestGateway, id: &str) -> Result<DeliveryStatus, String> {
    gw.client
        .clone()
        .get_status(GetStatusRequest {
            message_id: id.to_owned(),
            credential: Some(gw.mesh.operator_read()),
        })
        .await
        .map(|s| s.into_inner().status())
        .map_err(|e| code_of(&e).to_owned())
}

/// How many rows of the gateway's log carry `id`.
async fn logged(gw: &TestGateway, id: &str) -> i64 {
    let pool = gw.mesh.pool("gateway").await;
    sqlx::query_scalar("SELECT count(*) FROM message_log WHERE message_id = $1")
        .bind(id.parse::<uuid::Uuid>().expect("uuid"))
        .fetch_one(&pool)
        .await
        .expect("count log rows")
}

/// Waits until `condition` holds, failing with `what` after PATIENCE.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    egov_testkit::wait::until(PATIENCE, what, || {
        let holds = condition();
        async move {
            if holds.await {
                Ok(())
            } else {
                Err("it does not hold yet".to_owned())
            }
        }
    })
    .await
}

/// A portal application sealed by `identity` under `header` changes.
fn sealed_with(identity: &Identity, edit: impl FnOnce(&mut Header)) -> Envelope {
    let message = application("promises");
    let mut header = message.header(identity.system, Utc::now(), "");
    edit(&mut header);
    envelope::seal(identity, header, message.payload)
}

// --- Failing closed on revocation -----------------------------------------

/// README "Revoke a certificate" and architecture.md "Fail closed on
/// revocation": with the distribution point away for longer than
/// `trust.crl_max_stale`, a gRPC sender is told `gateway_unavailable`, a
/// message over AMQP is neither refused nor delivered but waits, and both
/// go through once the list can be had again.
#[tokio::test]
async fn beyond_crl_max_stale_the_gateway_fails_closed_and_messages_wait_for_the_list() {
    // A stale list may not be used at all: every check needs a fresh one.
    let gw = spawn_gateway_with(&[("EGOV__TRUST__CRL_MAX_STALE", "0s")]).await;
    let (_workstation, receiver) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let reports = collect_reports(portal.statuses());
    let mut statuses = portal.statuses();
    let before = portal.send(application("crl-before")).await.unwrap();
    wait_status(&mut statuses, &before, DeliveryStatus::Processed).await;

    gw.mesh.pki.set_crl_down(true);

    // gRPC: refused for now with gateway_unavailable, and the id not taken.
    let partner = gw.mesh.identity(SystemId::Portal);
    let over_grpc = sealed_with(&partner, |h| h.conversation_id = "crl-grpc".into());
    let grpc_id = envelope::open_envelope(over_grpc.clone())
        .unwrap()
        .header
        .message_id;
    let error = grpc_send(&gw, over_grpc.clone()).await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable, "{error:?}");
    assert_eq!(
        code_of(&error),
        "gateway_unavailable",
        "{}",
        error.message()
    );
    assert_eq!(
        status_or_code(&gw, &grpc_id).await,
        Err("unknown_message".to_owned()),
        "a message the gateway could not verify is not on record"
    );

    // AMQP: the gateway keeps asking for the list and keeps the message.
    let failed_before = gw.mesh.pki.crl_requests_failed();
    let waiting = portal.send(application("crl-waiting")).await.unwrap();
    eventually("the gateway asks for the list three more times", || async {
        gw.mesh.pki.crl_requests_failed() >= failed_before + 3
    })
    .await;
    assert_eq!(
        logged(&gw, &waiting).await,
        0,
        "neither refused nor accepted"
    );
    assert_eq!(
        status_or_code(&gw, &waiting).await,
        Err("unknown_message".to_owned())
    );
    assert_eq!(reports.get(&waiting), None, "no report yet");
    assert_eq!(receiver.effects().await, (1, 1), "nothing new delivered");

    // The list is back: the waiting message goes through, and the gRPC
    // partner's retry is accepted under the same id.
    gw.mesh.pki.set_crl_down(false);
    wait_status(&mut statuses, &waiting, DeliveryStatus::Processed).await;
    grpc_send(&gw, over_grpc).await.expect("accepted on retry");
    eventually("the retried gRPC message is processed", || async {
        status_or_code(&gw, &grpc_id).await == Ok(DeliveryStatus::Processed)
    })
    .await;
    assert_eq!(receiver.effects().await, (3, 3));
    let trace = gw
        .client
        .clone()
        .trace(TraceRequest {
            conversation_id: "crl-waiting".into(),
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let verdicts: Vec<&str> = trace.entries.iter().map(|e| e.verdict.as_str()).collect();
    assert_eq!(verdicts, vec!["accepted"], "logged once, never refused");
    gw.stop().await;
}

/// The other side of `crl_max_stale`: within it, an unreachable
/// distribution point does not stop the mesh; the last list is used.
#[tokio::test]
async fn within_crl_max_stale_the_last_revocation_list_is_used_and_messages_flow() {
    let gw = spawn_gateway_with(&[("EGOV__TRUST__CRL_MAX_STALE", "1h")]).await;
    let (_workstation, receiver) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let first = portal.send(application("stale-1")).await.unwrap();
    wait_status(&mut statuses, &first, DeliveryStatus::Processed).await;

    gw.mesh.pki.set_crl_down(true);
    let failed_before = gw.mesh.pki.crl_requests_failed();
    let second = portal.send(application("stale-2")).await.unwrap();
    wait_status(&mut statuses, &second, DeliveryStatus::Processed).await;

    assert!(
        gw.mesh.pki.crl_requests_failed() > failed_before,
        "the list was asked for, and could not be had"
    );
    assert_eq!(receiver.effects().await, (2, 2));
    gw.stop().await;
}

// --- Receipts and answers only from the right system ----------------------

/// A receipts envelope signed by `signer`, saying `message_id` reached
/// `status` at "the workstation" (a claim the signer makes).
fn receipt_from(
    gw: &TestGateway,
    signer: SystemId,
    message_id: &str,
    status: DeliveryStatus,
) -> Envelope {
    let payload = Receipts {
        receipts: vec![StatusChange {
            message_id: message_id.to_owned(),
            status: status as i32,
            at: Some(envelope::timestamp(Utc::now())),
            attempt: 1,
            receiver: "workstation".into(),
            ..StatusChange::default()
        }],
    };
    let message = Outgoing::raw(
        SystemId::Gateway,
        "receipts",
        Kind::Receipt,
        payload.encode_to_vec(),
    );
    let header = message.header(signer, Utc::now(), "");
    envelope::seal(&gw.mesh.identity(signer), header, message.payload)
}

/// architecture.md "Receivers send receipts": a receipt only changes
/// messages addressed to its signer. The notary says the portal's
/// application to the workstation was processed; nothing changes.
#[tokio::test]
async fn a_receipt_from_a_system_that_did_not_receive_the_message_changes_nothing() {
    let gw = spawn_gateway().await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let notary = gw.mesh.bus(SystemId::Notary, None).await;
    let mut statuses = portal.statuses();
    let id = portal.send(application("foreign-receipt")).await.unwrap();
    wait_status(&mut statuses, &id, DeliveryStatus::Queued).await;

    let receipt = receipt_from(&gw, SystemId::Notary, &id, DeliveryStatus::Processed);
    let receipt_id = envelope::open_envelope(receipt.clone())
        .unwrap()
        .header
        .message_id;
    notary.publish(&receipt).await.unwrap();
    eventually("the gateway has logged the notary's receipt", || async {
        logged(&gw, &receipt_id).await == 1
    })
    .await;

    let status = gw.status(&id).await;
    assert_eq!(status.status(), DeliveryStatus::Queued, "{status:?}");
    assert!(status.delivered_at.is_none() && status.processed_at.is_none());
    assert_eq!(
        gw.mesh
            .queue_depth(&gw.mesh.names().inbox(SystemId::Workstation))
            .await,
        1,
        "it still waits for the workstation"
    );

    // The same claim signed by the workstation, its receiver, does count.
    let workstation = gw.mesh.bus(SystemId::Workstation, None).await;
    workstation
        .publish(&receipt_from(
            &gw,
            SystemId::Workstation,
            &id,
            DeliveryStatus::Processed,
        ))
        .await
        .unwrap();
    wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    gw.stop().await;
}

/// architecture.md "Answers are routed by the request": the receiver of the
/// request must be the answer's sender. The notary answers intake's
/// look-up in ЖТ МДБ, bound to the right bytes: unknown_request, and intake
/// gets only the registry's own answer.
#[tokio::test]
async fn an_answer_from_a_system_other_than_the_requests_receiver_is_refused_with_unknown_request()
{
    let gw = spawn_gateway().await;
    let (intake, intake_inbox) = gw.recording(SystemId::Intake).await;
    // Consuming its inbox, so it hears the gateway's report on its answer.
    let (notary, _) = gw.recording(SystemId::Notary).await;
    let individuals = gw.mesh.bus(SystemId::Individuals, None).await;
    let mut intake_statuses = intake.statuses();
    let mut notary_statuses = notary.statuses();
    let request = intake.seal(&lookup(), "");
    let request_id = envelope::open_envelope(request.clone())
        .unwrap()
        .header
        .message_id;
    let request_hash = egov_trust::sha256(&request.signed).to_vec();
    intake.publish(&request).await.unwrap();
    wait_status(&mut intake_statuses, &request_id, DeliveryStatus::Queued).await;

    let answer = |payload: &[u8]| {
        let mut answer = Outgoing::raw(
            SystemId::Intake,
            "person-by-iin",
            Kind::Response,
            payload.to_vec(),
        );
        answer.correlation_id = request_id.clone();
        answer.request_hash = request_hash.clone();
        answer
    };
    let impostor = notary.seal(&answer(b"forged person record"), "");
    let impostor_id = envelope::open_envelope(impostor.clone())
        .unwrap()
        .header
        .message_id;
    notary.publish(&impostor).await.unwrap();
    let refused = wait_status(&mut notary_statuses, &impostor_id, DeliveryStatus::Rejected).await;
    assert_eq!(refused.code, "unknown_request", "{}", refused.detail);

    // The registry's own answer to the same request is accepted and is the
    // only message intake gets.
    let genuine = individuals.seal(&answer(b"person record"), "");
    individuals.publish(&genuine).await.unwrap();
    let got = intake_inbox.next().await;
    assert_eq!(got.sender(), Some(SystemId::Individuals));
    assert_eq!(got.opened.payload.as_ref(), b"person record");
    // The impostor's answer was decided before; had it been delivered, it
    // would have been handled before this one.
    eventually("intake has handled the registry's answer", || async {
        intake_inbox.effects().await == (1, 1)
    })
    .await;
    gw.stop().await;
}

// --- A refused message does not claim its id -------------------------------

/// architecture.md "A refused message does not claim its id": garbage sent
/// under an id (here, a signature the sender's key did not make) does not
/// block the real message with that id, over AMQP and over gRPC.
#[tokio::test]
async fn a_refused_message_leaves_its_id_free_for_the_real_message() {
    let gw = spawn_gateway().await;
    let (_workstation, receiver) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();

    // Over AMQP: a forged signature under the id, refused…
    let id = uuid::Uuid::now_v7().to_string();
    let message = application("claim-amqp").message_id(id.clone());
    let mut forged = portal.seal(&message, "");
    forged.signature = gw
        .mesh
        .identity(SystemId::Portal)
        .key
        .sign(b"bytes the sender never signed")
        .into();
    portal.publish(&forged).await.unwrap();
    let refused = wait_status(&mut statuses, &id, DeliveryStatus::Rejected).await;
    assert_eq!(refused.code, "bad_signature");
    // …then the real message under the same id goes all the way.
    portal.publish(&portal.seal(&message, "")).await.unwrap();
    wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    assert_eq!(receiver.next().await.message_id(), id);
    assert_eq!(gw.status(&id).await.status(), DeliveryStatus::Processed);

    // Over gRPC: a route the diagrams do not draw, refused, then the real one.
    let identity = gw.mesh.identity(SystemId::Portal);
    let grpc_id = uuid::Uuid::now_v7().to_string();
    let wrong_route = sealed_with(&identity, |h| {
        h.message_id = grpc_id.clone();
        h.receiver = "notary".into();
        h.service = "power-of-attorney".into();
    });
    let error = grpc_send(&gw, wrong_route).await.unwrap_err();
    assert_eq!(code_of(&error), "route_not_allowed");
    let good = sealed_with(&identity, |h| h.message_id = grpc_id.clone());
    grpc_send(&gw, good)
        .await
        .expect("the real message is accepted");
    assert_eq!(receiver.next().await.message_id(), grpc_id);
    // The handler saw it; its effect is there once its transaction commits.
    let pool = gw.mesh.pool("gateway").await;
    settled_statuses(&pool, std::slice::from_ref(&grpc_id)).await;
    assert_eq!(receiver.effects().await, (2, 2));
    gw.stop().await;
}

// --- The order of the checks -----------------------------------------------

/// README "What the gateway refuses, in the order it checks": an envelope
/// with several defects is refused with the first one's code. Each case
/// has the defect of its row and those of (some) later rows.
/// An answer whose id is a duplicate and that answers no request gets
/// duplicate_message_id, the earlier row (the gateway used to check the
/// request first).
#[tokio::test]
async fn an_envelope_with_several_defects_gets_the_code_of_the_first_in_the_readmes_order() {
    let gw = spawn_gateway().await;
    let (_workstation, _receiver) = gw.recording(SystemId::Workstation).await;
    let pki = &gw.mesh.pki;
    let portal = gw.mesh.identity(SystemId::Portal);
    let past = Utc::now() - Duration::seconds(5);
    let rogue = CertificateAuthority::create("rogue CA", Utc::now(), Duration::days(1)).unwrap();
    let identity_of = |issued: egov_trust::Issued| {
        Identity::from_der(issued.certificate_der.clone(), issued.signing_key()).unwrap()
    };
    // A certificate from another CA, expired, naming intake.
    let rogue_expired = identity_of(
        rogue
            .issue(
                &SubjectSpec::System(SystemId::Intake),
                Utc::now() - Duration::days(10),
                Utc::now() - Duration::days(1),
            )
            .unwrap(),
    );
    // A mesh certificate of intake, expired and revoked.
    let expired_revoked = pki
        .ca
        .issue(
            &SubjectSpec::System(SystemId::Intake),
            Utc::now() - Duration::days(10),
            Utc::now() - Duration::days(1),
        )
        .unwrap();
    pki.revoke(&expired_revoked.info.serial_hex());
    let expired_revoked = identity_of(expired_revoked);
    // A mesh certificate of intake, revoked.
    let (revoked, serial) = pki.revocable_identity(SystemId::Intake);
    pki.revoke(&serial);
    let intake = gw.mesh.identity(SystemId::Intake);
    let to_notary = |h: &mut Header| {
        h.sender = "portal".into();
        h.receiver = "notary".into();
        h.service = "power-of-attorney".into();
        h.expires_at = Some(envelope::timestamp(past));
    };
    let bad_signature = |mut e: Envelope| {
        e.signature = portal.key.sign(b"other bytes").into();
        e
    };
    // An id already accepted, for the duplicate.
    let taken = sealed_with(&portal, |_| {});
    let taken_id = envelope::open_envelope(taken.clone())
        .unwrap()
        .header
        .message_id;
    grpc_send(&gw, taken).await.expect("accepted");

    let cases: Vec<(&str, Envelope)> = vec![
        (
            "malformed_envelope",
            bad_signature(sealed_with(&rogue_expired, |h| {
                h.message_id = "not-a-uuid".into();
                h.sender = "bank".into();
            })),
        ),
        (
            "unknown_sender",
            bad_signature(sealed_with(&rogue_expired, |h| h.sender = "bank".into())),
        ),
        (
            "bad_signature",
            bad_signature(sealed_with(&rogue_expired, to_notary)),
        ),
        (
            "untrusted_certificate",
            sealed_with(&rogue_expired, to_notary),
        ),
        (
            "certificate_expired",
            sealed_with(&expired_revoked, to_notary),
        ),
        ("certificate_revoked", sealed_with(&revoked, to_notary)),
        ("certificate_not_senders", sealed_with(&intake, to_notary)),
        ("route_not_allowed", sealed_with(&portal, to_notary)),
        (
            "message_expired",
            sealed_with(&portal, |h| {
                h.message_id = taken_id.clone();
                h.expires_at = Some(envelope::timestamp(past));
            }),
        ),
        (
            "duplicate_message_id",
            sealed_with(&portal, |h| h.message_id = taken_id.clone()),
        ),
        (
            "duplicate_message_id",
            sealed_with(&portal, |h| {
                h.message_id = taken_id.clone();
                h.kind = egov_proto::envelope::Kind::Response as i32;
                h.correlation_id = uuid::Uuid::now_v7().to_string();
                h.request_hash = vec![0u8; 32].into();
            }),
        ),
    ];
    let mut got = Vec::new();
    for (expected, sealed) in cases {
        let error = grpc_send(&gw, sealed).await.unwrap_err();
        got.push((expected, code_of(&error).to_owned()));
    }
    let mismatched: Vec<_> = got.iter().filter(|(e, g)| e != g).collect();
    assert!(mismatched.is_empty(), "expected vs got: {mismatched:?}");
    gw.stop().await;
}

// --- The receiver trusts only the gateway's stamp, and handles an id once --

/// A workstation that takes one message at a time (prefetch 1), so what
/// is ahead in its queue is finished before the next is delivered.
async fn one_at_a_time(gw: &TestGateway, handler: Arc<dyn Handler>) -> Bus {
    let mut settings = gw.mesh.bus_settings();
    settings.prefetch = 1;
    let bus = Bus::start(
        settings,
        gw.mesh.identity(SystemId::Workstation),
        gw.mesh.pki.trust(),
        Some(Inbox {
            handler,
            pool: gw.mesh.pool("workstation").await,
        }),
    )
    .await
    .unwrap();
    bus.wait_connected(PATIENCE).await.unwrap();
    bus
}

/// Publishes `envelope` straight into `queue`, past the gateway.
async fn publish_straight(gw: &TestGateway, queue: &str, envelope: &Envelope) {
    let (connection, channel) = gw.mesh.channel().await;
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            lapin::options::BasicPublishOptions::default(),
            &envelope.encode_to_vec(),
            lapin::BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("the broker takes it");
    let _ = connection.close(200, "done".into()).await;
}

/// The ids the workstation's bus recorded as processed.
async fn processed_ids(gw: &TestGateway) -> Vec<String> {
    let pool = gw.mesh.pool("workstation").await;
    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT message_id FROM bus_processed_messages ORDER BY message_id")
            .fetch_all(&pool)
            .await
            .expect("processed ids");
    ids.into_iter().map(|id| id.to_string()).collect()
}

/// architecture.md "Receivers verify the stamp against a gateway
/// certificate from the mesh CA": messages put straight into an inbox —
/// unstamped, stamped by another system, stamped by a gateway of another
/// CA, or with a real stamp moved onto other bytes — are dead-lettered by
/// the receiver and never reach its handler.
#[tokio::test]
async fn an_unstamped_or_forged_message_in_an_inbox_is_dead_lettered_and_not_handled() {
    let gw = spawn_gateway().await;
    let receiver = Recorder::new(gw.mesh.pool("workstation").await).await;
    let _workstation = one_at_a_time(&gw, receiver.clone()).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let inbox = gw.mesh.names().inbox(SystemId::Workstation);
    let portal_identity = gw.mesh.identity(SystemId::Portal);
    let plain = || portal.seal(&application("forged"), "");
    let stamped_by = |stamper: &Identity, mut envelope: Envelope| {
        let id = envelope::open_envelope(envelope.clone())
            .unwrap()
            .header
            .message_id;
        envelope::stamp(stamper, &mut envelope, &id, Utc::now(), 1, &[0; 32]);
        envelope
    };
    let rogue = CertificateAuthority::create("rogue CA", Utc::now(), Duration::days(1)).unwrap();
    let rogue_gateway = rogue
        .issue(
            &SubjectSpec::System(SystemId::Gateway),
            Utc::now() - Duration::hours(1),
            Utc::now() + Duration::days(1),
        )
        .unwrap();
    let rogue_gateway = Identity::from_der(
        rogue_gateway.certificate_der.clone(),
        rogue_gateway.signing_key(),
    )
    .unwrap();
    // A genuine stamp (the mesh gateway's key) over one message, carried
    // by other signed bytes.
    let mut moved = stamped_by(&gw.mesh.identity(SystemId::Gateway), plain());
    moved.signed = plain().signed;
    let forged = [
        plain(),
        stamped_by(&portal_identity, plain()),
        stamped_by(&rogue_gateway, plain()),
        moved,
    ];
    for envelope in &forged {
        publish_straight(&gw, &inbox, envelope).await;
    }

    // A real message behind them: once it is processed, they were handled.
    let real = portal.send(application("real")).await.unwrap();
    wait_status(&mut statuses, &real, DeliveryStatus::Processed).await;

    assert_eq!(
        receiver.next().await.message_id(),
        real,
        "the handler saw only it"
    );
    assert_eq!(receiver.effects().await, (1, 1));
    assert_eq!(processed_ids(&gw).await, vec![real]);
    let dead = gw.mesh.names().dead(SystemId::Workstation);
    assert_eq!(gw.mesh.queue_depth(&dead).await, forged.len() as u32);
    gw.stop().await;
}

/// architecture.md "Redelivery versus duplicates": the receiver skips ids
/// it has processed. The gateway's delivery of a processed message comes
/// again (as after a crash between publish and acknowledgement): the
/// handler does not run again and the status stays PROCESSED.
#[tokio::test]
async fn a_message_id_the_receiver_already_processed_is_handled_once() {
    let gw = spawn_gateway().await;
    let receiver = Recorder::new(gw.mesh.pool("workstation").await).await;
    let _workstation = one_at_a_time(&gw, receiver.clone()).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let first = portal.send(application("once")).await.unwrap();
    wait_status(&mut statuses, &first, DeliveryStatus::Processed).await;
    let delivered = receiver.next().await;
    assert_eq!(delivered.message_id(), first);

    // The very delivery again, stamp and all, then a new message behind it.
    let inbox = gw.mesh.names().inbox(SystemId::Workstation);
    publish_straight(&gw, &inbox, &delivered.opened.envelope).await;
    let second = portal.send(application("once-more")).await.unwrap();
    wait_status(&mut statuses, &second, DeliveryStatus::Processed).await;

    assert_eq!(receiver.next().await.message_id(), second);
    assert_eq!(
        receiver.effects().await,
        (2, 2),
        "the first was handled once"
    );
    let dead = gw.mesh.names().dead(SystemId::Workstation);
    assert_eq!(gw.mesh.queue_depth(&dead).await, 0, "skipped, not refused");
    assert_eq!(gw.status(&first).await.status(), DeliveryStatus::Processed);
    gw.stop().await;
}

// --- Redelivery after the broker drops every connection ---------------------

/// A recorder that also notes every delivery the bus admits (before the
/// id is checked), with whether the broker had delivered it before.
struct Witness {
    recorder: Arc<Recorder>,
    admitted: Mutex<Vec<(String, bool)>>,
}

impl Handler for Witness {
    fn admit<'a>(
        &'a self,
        message: &'a Incoming,
    ) -> BoxFuture<'a, Result<Option<Outcome>, HandlerError>> {
        self.admitted
            .lock()
            .unwrap()
            .push((message.message_id().to_owned(), message.redelivered));
        Box::pin(async { Ok(None) })
    }

    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        ctx: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        self.recorder.handle(message, ctx)
    }
}

/// README "Restart the broker": unacknowledged messages are redelivered
/// and recognised by their ids. Messages are held in the receiver's handler
/// (delivered, not acknowledged) when the broker drops every connection;
/// the broker delivers them again, and each is handled once and ends
/// PROCESSED.
#[tokio::test]
async fn messages_in_flight_when_the_broker_drops_every_connection_are_redelivered_and_handled_once()
 {
    let gw = spawn_gateway().await;
    let gate = Arc::new(Semaphore::new(0));
    let witness = Arc::new(Witness {
        recorder: Recorder::gated(gw.mesh.pool("workstation").await, gate.clone()).await,
        admitted: Mutex::new(Vec::new()),
    });
    let _workstation = gw.system(SystemId::Workstation, witness.clone()).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            portal
                .send(application(&format!("in-flight-{i}")))
                .await
                .unwrap(),
        );
    }
    // All four are in the handler: delivered, not acknowledged.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(witness.recorder.next().await.message_id().to_owned());
    }
    held.sort();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        held, sorted,
        "every message in flight when the broker drops"
    );

    // Not a real broker restart: the machine's one RabbitMQ serves every
    // test running beside this one, and a restart would break them all. The
    // broker instead closes this test's connections only (`rabbitmqctl
    // close_connection`, picking them by the names the bus gives them,
    // `<namespace>/<system>/<instance>`), which is what a restart does to
    // them: the channels go, unacknowledged deliveries go back to their
    // queues, and each bus reconnects. (`make chaos` restarts the broker for
    // real, alone.)
    assert!(gw.mesh.close_broker_connections().await >= 3);
    // The broker gives them to the reconnected receiver again.
    eventually("every held message is delivered again", || async {
        let admitted = witness.admitted.lock().unwrap();
        ids.iter()
            .all(|id| admitted.iter().any(|(a, again)| a == id && *again))
    })
    .await;
    gate.add_permits(ids.len());

    let pool = gw.mesh.pool("gateway").await;
    let counts = settled_statuses(&pool, &ids).await;
    assert_eq!(
        counts,
        std::collections::BTreeMap::from([("DELIVERY_STATUS_PROCESSED".to_owned(), 4)])
    );
    assert_eq!(
        witness.recorder.effects().await,
        (4, 4),
        "each handled once"
    );
    gw.stop().await;
}
