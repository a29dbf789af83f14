//! Building, signing, opening and checking envelopes.
//!
//! The sender signs the exact bytes of the serialized `SignedPart`; the
//! gateway's stamp (`GatewayStamp`, countersigned) names those bytes by hash.
//! A receiver trusts a message when the stamp verifies against a gateway
//! certificate issued by the mesh CA.

use chrono::{DateTime, Utc};
use egov_proto::envelope::{Envelope, GatewayStamp, Header, Kind, SignedPart};
use egov_proto::prost::Message;
use egov_proto::prost_types::Timestamp;
use egov_trust::{CertError, CertificateInfo, Identity, Subject, SystemId, TrustStore, sha256};
use std::sync::Arc;
use std::time::Duration;

pub const PROTOCOL_VERSION: u32 = 1;

/// A message to send, before it has an id and a signature.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub receiver: SystemId,
    pub service: String,
    pub kind: Kind,
    pub payload: Vec<u8>,
    pub conversation_id: String,
    pub correlation_id: String,
    pub request_hash: Vec<u8>,
    pub acting_user: String,
    pub consent_reference: String,
    /// After this long the message must not be delivered.
    pub ttl: Option<Duration>,
    /// Normally a fresh UUIDv7; set it to resend a message under its own id.
    pub message_id: Option<String>,
}

impl Outgoing {
    fn new(receiver: SystemId, service: &str, kind: Kind, payload: Vec<u8>) -> Outgoing {
        Outgoing {
            receiver,
            service: service.to_owned(),
            kind,
            payload,
            conversation_id: String::new(),
            correlation_id: String::new(),
            request_hash: Vec::new(),
            acting_user: String::new(),
            consent_reference: String::new(),
            ttl: None,
            message_id: None,
        }
    }

    /// A request to `receiver`'s `service`.
    pub fn request(receiver: SystemId, service: &str, payload: impl Message) -> Outgoing {
        Outgoing::new(receiver, service, Kind::Request, payload.encode_to_vec())
    }

    /// A one-way business message (a status, a result).
    pub fn notification(receiver: SystemId, service: &str, payload: impl Message) -> Outgoing {
        Outgoing::new(
            receiver,
            service,
            Kind::Notification,
            payload.encode_to_vec(),
        )
    }

    pub fn raw(receiver: SystemId, service: &str, kind: Kind, payload: Vec<u8>) -> Outgoing {
        Outgoing::new(receiver, service, kind, payload)
    }

    pub fn conversation(mut self, id: impl Into<String>) -> Self {
        self.conversation_id = id.into();
        self
    }

    pub fn acting_user(mut self, iin: impl Into<String>) -> Self {
        self.acting_user = iin.into();
        self
    }

    pub fn consent(mut self, reference: impl Into<String>) -> Self {
        self.consent_reference = reference.into();
        self
    }

    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    pub fn message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// The header this message is sent with, from `sender` at `now`.
    pub fn header(&self, sender: SystemId, now: DateTime<Utc>, reply_to: &str) -> Header {
        Header {
            protocol_version: PROTOCOL_VERSION,
            message_id: self.message_id.clone().unwrap_or_else(new_message_id),
            correlation_id: self.correlation_id.clone(),
            conversation_id: self.conversation_id.clone(),
            sender: sender.to_string(),
            receiver: self.receiver.to_string(),
            service: self.service.clone(),
            kind: self.kind as i32,
            created_at: Some(timestamp(now)),
            expires_at: self
                .ttl
                .map(|ttl| timestamp(now + chrono::Duration::from_std(ttl).unwrap_or_default())),
            acting_user: self.acting_user.clone(),
            consent_reference: self.consent_reference.clone(),
            request_hash: self.request_hash.clone().into(),
            reply_to: reply_to.to_owned(),
        }
    }
}

