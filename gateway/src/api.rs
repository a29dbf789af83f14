//! The gateway's gRPC API (proto/egov/gateway/v1/gateway.proto).

use crate::archive::{self, evidence::EvidenceError, writer::ArchiveError};
use crate::gateway::Gateway;
use crate::pipeline::{Admission, Admitted, Entrance, Origin};
use crate::store;
use crate::verify::{Code, RejectCode};
use egov_bus::envelope;
use egov_proto::envelope::{DeliveryStatus, Kind};
use egov_proto::gateway::{
    ArchiveLogRequest, ArchiveLogResponse, CallRequest, CallResponse, ExportEvidenceRequest,
    ExportEvidenceResponse, GetStatusRequest, ListRoutesRequest, ListRoutesResponse, MessageStatus,
    Mode, Route, SendRequest, SendResponse, TraceEntry, TraceRequest, TraceResponse,
    VerifyLogRequest, VerifyLogResponse, gateway_server,
};
use egov_proto::prost::Message;
use egov_runtime::refusal::{CommonCode, Refusal};
use egov_trust::SystemId;
use std::sync::Arc;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// Where gateway errors say they come from (as X-Road's error origin).
pub(crate) const DOMAIN: &str = "gateway.egov-mesh";
const TRACE_LIMIT: i64 = 1000;

pub struct GatewayApi {
    pub gateway: Arc<Gateway>,
    pub entrance: Arc<Entrance>,
    /// Partners' inboxes over gRPC (Receive, Ack).
    pub mailboxes: Arc<crate::receive::Mailboxes>,
}

impl GatewayApi {
    async fn admit(&self, raw: Vec<u8>, bridge: bool) -> Result<Admitted, Status> {
        let pipeline = self
            .entrance
            .pipeline()
            .ok_or_else(|| refusal(CommonCode::ShuttingDown, "the gateway is shutting down"))?;
        let (done, answer) = oneshot::channel();
        let admission = Admission {
            raw,
            origin: Origin::Grpc { done, bridge },
            span: tracing::Span::current(),
        };
        if !pipeline.submit(admission).await {
            return Err(refusal(
                CommonCode::ShuttingDown,
                "the gateway is shutting down",
            ));
        }
        answer.await.map_err(|_| {
            refusal(
                CommonCode::InternalError,
                "the pipeline dropped the message",
            )
        })
    }
}

/// The gateway API's own codes, beside the envelope refusals
/// ([`RejectCode`]) and the codes every service shares ([`CommonCode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiCode {
    /// The revocation list or the log cannot be reached: try again.
    GatewayUnavailable,
    /// No answer within the call's deadline; the request expires.
    CallTimeout,
    /// `message_id` is not a UUID.
    InvalidMessageId,
    /// No message with this id passed through the gateway.
    UnknownMessage,
    /// `conversation_id` is empty.
    MissingConversation,
    /// `to_sequence` is before `from_sequence`.
    InvalidRange,
    /// Receive/Ack: the credential does not prove a partner system.
    CredentialRefused,
    /// Ack: no message given out to this partner under this token.
    UnknownAckToken,
    /// VerifyLog: the range ends among archived rows.
    RangeArchived,
    /// ArchiveLog: `until` is missing.
    MissingUntil,
    /// ArchiveLog, ExportEvidence: `gateway.archive_dir` is not set.
    ArchiveNotConfigured,
    /// ArchiveLog: a row to archive does not verify; nothing was archived.
    LogBroken,
    /// ArchiveLog: the archive file could not be written; nothing left the
    /// database.
    ArchiveWriteFailed,
    /// ExportEvidence: no log row belongs to the conversation.
    UnknownConversation,
    /// ExportEvidence: an archive file the conversation's rows are in is
    /// missing or not the one recorded.
    ArchiveMissing,
    /// GetStatus, Trace: the reader neither sent nor received what it asks
    /// about.
    NotAParty,
}

