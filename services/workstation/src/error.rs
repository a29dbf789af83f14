//! The workstation's refusals in the mesh's one vocabulary
//! (`egov_runtime::refusal`): a stable code of [`ApiCode`], the field at
//! fault and words for a person. Over gRPC a refusal is the message
//! "<code>: <field>: <words>" with `google.rpc.ErrorInfo` (reason = code,
//! domain [`DOMAIN`], metadata `field`) and `BadRequest`; to a submission it
//! is a KIND_REJECT `Rejection { code, message, field }`. Database errors
//! follow the one policy of `egov_runtime::refusal::database_error`. The
//! README's table "What the workstation refuses" lists every code (a test
//! keeps it true).

use egov_runtime::refusal::{self, Code as _, CommonCode, Refusal};
use egov_trust::CertError;
use tonic::{Code, Status};

/// Where workstation errors say they come from.
pub const DOMAIN: &str = "workstation.egov-mesh";

/// The workstation's own codes, beside those every service shares
/// ([`CommonCode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiCode {
    /// A required field is empty or absent.
    MissingField,
    /// No regulation with this code.
    UnknownRegulation,
    /// The channel is not the sender's (portal, intake, office).
    ChannelMismatch,
    /// The regulation takes no applications through this channel.
    ChannelNotOffered,
    /// An IIN is malformed.
    InvalidIin,
    /// The regulation lists no such document.
    UnknownDocument,
    /// A document is attached twice.
    DuplicateDocument,
    /// A document carries neither bytes nor a hash.
    EmptyDocument,
    /// A document is larger than `workstation.max_document_bytes`.
    DocumentTooLarge,
    /// A SHA-256 that is not 32 bytes.
    InvalidHash,
    /// The SHA-256 does not match the document's bytes.
    DocumentHashMismatch,
    /// The form has no such field.
    UnknownField,
    /// A form field is given twice.
    DuplicateField,
    /// A value does not fit its field's type.
    InvalidValue,
    /// A field the head's signature fills in.
    FieldNotSettable,
    /// A message's payload does not decode.
    MalformedPayload,
    /// An unclaimed result of an application that did not come through the
    /// State Corporation.
    NotFromIntake,
    /// The action is not what the current task does.
    WrongAction,
    /// The login is no active examiner of the regulation.
    NotAnExaminer,
    /// Not a refusal ground of the regulation.
    UnknownGround,
    /// The regulation gives no such result through the channel.
    UnknownResult,
    /// The regulation's deadlines cannot be planned on the calendar.
    CannotPlan,
    /// Another task is the current one (a retried or concurrent act).
    TaskNotCurrent,
    /// The application is already issued or refused.
    ProcedureFinished,
    /// The regulation gives no result through the channel.
    NoResultForChannel,
    /// The workstation holds no EDS key of the signer.
    NoSigningKey,
    /// The result has not been signed yet.
    NotSigned,
    /// The application's result has not been issued.
    NotIssued,
    /// ЖТ МДБ needs the applicant's consent.
    ConsentRequired,
    /// The signer's certificate cannot be read.
    MalformedCertificate,
    /// The signer's certificate is not from the mesh CA.
    UntrustedCertificate,
    /// The signer's certificate is outside its validity period.
    CertificateExpired,
    /// The signer's certificate is revoked.
    CertificateRevoked,
    /// Whether the signer's certificate is revoked cannot be established
    /// now (the CRL is out of reach): try again.
    RevocationStatusUnavailable,
    /// The login or the password is wrong.
    BadCredentials,
    /// No `authorization: Bearer <token>`, or no such session.
    NoSession,
    /// The session expired.
    SessionExpired,
    /// The task is another role's.
    WrongRole,
    /// The head assigned the application to another employee.
    NotAssigned,
    /// An application from a system other than the portal or intake.
    UnknownOrigin,
    /// No such application in the journal.
    NotFound,
    /// ЖТ МДБ did not answer (the office channel's look-up): try again.
    RegistryUnavailable,
    /// The outbox could not take the messages: try again.
    OutboxUnavailable,
}

