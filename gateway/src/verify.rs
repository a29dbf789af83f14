//! The checks on an incoming envelope, in the order the gateway makes them;
//! the first that fails decides the rejection code:
//!
//! 0. `payload_too_large` — it is over `gateway.max_envelope_bytes` (the
//!    sender is told when the envelope still opens to name one; the log
//!    keeps the header and the size, not the bytes);
//! 1. `malformed_envelope` — it does not decode, or a required field is
//!    missing or invalid (message id not a UUID, no kind, no timestamps…);
//! 2. `unknown_sender` — the header's sender is no system of the mesh;
//! 3. `bad_signature` — the signature does not verify over the exact signed
//!    bytes with the key of the enclosed certificate;
//! 4. `untrusted_certificate` — the certificate is not from the mesh CA;
//! 5. `certificate_expired` — outside its validity period;
//! 6. `certificate_revoked` — on the CA's revocation list;
//! 7. `certificate_not_for_signing` — a TLS certificate (no
//!    nonRepudiation): its key opens connections and signs no message;
//! 8. `certificate_not_senders` — it names another system than the sender;
//! 9. `route_not_allowed` — no routing-table row for (sender, receiver,
//!    service), or a kind the sender may not send;
//! 10. `message_expired` — its expires_at has passed.
//!
//! Then, in the log writer (they need the database): `duplicate_message_id`,
//! and for answers `unknown_request` and `request_hash_mismatch`.

use crate::routes::RoutingTable;
use chrono::{DateTime, Utc};
use egov_bus::envelope::{self, Opened};
use egov_proto::envelope::{Envelope, Kind};
use egov_proto::prost::Message;
pub use egov_runtime::refusal::Code;
use egov_trust::{CertError, Subject, SystemId, TrustStore};
use std::time::Duration;

/// Every reason the gateway refuses a message. The string codes are stable:
/// partners match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectCode {
    PayloadTooLarge,
    MalformedEnvelope,
    UnknownSender,
    BadSignature,
    UntrustedCertificate,
    CertificateExpired,
    CertificateRevoked,
    CertificateNotForSigning,
    CertificateNotSenders,
    RouteNotAllowed,
    MessageExpired,
    RateLimited,
    DuplicateMessageId,
    UnknownRequest,
    RequestHashMismatch,
}

impl Code for RejectCode {
    const ALL: &'static [Self] = &[
        RejectCode::PayloadTooLarge,
        RejectCode::MalformedEnvelope,
        RejectCode::UnknownSender,
        RejectCode::BadSignature,
        RejectCode::UntrustedCertificate,
        RejectCode::CertificateExpired,
        RejectCode::CertificateRevoked,
        RejectCode::CertificateNotForSigning,
        RejectCode::CertificateNotSenders,
        RejectCode::RouteNotAllowed,
        RejectCode::MessageExpired,
        RejectCode::RateLimited,
        RejectCode::DuplicateMessageId,
        RejectCode::UnknownRequest,
        RejectCode::RequestHashMismatch,
    ];

    fn as_str(self) -> &'static str {
        match self {
            RejectCode::PayloadTooLarge => egov_runtime::refusal::PAYLOAD_TOO_LARGE,
            RejectCode::MalformedEnvelope => "malformed_envelope",
            RejectCode::UnknownSender => "unknown_sender",
            RejectCode::BadSignature => "bad_signature",
            RejectCode::UntrustedCertificate => "untrusted_certificate",
            RejectCode::CertificateExpired => "certificate_expired",
            RejectCode::CertificateRevoked => "certificate_revoked",
            RejectCode::CertificateNotForSigning => "certificate_not_for_signing",
            RejectCode::CertificateNotSenders => "certificate_not_senders",
            RejectCode::RouteNotAllowed => "route_not_allowed",
            RejectCode::MessageExpired => "message_expired",
            RejectCode::RateLimited => "rate_limited",
            RejectCode::DuplicateMessageId => "duplicate_message_id",
            RejectCode::UnknownRequest => "unknown_request",
            RejectCode::RequestHashMismatch => "request_hash_mismatch",
        }
    }

    /// The gRPC status code a partner calling Send or Call gets.
    fn grpc_code(self) -> tonic::Code {
        use RejectCode::*;
        match self {
            PayloadTooLarge | RateLimited => tonic::Code::ResourceExhausted,
            MalformedEnvelope => tonic::Code::InvalidArgument,
            UnknownSender | BadSignature | UntrustedCertificate | CertificateExpired
            | CertificateRevoked => tonic::Code::Unauthenticated,
            CertificateNotForSigning | CertificateNotSenders | RouteNotAllowed => {
                tonic::Code::PermissionDenied
            }
            MessageExpired | UnknownRequest | RequestHashMismatch => {
                tonic::Code::FailedPrecondition
            }
            DuplicateMessageId => tonic::Code::AlreadyExists,
        }
    }
}