impl Code for ApiCode {
    const ALL: &'static [Self] = &[
        ApiCode::GatewayUnavailable,
        ApiCode::CallTimeout,
        ApiCode::InvalidMessageId,
        ApiCode::UnknownMessage,
        ApiCode::MissingConversation,
        ApiCode::InvalidRange,
        ApiCode::CredentialRefused,
        ApiCode::UnknownAckToken,
        ApiCode::RangeArchived,
        ApiCode::MissingUntil,
        ApiCode::ArchiveNotConfigured,
        ApiCode::LogBroken,
        ApiCode::ArchiveWriteFailed,
        ApiCode::UnknownConversation,
        ApiCode::ArchiveMissing,
        ApiCode::NotAParty,
    ];

    fn as_str(self) -> &'static str {
        match self {
            ApiCode::GatewayUnavailable => "gateway_unavailable",
            ApiCode::CallTimeout => "call_timeout",
            ApiCode::InvalidMessageId => "invalid_message_id",
            ApiCode::UnknownMessage => "unknown_message",
            ApiCode::MissingConversation => "missing_conversation",
            ApiCode::InvalidRange => "invalid_range",
            ApiCode::CredentialRefused => "credential_refused",
            ApiCode::UnknownAckToken => "unknown_ack_token",
            ApiCode::RangeArchived => "range_archived",
            ApiCode::MissingUntil => "missing_until",
            ApiCode::ArchiveNotConfigured => "archive_not_configured",
            ApiCode::LogBroken => "log_broken",
            ApiCode::ArchiveWriteFailed => "archive_write_failed",
            ApiCode::UnknownConversation => "unknown_conversation",
            ApiCode::ArchiveMissing => "archive_missing",
            ApiCode::NotAParty => "not_a_party",
        }
    }

    fn grpc_code(self) -> tonic::Code {
        match self {
            ApiCode::GatewayUnavailable => tonic::Code::Unavailable,
            ApiCode::CallTimeout => tonic::Code::DeadlineExceeded,
            ApiCode::InvalidMessageId
            | ApiCode::MissingConversation
            | ApiCode::InvalidRange
            | ApiCode::MissingUntil => tonic::Code::InvalidArgument,
            ApiCode::UnknownMessage | ApiCode::UnknownAckToken | ApiCode::UnknownConversation => {
                tonic::Code::NotFound
            }
            ApiCode::CredentialRefused => tonic::Code::Unauthenticated,
            ApiCode::RangeArchived | ApiCode::ArchiveNotConfigured | ApiCode::ArchiveMissing => {
                tonic::Code::FailedPrecondition
            }
            ApiCode::LogBroken => tonic::Code::DataLoss,
            ApiCode::ArchiveWriteFailed => tonic::Code::Unavailable,
            ApiCode::NotAParty => tonic::Code::PermissionDenied,
        }
    }
}

fn refusal<C: Code>(code: C, message: impl Into<String>) -> Status {
    Refusal::new(code, message).to_status(DOMAIN)
}

/// A refusal of the envelope (`size` bytes) as a gRPC status; one over the
/// size limit names the setting and both sizes in its ErrorInfo.
fn refused(refusal: crate::verify::Refusal, size: usize, max_envelope_bytes: usize) -> Status {
    if refusal.code == RejectCode::PayloadTooLarge {
        return egov_runtime::refusal::payload_too_large(
            DOMAIN,
            crate::verify::MAX_ENVELOPE_SETTING,
            max_envelope_bytes,
            size,
            &refusal.detail,
        );
    }
    self::refusal(refusal.code, refusal.detail)
}

fn unavailable(detail: String) -> Status {
    refusal(ApiCode::GatewayUnavailable, detail)
}

fn database(error: sqlx::Error) -> Status {
    egov_runtime::refusal::database_error(error, DOMAIN)
}

fn missing_envelope() -> Status {
    Refusal::new(RejectCode::MalformedEnvelope, "envelope is missing")
        .field("envelope")
        .to_status(DOMAIN)
}