impl refusal::Code for ApiCode {
    const ALL: &'static [Self] = &[
        ApiCode::MissingField,
        ApiCode::UnknownRegulation,
        ApiCode::ChannelMismatch,
        ApiCode::ChannelNotOffered,
        ApiCode::InvalidIin,
        ApiCode::UnknownDocument,
        ApiCode::DuplicateDocument,
        ApiCode::EmptyDocument,
        ApiCode::DocumentTooLarge,
        ApiCode::InvalidHash,
        ApiCode::DocumentHashMismatch,
        ApiCode::UnknownField,
        ApiCode::DuplicateField,
        ApiCode::InvalidValue,
        ApiCode::FieldNotSettable,
        ApiCode::MalformedPayload,
        ApiCode::NotFromIntake,
        ApiCode::WrongAction,
        ApiCode::NotAnExaminer,
        ApiCode::UnknownGround,
        ApiCode::UnknownResult,
        ApiCode::CannotPlan,
        ApiCode::TaskNotCurrent,
        ApiCode::ProcedureFinished,
        ApiCode::NoResultForChannel,
        ApiCode::NoSigningKey,
        ApiCode::NotSigned,
        ApiCode::NotIssued,
        ApiCode::ConsentRequired,
        ApiCode::MalformedCertificate,
        ApiCode::UntrustedCertificate,
        ApiCode::CertificateExpired,
        ApiCode::CertificateRevoked,
        ApiCode::RevocationStatusUnavailable,
        ApiCode::BadCredentials,
        ApiCode::NoSession,
        ApiCode::SessionExpired,
        ApiCode::WrongRole,
        ApiCode::NotAssigned,
        ApiCode::UnknownOrigin,
        ApiCode::NotFound,
        ApiCode::RegistryUnavailable,
        ApiCode::OutboxUnavailable,
    ];

    fn as_str(self) -> &'static str {
        use ApiCode::*;
        match self {
            MissingField => "missing_field",
            UnknownRegulation => "unknown_regulation",
            ChannelMismatch => "channel_mismatch",
            ChannelNotOffered => "channel_not_offered",
            InvalidIin => "invalid_iin",
            UnknownDocument => "unknown_document",
            DuplicateDocument => "duplicate_document",
            EmptyDocument => "empty_document",
            DocumentTooLarge => "document_too_large",
            InvalidHash => "invalid_hash",
            DocumentHashMismatch => "document_hash_mismatch",
            UnknownField => "unknown_field",
            DuplicateField => "duplicate_field",
            InvalidValue => "invalid_value",
            FieldNotSettable => "field_not_settable",
            MalformedPayload => "malformed_payload",
            NotFromIntake => "not_from_intake",
            WrongAction => "wrong_action",
            NotAnExaminer => "not_an_examiner",
            UnknownGround => "unknown_ground",
            UnknownResult => "unknown_result",
            CannotPlan => "cannot_plan",
            TaskNotCurrent => "task_not_current",
            ProcedureFinished => "procedure_finished",
            NoResultForChannel => "no_result_for_channel",
            NoSigningKey => "no_signing_key",
            NotSigned => "not_signed",
            NotIssued => "not_issued",
            ConsentRequired => "consent_required",
            MalformedCertificate => "malformed_certificate",
            UntrustedCertificate => "untrusted_certificate",
            CertificateExpired => "certificate_expired",
            CertificateRevoked => "certificate_revoked",
            RevocationStatusUnavailable => "revocation_status_unavailable",
            BadCredentials => "bad_credentials",
            NoSession => "no_session",
            SessionExpired => "session_expired",
            WrongRole => "wrong_role",
            NotAssigned => "not_assigned",
            UnknownOrigin => "unknown_origin",
            NotFound => "not_found",
            RegistryUnavailable => "registry_unavailable",
            OutboxUnavailable => "outbox_unavailable",
        }
    }

    fn grpc_code(self) -> Code {
        use ApiCode::*;
        match self {
            MissingField | UnknownRegulation | ChannelMismatch | ChannelNotOffered | InvalidIin
            | UnknownDocument | DuplicateDocument | EmptyDocument | DocumentTooLarge
            | InvalidHash | DocumentHashMismatch | UnknownField | DuplicateField | InvalidValue
            | FieldNotSettable | MalformedPayload | NotFromIntake | WrongAction | NotAnExaminer
            | UnknownGround | UnknownResult => Code::InvalidArgument,
            CannotPlan | TaskNotCurrent | ProcedureFinished | NoResultForChannel | NoSigningKey
            | NotSigned | NotIssued | ConsentRequired | MalformedCertificate
            | UntrustedCertificate | CertificateExpired | CertificateRevoked => {
                Code::FailedPrecondition
            }
            BadCredentials | NoSession | SessionExpired => Code::Unauthenticated,
            WrongRole | NotAssigned | UnknownOrigin => Code::PermissionDenied,
            NotFound => Code::NotFound,
            RevocationStatusUnavailable | RegistryUnavailable | OutboxUnavailable => {
                Code::Unavailable
            }
        }
    }
}