/// The setting the envelope size limit comes from, as refusals name it.
pub const MAX_ENVELOPE_SETTING: &str = "gateway.max_envelope_bytes";

/// A refusal: the code and what exactly is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: RejectCode,
    pub detail: String,
}

fn refuse(code: RejectCode, detail: impl Into<String>) -> Refusal {
    Refusal {
        code,
        detail: detail.into(),
    }
}

/// The result of the checks that need no database.
#[derive(Debug)]
pub enum Checked {
    /// Passed every check; the log writer makes the rest.
    Passed(Box<Passed>),
    /// Refused; `opened` is there when the envelope decoded far enough to
    /// name a sender and a message id.
    Refused(Refusal, Option<Box<Opened>>),
    /// The revocation status cannot be established now; try again later.
    Unavailable(String),
}

#[derive(Debug)]
pub struct Passed {
    pub opened: Opened,
    pub kind: Kind,
    pub sender: SystemId,
    pub receiver: SystemId,
    pub message_id: uuid::Uuid,
    pub signed_hash: [u8; 32],
    pub expires_at: Option<DateTime<Utc>>,
}

pub struct Verifier<'a> {
    pub trust: &'a TrustStore,
    pub routes: &'a RoutingTable,
    pub max_envelope_bytes: usize,
    pub max_clock_skew: Duration,
}

impl Verifier<'_> {
    /// Runs checks 0–9 on the bytes as received.
    pub async fn check(&self, raw: &[u8], now: DateTime<Utc>) -> Checked {
        use RejectCode::*;
        if raw.len() > self.max_envelope_bytes {
            // Opened only to name whom to tell (the broker and the gRPC
            // limit bound what arrives); nothing else is checked.
            let opened = Envelope::decode(raw)
                .ok()
                .and_then(|e| envelope::open_envelope(e).ok())
                .map(Box::new);
            let detail = format!(
                "the envelope has {} bytes; {MAX_ENVELOPE_SETTING} is {}",
                raw.len(),
                self.max_envelope_bytes
            );
            return Checked::Refused(refuse(PayloadTooLarge, detail), opened);
        }
        let envelope = match Envelope::decode(raw) {
            Ok(envelope) => envelope,
            Err(e) => {
                return Checked::Refused(
                    refuse(MalformedEnvelope, format!("not an envelope: {e}")),
                    None,
                );
            }
        };
        let opened = match envelope::open_envelope(envelope) {
            Ok(opened) => opened,
            Err(e) => return Checked::Refused(refuse(MalformedEnvelope, e.to_string()), None),
        };
        let header = &opened.header;
        let fail =
            |refusal: Refusal, opened: Opened| Checked::Refused(refusal, Some(Box::new(opened)));

        // 1. Well-formed.
        let message_id = match header_problem(&opened, now, self.max_clock_skew) {
            Ok(id) => id,
            Err(problem) => return fail(refuse(MalformedEnvelope, problem), opened),
        };
        // 2. A known sender.
        let Some(sender) = SystemId::parse(&header.sender) else {
            let detail = format!("{:?} is not a system of the mesh", header.sender);
            return fail(refuse(UnknownSender, detail), opened);
        };
        // 3. The signature, with the key of the enclosed certificate.
        let cert = match self.trust.parse(&opened.envelope.signer_certificate) {
            Ok(cert) => cert,
            Err(e) => {
                let detail = format!("signer_certificate: {e}");
                return fail(refuse(MalformedEnvelope, detail), opened);
            }
        };
        if !cert.verifies(&opened.envelope.signed, &opened.envelope.signature) {
            let detail =
                "the signature does not verify over the signed bytes with the certificate's key";
            return fail(refuse(BadSignature, detail), opened);
        }
        // 4–7. The certificate: from the CA, valid now, not revoked, one
        // for signing.
        if let Err(error) = self
            .trust
            .check_signer(&opened.envelope.signer_certificate, &cert, now)
            .await
        {
            let code = match error {
                CertError::NotFromCa => UntrustedCertificate,
                CertError::NotYetValid(_) | CertError::Expired(_) => CertificateExpired,
                CertError::Revoked { .. } => CertificateRevoked,
                CertError::NotForSigning => CertificateNotForSigning,
                CertError::RevocationUnknown(detail) => return Checked::Unavailable(detail),
                CertError::Malformed(_)
                | CertError::UnsupportedKey
                | CertError::UnknownSubject(_) => MalformedEnvelope,
            };
            return fail(refuse(code, error.to_string()), opened);
        }
        // 8. The certificate is the sender's.
        if cert.subject != Subject::System(sender) {
            let detail = format!(
                "the header says the sender is {sender}, the certificate names {}",
                cert.subject
            );
            return fail(refuse(CertificateNotSenders, detail), opened);
        }
        // 9. The route.
        let kind = opened.kind();
        let receiver = match self.route_problem(&opened, sender, kind) {
            Ok(receiver) => receiver,
            Err(detail) => return fail(refuse(RouteNotAllowed, detail), opened),
        };
        // 10. Not expired.
        let expires_at = opened.expires_at();
        if let Some(at) = expires_at
            && at <= now
        {
            let detail = format!("it expired at {at}, before the gateway received it ({now})");
            return fail(refuse(MessageExpired, detail), opened);
        }
        Checked::Passed(Box::new(Passed {
            signed_hash: opened.signed_hash(),
            opened,
            kind,
            sender,
            receiver,
            message_id,
            expires_at,
        }))
    }

    fn route_problem(
        &self,
        opened: &Opened,
        sender: SystemId,
        kind: Kind,
    ) -> Result<SystemId, String> {
        let header = &opened.header;
        let receiver = SystemId::parse(&header.receiver).ok_or_else(|| {
            format!(
                "the receiver {:?} is not a system of the mesh",
                header.receiver
            )
        })?;
        match kind {
            Kind::Request | Kind::Notification => {
                if receiver == SystemId::Gateway {
                    return Err("only receipts are addressed to the gateway".into());
                }
                self.routes
                    .allows(sender, receiver, &header.service)
                    .map(|_| receiver)
                    .ok_or_else(|| {
                        format!(
                            "no route allows {sender} → {receiver} \"{}\" (see ListRoutes)",
                            header.service
                        )
                    })
            }
            // Answers follow the request they answer; the log writer checks it.
            Kind::Response | Kind::Reject => Ok(receiver),
            Kind::Receipt if receiver == SystemId::Gateway => Ok(receiver),
            Kind::Receipt => Err("receipts are addressed to the gateway".into()),
            Kind::DeliveryStatus => Err("only the gateway sends delivery statuses".into()),
            Kind::Unspecified => Err("the message has no kind".into()),
        }
    }
}