fn evidence_refusal(e: EvidenceError) -> Status {
    match e {
        EvidenceError::UnknownConversation(_) => {
            refusal(ApiCode::UnknownConversation, e.to_string())
        }
        EvidenceError::NotConfigured => refusal(ApiCode::ArchiveNotConfigured, e.to_string()),
        EvidenceError::ArchiveMissing { .. } => refusal(ApiCode::ArchiveMissing, e.to_string()),
        EvidenceError::Signing(_) => refusal(CommonCode::InternalError, e.to_string()),
        EvidenceError::Database(e) => database(e),
    }
}

/// Who reads (GetStatus, Trace, VerifyLog): a system of the mesh, or the
/// operator as `gateway` (issue 14 point 2: reads only by the parties).
async fn reader(
    gateway: &Gateway,
    credential: Option<egov_proto::envelope::Envelope>,
    who: crate::receive::Who,
) -> Result<SystemId, Status> {
    crate::receive::authenticate(gateway, credential, crate::receive::READ_SERVICE, who).await
}

/// Who reads, from the connection when the port speaks mutual TLS (the
/// client certificate: a system, or an operator, who reads as the
/// gateway's operator), else from the request's signed credential.
async fn reader_of<T>(
    gateway: &Gateway,
    request: &Request<T>,
    credential: Option<egov_proto::envelope::Envelope>,
    who: crate::receive::Who,
) -> Result<SystemId, Status> {
    if let Some(peer) = egov_runtime::tls::peer_identity(request) {
        let system = match (peer.operator(), peer.system()) {
            (Some(_), _) => Some(SystemId::Gateway),
            (None, system) => system,
        };
        if let Some(system) = system {
            if who == crate::receive::Who::Operator && system != SystemId::Gateway {
                return Err(refusal(
                    ApiCode::CredentialRefused,
                    format!("{system}'s TLS certificate: only an operator verifies the log"),
                ));
            }
            return Ok(system);
        }
    }
    reader(gateway, credential, who).await
}

/// An operator's call: its credential must be signed with the gateway's
/// own certificate (whoever holds the gateway's key runs the gateway).
async fn operator(
    gateway: &Gateway,
    credential: Option<egov_proto::envelope::Envelope>,
) -> Result<(), Status> {
    crate::receive::authenticate(
        gateway,
        credential,
        crate::receive::OPERATE_SERVICE,
        crate::receive::Who::Operator,
    )
    .await
    .map(|_| ())
}