/// A new message id: a UUIDv7, so ids sort by creation time.
pub fn new_message_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(t: &Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

/// Serializes and signs a header and payload into an envelope.
pub fn seal(identity: &Identity, header: Header, payload: Vec<u8>) -> Envelope {
    let signed = SignedPart {
        header: Some(header),
        payload: payload.into(),
    }
    .encode_to_vec();
    let signature = identity.key.sign(&signed);
    Envelope {
        signed: signed.into(),
        signature: signature.into(),
        signer_certificate: identity.certificate_der.clone().into(),
        ..Envelope::default()
    }
}

/// A credential for the gateway's API (Receive, the reads, an operator's
/// calls): a fresh KIND_REQUEST to the gateway for `service` ("receive",
/// "read", "operate"), signed by `identity`, which it proves.
pub fn credential(identity: &Identity, service: &str) -> Envelope {
    credential_to(identity, SystemId::Gateway, service)
}

/// A credential presented to another system than the gateway (a
/// registry's admin API).
pub fn credential_to(identity: &Identity, receiver: SystemId, service: &str) -> Envelope {
    let header = Header {
        message_id: new_message_id(),
        sender: identity.system.to_string(),
        receiver: receiver.to_string(),
        service: service.to_owned(),
        kind: Kind::Request as i32,
        created_at: Some(timestamp(Utc::now())),
        ..Header::default()
    };
    seal(identity, header, Vec::new())
}

/// Why a [`credential`] proves nothing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialError {
    #[error("credential: {0}")]
    Refused(String),
    /// The revocation list cannot be had now: try again later.
    #[error("{0}")]
    RevocationUnknown(String),
}

/// Checks a [`credential`] presented to `receiver` for `service`: a fresh
/// (within `skew` of now) KIND_REQUEST to it, signed with a system
/// certificate of the mesh CA (valid, not revoked) that names its sender.
/// `own_certificate`, the checker's own, needs no revocation list (whoever
/// holds its key runs the checker). The system it proves, or why not.
pub async fn verify_credential(
    trust: &TrustStore,
    credential: Option<Envelope>,
    receiver: SystemId,
    service: &str,
    skew: Duration,
    own_certificate: Option<&[u8]>,
) -> Result<SystemId, CredentialError> {
    let refused = CredentialError::Refused;
    let credential = credential.ok_or_else(|| refused("an envelope is required".into()))?;
    let opened = open_envelope(credential).map_err(|e| refused(e.to_string()))?;
    let header = &opened.header;
    if header.receiver != receiver.as_str()
        || header.service != service
        || opened.kind() != Kind::Request
    {
        return Err(refused(format!(
            "a KIND_REQUEST to {:?}, service {service:?}",
            receiver.as_str()
        )));
    }
    let now = Utc::now();
    let skew = chrono::Duration::from_std(skew).unwrap_or_else(|_| chrono::Duration::minutes(5));
    let fresh = header
        .created_at
        .as_ref()
        .and_then(from_timestamp)
        .is_some_and(|at| at > now - skew && at < now + skew);
    if !fresh {
        return Err(refused(
            "created_at must be within the clock skew of now (a credential is not kept and replayed)".into(),
        ));
    }
    let system = SystemId::parse(&header.sender)
        .ok_or_else(|| refused(format!("{:?} is no system of the mesh", header.sender)))?;
    let der = &opened.envelope.signer_certificate;
    let certificate = trust
        .parse(der)
        .map_err(|e| refused(format!("the certificate: {e}")))?;
    if !certificate.verifies(&opened.envelope.signed, &opened.envelope.signature) {
        return Err(refused("the signature does not verify".into()));
    }
    if own_certificate != Some(der.as_ref()) {
        match trust.check_signer(der, &certificate, now).await {
            Ok(()) => {}
            Err(CertError::RevocationUnknown(detail)) => {
                return Err(CredentialError::RevocationUnknown(detail));
            }
            Err(e) => return Err(refused(format!("the certificate: {e}"))),
        }
    }
    if certificate.subject != Subject::System(system) {
        return Err(refused(format!(
            "says {system}, the certificate names {}",
            certificate.subject
        )));
    }
    Ok(system)
}

/// An envelope decoded down to its header and payload.
#[derive(Debug, Clone)]
pub struct Opened {
    pub envelope: Envelope,
    pub header: Header,
    pub payload: egov_proto::bytes::Bytes,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum OpenError {
    #[error("not an envelope: {0}")]
    Envelope(String),
    #[error("the signed part does not decode: {0}")]
    SignedPart(String),
    #[error("the signed part has no header")]
    NoHeader,
}

pub fn open(bytes: &[u8]) -> Result<Opened, OpenError> {
    let envelope = Envelope::decode(bytes).map_err(|e| OpenError::Envelope(e.to_string()))?;
    open_envelope(envelope)
}

pub fn open_envelope(envelope: Envelope) -> Result<Opened, OpenError> {
    let part = SignedPart::decode(envelope.signed.clone())
        .map_err(|e| OpenError::SignedPart(e.to_string()))?;
    let header = part.header.ok_or(OpenError::NoHeader)?;
    Ok(Opened {
        header,
        payload: part.payload,
        envelope,
    })
}

impl Opened {
    pub fn kind(&self) -> Kind {
        Kind::try_from(self.header.kind).unwrap_or(Kind::Unspecified)
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.header.expires_at.as_ref().and_then(from_timestamp)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
    }