/// Checks the header's required fields; returns the message id.
fn header_problem(
    opened: &Opened,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<uuid::Uuid, String> {
    let h = &opened.header;
    let e = &opened.envelope;
    if e.signature.is_empty() {
        return Err("signature is empty".into());
    }
    if e.signer_certificate.is_empty() {
        return Err("signer_certificate is empty".into());
    }
    if h.protocol_version != envelope::PROTOCOL_VERSION {
        return Err(format!(
            "header.protocol_version is {}; this gateway speaks {}",
            h.protocol_version,
            envelope::PROTOCOL_VERSION
        ));
    }
    let id: uuid::Uuid = h
        .message_id
        .parse()
        .map_err(|_| format!("header.message_id {:?} is not a UUID", h.message_id))?;
    for (field, value) in [
        ("header.sender", &h.sender),
        ("header.receiver", &h.receiver),
        ("header.service", &h.service),
    ] {
        if value.is_empty() {
            return Err(format!("{field} is empty"));
        }
    }
    let kind = opened.kind();
    if kind == Kind::Unspecified {
        return Err(format!("header.kind {} is not a known kind", h.kind));
    }
    let created = h
        .created_at
        .as_ref()
        .and_then(envelope::from_timestamp)
        .ok_or("header.created_at is missing or invalid")?;
    if created > now + chrono::Duration::from_std(skew).unwrap_or_default() {
        return Err(format!(
            "header.created_at {created} is in the future (clock skew over {skew:?})"
        ));
    }
    if h.expires_at.is_some() && opened.expires_at().is_none() {
        return Err("header.expires_at is invalid".into());
    }
    if matches!(kind, Kind::Response | Kind::Reject) {
        if h.correlation_id.parse::<uuid::Uuid>().is_err() {
            return Err(
                "an answer's header.correlation_id must be the request's message id".into(),
            );
        }
        if h.request_hash.len() != 32 {
            return Err(
                "an answer's header.request_hash must be the SHA-256 of the request's signed bytes"
                    .into(),
            );
        }
    }
    if !h.reply_to.is_empty() {
        if kind != Kind::Request {
            return Err("header.reply_to is only for requests".into());
        }
        if !egov_bus::names::valid_instance(&h.reply_to) {
            return Err("header.reply_to must be 1–64 of a-z, 0-9 and -".into());
        }
        if h.expires_at.is_none() {
            return Err("a synchronous request (header.reply_to) needs header.expires_at".into());
        }
    }
    Ok(id)
}