fn ts(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<egov_proto::prost_types::Timestamp> {
    t.map(envelope::timestamp)
}

#[tonic::async_trait]
impl gateway_server::Gateway for GatewayApi {
    async fn send(&self, request: Request<SendRequest>) -> Result<Response<SendResponse>, Status> {
        let envelope = request.into_inner().envelope.ok_or_else(missing_envelope)?;
        let raw = envelope.encode_to_vec();
        let size = raw.len();
        match self.admit(raw, false).await? {
            Admitted::Accepted {
                message_id,
                log_sequence,
            } => Ok(Response::new(SendResponse {
                message_id,
                status: DeliveryStatus::Queued as i32,
                log_sequence,
            })),
            Admitted::Refused(refusal) => Err(refused(
                refusal,
                size,
                self.gateway.tuning.max_envelope_bytes,
            )),
            Admitted::Unavailable(detail) => Err(unavailable(detail)),
        }
    }

    async fn call(&self, request: Request<CallRequest>) -> Result<Response<CallResponse>, Status> {
        let envelope = request.into_inner().envelope.ok_or_else(missing_envelope)?;
        let raw = envelope.encode_to_vec();
        let size = raw.len();
        // An envelope that does not open is refused by the pipeline with its reason.
        let opened = envelope::open_envelope(envelope).ok();
        if let Some(opened) = &opened
            && opened.kind() != Kind::Request
        {
            return Err(refusal(
                RejectCode::MalformedEnvelope,
                "Call takes a KIND_REQUEST envelope; use Send for others",
            ));
        }
        let request_id = opened
            .as_ref()
            .map(|o| o.header.message_id.clone())
            .unwrap_or_default();
        let deadline = opened
            .as_ref()
            .and_then(|o| o.expires_at())
            .map(|at| (at - chrono::Utc::now()).to_std().unwrap_or_default())
            .unwrap_or(self.gateway.tuning.default_call_deadline);
        let answer = self.gateway.bridge.wait_for(&request_id);
        let admitted = self.admit(raw, true).await;
        match admitted {
            Ok(Admitted::Accepted { .. }) => {}
            other => {
                self.gateway.bridge.forget(&request_id);
                return Err(match other {
                    Ok(Admitted::Refused(refusal)) => {
                        refused(refusal, size, self.gateway.tuning.max_envelope_bytes)
                    }
                    Ok(Admitted::Unavailable(detail)) => unavailable(detail),
                    Err(status) => status,
                    Ok(Admitted::Accepted { .. }) => unreachable!(),
                });
            }
        }
        match tokio::time::timeout(deadline, answer).await {
            Ok(Ok(Ok(response))) => Ok(Response::new(CallResponse {
                response: Some(response),
            })),
            // A failure reported for the request: its status's own code.
            Ok(Ok(Err((code, detail)))) => Err(egov_runtime::refusal::status(
                if code == "message_expired" {
                    tonic::Code::DeadlineExceeded
                } else {
                    tonic::Code::FailedPrecondition
                },
                &code,
                DOMAIN,
                None,
                &detail,
            )),
            Ok(Err(_)) | Err(_) => {
                self.gateway.bridge.forget(&request_id);
                Err(refusal(
                    ApiCode::CallTimeout,
                    format!(
                        "no answer within {deadline:?}; the request expires and is not delivered later"
                    ),
                ))
            }
        }
    }

    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<MessageStatus>, Status> {
        let credential = request.get_ref().credential.clone();
        let reader = reader_of(
            &self.gateway,
            &request,
            credential,
            crate::receive::Who::Reader,
        )
        .await?;
        let id = request.into_inner().message_id;
        let uuid: uuid::Uuid = id.parse().map_err(|_| {
            Refusal::new(ApiCode::InvalidMessageId, format!("{id:?} is not a UUID"))
                .field("message_id")
                .to_status(DOMAIN)
        })?;
        let view = store::status(&self.gateway.pool, uuid)
            .await
            .map_err(database)?
            .ok_or_else(|| {
                refusal(
                    ApiCode::UnknownMessage,
                    format!("no message {id} has passed through the gateway"),
                )
            })?;
        if reader != SystemId::Gateway
            && view.sender != reader.as_str()
            && view.receiver != reader.as_str()
        {
            return Err(refusal(
                ApiCode::NotAParty,
                format!("{reader} neither sent nor received message {id}"),
            ));
        }
        Ok(Response::new(MessageStatus {
            message_id: id,
            status: view.status as i32,
            code: view.code,
            detail: view.detail,
            sender: view.sender,
            receiver: view.receiver,
            service: view.service,
            conversation_id: view.conversation_id,
            attempts: view.attempts.max(1) as u32,
            queued_at: ts(view.queued_at),
            delivered_at: ts(view.delivered_at),
            processed_at: ts(view.processed_at),
            updated_at: ts(view.updated_at),
        }))
    }

    async fn trace(
        &self,
        request: Request<TraceRequest>,
    ) -> Result<Response<TraceResponse>, Status> {
        let credential = request.get_ref().credential.clone();
        let reader = reader_of(
            &self.gateway,
            &request,
            credential,
            crate::receive::Who::Reader,
        )
        .await?;
        let TraceRequest {
            conversation_id: conversation,
            include_envelopes,
            ..
        } = request.into_inner();
        if conversation.is_empty() {
            return Err(
                Refusal::new(ApiCode::MissingConversation, "conversation_id is empty")
                    .field("conversation_id")
                    .to_status(DOMAIN),
            );
        }
        let mut rows = store::trace(
            &self.gateway.pool,
            &conversation,
            TRACE_LIMIT,
            include_envelopes,
        )
        .await
        .map_err(database)?;
        // A system sees what it sent or received; the operator everything.
        if reader != SystemId::Gateway {
            let found = !rows.is_empty();
            rows.retain(|r| r.sender == reader.as_str() || r.receiver == reader.as_str());
            if found && rows.is_empty() {
                return Err(refusal(
                    ApiCode::NotAParty,
                    format!("{reader} sent or received nothing of conversation {conversation:?}"),
                ));
            }
        }
        // The envelopes of archived rows are in their archive files.
        let archived: Vec<(i64, String)> = rows
            .iter()
            .filter_map(|r| r.archive.clone().map(|file| (r.seq, file)))
            .collect();
        if include_envelopes && !archived.is_empty() {
            let mut envelopes = archive::evidence::archived_envelopes(&self.gateway, &archived)
                .await
                .map_err(evidence_refusal)?;
            for row in rows.iter_mut().filter(|r| r.archive.is_some()) {
                row.envelope = envelopes.remove(&row.seq);
            }
        }
        Ok(Response::new(TraceResponse {
            entries: rows
                .into_iter()
                .map(|r| TraceEntry {
                    log_sequence: r.seq as u64,
                    logged_at: ts(Some(r.logged_at)),
                    message_id: r.message_id.map(|id| id.to_string()).unwrap_or_default(),
                    kind: i32::from(r.kind),
                    sender: r.sender,
                    receiver: r.receiver,
                    service: r.service,
                    correlation_id: r.correlation_id,
                    verdict: r.verdict,
                    status: r.status.unwrap_or(DeliveryStatus::Unspecified) as i32,
                    status_code: r.status_code,
                    status_detail: r.status_detail,
                    envelope: r.envelope.unwrap_or_default().into(),
                    archive: r.archive.unwrap_or_default(),
                })
                .collect(),
        }))
    }

    async fn list_routes(
        &self,
        _: Request<ListRoutesRequest>,
    ) -> Result<Response<ListRoutesResponse>, Status> {
        Ok(Response::new(ListRoutesResponse {
            routes: self
                .gateway
                .routes
                .routes()
                .iter()
                .map(|r| Route {
                    sender: r.sender.to_string(),
                    receiver: r.receiver.to_string(),
                    service: r.service.clone(),
                    mode: match r.mode {
                        crate::routes::Mode::Sync => Mode::Sync,
                        crate::routes::Mode::Async => Mode::Async,
                    } as i32,
                    description: r.description.clone(),
                    seed: r.seed.clone(),
                    diagram: r.diagram.clone(),
                    process: r.process.clone(),
                })
                .collect(),
        }))
    }

    async fn receive(
        &self,
        request: Request<egov_proto::gateway::ReceiveRequest>,
    ) -> Result<Response<egov_proto::gateway::ReceiveResponse>, Status> {
        let request = request.into_inner();
        let system = self.mailboxes.authenticate(request.credential).await?;
        let wait = std::time::Duration::from_millis(u64::from(request.wait_ms));
        let given = self.mailboxes.receive(system, wait).await?;
        let (envelope, ack_token) = match given {
            Some((envelope, token)) => (Some(envelope), token),
            None => (None, String::new()),
        };
        Ok(Response::new(egov_proto::gateway::ReceiveResponse {
            envelope,
            ack_token,
        }))
    }

    async fn ack(
        &self,
        request: Request<egov_proto::gateway::AckRequest>,
    ) -> Result<Response<egov_proto::gateway::AckResponse>, Status> {
        let request = request.into_inner();
        let system = self.mailboxes.authenticate(request.credential).await?;
        self.mailboxes.ack(system, &request.ack_token).await?;
        Ok(Response::new(egov_proto::gateway::AckResponse {}))
    }

    async fn verify_log(
        &self,
        request: Request<VerifyLogRequest>,
    ) -> Result<Response<VerifyLogResponse>, Status> {
        let credential = request.get_ref().credential.clone();
        reader_of(
            &self.gateway,
            &request,
            credential,
            crate::receive::Who::Operator,
        )
        .await?;
        let r = request.into_inner();
        if r.to_sequence != 0 && r.to_sequence < r.from_sequence {
            return Err(
                Refusal::new(ApiCode::InvalidRange, "to_sequence is before from_sequence")
                    .field("to_sequence")
                    .to_status(DOMAIN),
            );
        }
        let report = crate::log::verify(&self.gateway.pool, r.from_sequence, r.to_sequence)
            .await
            .map_err(database)?;
        if r.to_sequence != 0 && r.to_sequence <= report.anchor_sequence {
            return Err(Refusal::new(
                ApiCode::RangeArchived,
                format!(
                    "rows 1 to {} are archived: verify them with egovctl gateway verify-archive",
                    report.anchor_sequence
                ),
            )
            .field("to_sequence")
            .to_status(DOMAIN));
        }
        Ok(Response::new(VerifyLogResponse {
            intact: report.intact,
            rows_checked: report.rows_checked,
            first_bad_sequence: report.first_bad_sequence,
            problem: report.problem,
            head_sequence: report.head_sequence,
            head_hash: report.head_hash.into(),
            anchor_sequence: report.anchor_sequence,
            anchor_hash: report.anchor_hash.into(),
        }))
    }

    async fn archive_log(
        &self,
        request: Request<ArchiveLogRequest>,
    ) -> Result<Response<ArchiveLogResponse>, Status> {
        let r = request.into_inner();
        operator(&self.gateway, r.credential).await?;
        let until = r
            .until
            .as_ref()
            .and_then(envelope::from_timestamp)
            .ok_or_else(|| {
                Refusal::new(
                    ApiCode::MissingUntil,
                    "until: the time to archive up to is required",
                )
                .field("until")
                .to_status(DOMAIN)
            })?;
        let archived = archive::writer::archive_until(&self.gateway, until)
            .await
            .map_err(|e| match e {
                ArchiveError::NotConfigured => {
                    refusal(ApiCode::ArchiveNotConfigured, e.to_string())
                }
                ArchiveError::Broken { .. } => refusal(ApiCode::LogBroken, e.to_string()),
                ArchiveError::Write { .. } => refusal(ApiCode::ArchiveWriteFailed, e.to_string()),
                ArchiveError::Database(e) => database(e),
            })?;
        Ok(Response::new(ArchiveLogResponse {
            files: archived.files,
            anchor_sequence: archived.anchor.seq as u64,
            anchor_hash: if archived.anchor.seq == 0 {
                Default::default()
            } else {
                archived.anchor.hash.into()
            },
            held_by_message: archived
                .held
                .as_ref()
                .map(|h| h.message_id.to_string())
                .unwrap_or_default(),
            held_at_sequence: archived.held.map(|h| h.seq as u64).unwrap_or_default(),
            archive_dir: self
                .gateway
                .tuning
                .archive_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        }))
    }

    async fn export_evidence(
        &self,
        request: Request<ExportEvidenceRequest>,
    ) -> Result<Response<ExportEvidenceResponse>, Status> {
        let r = request.into_inner();
        operator(&self.gateway, r.credential).await?;
        if r.conversation_id.is_empty() {
            return Err(
                Refusal::new(ApiCode::MissingConversation, "conversation_id is empty")
                    .field("conversation_id")
                    .to_status(DOMAIN),
            );
        }
        let exported = archive::evidence::export(&self.gateway, &r.conversation_id)
            .await
            .map_err(evidence_refusal)?;
        Ok(Response::new(ExportEvidenceResponse {
            evidence: exported.bytes.into(),
            rows: exported.rows,
            archived_rows: exported.archived_rows,
        }))
    }
}