    /// Decodes the payload as `M`.
    pub fn decode<M: Message + Default>(&self) -> Result<M, egov_proto::prost::DecodeError> {
        M::decode(self.payload.clone())
    }

    pub fn signed_hash(&self) -> [u8; 32] {
        sha256(&self.envelope.signed)
    }
}

/// Why a receiver does not trust a message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StampError {
    #[error("the message carries no gateway stamp: it did not come through the gateway")]
    Missing,
    #[error("the gateway stamp does not decode")]
    Malformed,
    #[error("the stamp's certificate is not acceptable: {0}")]
    Certificate(#[from] CertError),
    #[error("the stamp is signed by {0}, not by the gateway")]
    NotGateway(String),
    #[error("the gateway signature does not verify")]
    BadSignature,
    #[error("the stamp names other signed bytes than the message carries")]
    HashMismatch,
}

/// Adds the gateway's countersignature to an accepted envelope.
pub fn stamp(
    gateway: &Identity,
    envelope: &mut Envelope,
    message_id: &str,
    accepted_at: DateTime<Utc>,
    log_sequence: u64,
    log_hash: &[u8],
) {
    let stamp = GatewayStamp {
        message_id: message_id.to_owned(),
        signed_hash: sha256(&envelope.signed).to_vec().into(),
        signature_hash: sha256(&envelope.signature).to_vec().into(),
        accepted_at: Some(timestamp(accepted_at)),
        log_sequence,
        log_hash: log_hash.to_vec().into(),
    }
    .encode_to_vec();
    envelope.gateway_signature = gateway.key.sign(&stamp).into();
    envelope.gateway_stamp = stamp.into();
    envelope.gateway_certificate = gateway.certificate_der.clone().into();
}

/// Checks the gateway's countersignature on a delivered envelope.
pub async fn verify_stamp(
    trust: &TrustStore,
    envelope: &Envelope,
    now: DateTime<Utc>,
) -> Result<GatewayStamp, StampError> {
    if envelope.gateway_stamp.is_empty() || envelope.gateway_signature.is_empty() {
        return Err(StampError::Missing);
    }
    let cert = gateway_certificate(trust, &envelope.gateway_certificate, now).await?;
    if !cert.verifies(&envelope.gateway_stamp, &envelope.gateway_signature) {
        return Err(StampError::BadSignature);
    }
    let stamp =
        GatewayStamp::decode(envelope.gateway_stamp.clone()).map_err(|_| StampError::Malformed)?;
    if stamp.signed_hash.as_ref() != sha256(&envelope.signed) {
        return Err(StampError::HashMismatch);
    }
    Ok(stamp)
}

/// Checks a message the gateway itself wrote and signed (status reports).
pub async fn verify_from_gateway(
    trust: &TrustStore,
    opened: &Opened,
    now: DateTime<Utc>,
) -> Result<(), StampError> {
    if opened.header.sender != SystemId::Gateway.as_str() {
        return Err(StampError::NotGateway(opened.header.sender.clone()));
    }
    let cert = gateway_certificate(trust, &opened.envelope.signer_certificate, now).await?;
    if cert.verifies(&opened.envelope.signed, &opened.envelope.signature) {
        Ok(())
    } else {
        Err(StampError::BadSignature)
    }
}

async fn gateway_certificate(
    trust: &TrustStore,
    der: &[u8],
    now: DateTime<Utc>,
) -> Result<Arc<CertificateInfo>, StampError> {
    let cert = trust.parse(der)?;
    trust.check_signer(der, &cert, now).await?;
    match cert.subject {
        Subject::System(SystemId::Gateway) => Ok(cert),
        ref other => Err(StampError::NotGateway(other.to_string())),
    }
}