impl ApiCode {
    /// Why a signer's EDS cannot sign, as the trust store says it.
    pub fn of_certificate(error: &CertError) -> ApiCode {
        match error {
            CertError::NotFromCa => ApiCode::UntrustedCertificate,
            CertError::NotYetValid(_) | CertError::Expired(_) => ApiCode::CertificateExpired,
            CertError::Revoked { .. } => ApiCode::CertificateRevoked,
            CertError::RevocationUnknown(_) => ApiCode::RevocationStatusUnavailable,
            _ => ApiCode::MalformedCertificate,
        }
    }
}

/// What a workstation operation fails with.
#[derive(Debug)]
pub enum ApiError {
    /// The request is refused, with the workstation's own code.
    Refused(Refusal<ApiCode>),
    /// A fault of the workstation the caller cannot mend (`internal_error`).
    Internal(String),
    /// The database failed (`database_unavailable` or `internal_error`).
    Database(sqlx::Error),
}

impl ApiError {
    pub fn new(code: ApiCode, message: impl Into<String>) -> ApiError {
        ApiError::Refused(Refusal::new(code, message))
    }

    /// Bad input: `field` is wrong in the way `message` says.
    pub fn invalid(code: ApiCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(code, message).at(field)
    }

    /// The refusal names the field at fault.
    pub fn at(self, field: impl Into<String>) -> Self {
        match self {
            ApiError::Refused(refusal) => ApiError::Refused(refusal.field(field)),
            other => other,
        }
    }

    pub fn missing(field: &str) -> ApiError {
        ApiError::invalid(ApiCode::MissingField, field, format!("{field} is required"))
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(ApiCode::NotFound, what)
    }

    pub fn bad_credentials() -> ApiError {
        ApiError::new(
            ApiCode::BadCredentials,
            "the login or the password is wrong",
        )
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::Internal(message.into())
    }

    /// The stable code the caller sees.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Refused(refusal) => refusal.code.as_str(),
            ApiError::Internal(_) => CommonCode::InternalError.as_str(),
            ApiError::Database(error) if refusal::is_transient(error) => {
                CommonCode::DatabaseUnavailable.as_str()
            }
            ApiError::Database(_) => CommonCode::InternalError.as_str(),
        }
    }

    /// The gRPC status; the message names the field too, as a person
    /// reading it in grpcurl needs it.
    pub fn into_status(self) -> Status {
        match self {
            ApiError::Refused(mut refusal) => {
                if let Some(field) = &refusal.field {
                    refusal.message = format!("{field}: {}", refusal.message);
                }
                refusal.to_status(DOMAIN)
            }
            ApiError::Internal(message) => {
                tracing::error!(%message, "Internal error.");
                Refusal::new(CommonCode::InternalError, message).to_status(DOMAIN)
            }
            ApiError::Database(error) => refusal::database_error(error, DOMAIN),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Refused(refusal) => refusal.fmt(f),
            ApiError::Internal(message) => write!(f, "internal_error: {message}"),
            ApiError::Database(error) => write!(f, "{}: {error}", self.code()),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Database(error) => Some(error),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Database(error)
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        error.into_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    fn reason(status: &Status) -> String {
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.domain, DOMAIN);
        assert!(status.message().starts_with(&format!("{}: ", info.reason)));
        info.reason
    }

    #[test]
    fn faults_the_api_tests_cannot_cause_carry_their_code_too() {
        let status = ApiError::from(sqlx::Error::PoolTimedOut).into_status();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(reason(&status), "database_unavailable");
        let status = ApiError::from(sqlx::Error::RowNotFound).into_status();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(reason(&status), "internal_error");
        let status = ApiError::internal("nothing was drafted").into_status();
        assert_eq!(
            (status.code(), reason(&status)),
            (Code::Internal, "internal_error".to_owned())
        );
    }

    #[test]
    fn a_refusal_names_its_field_in_the_message_and_the_details() {
        let error = ApiError::invalid(ApiCode::InvalidValue, "as_of", "not a valid timestamp");
        assert_eq!(error.code(), "invalid_value");
        let status = error.into_status();
        assert_eq!(
            status.message(),
            "invalid_value: as_of: not a valid timestamp"
        );
        assert_eq!(reason(&status), "invalid_value");
        let details = status.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            "as_of"
        );
    }
}
