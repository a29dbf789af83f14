//! The portal's refusal codes (the README's portal table is checked against
//! [`PortalCode::ALL`]), and the error every call of its API returns.

use egov_runtime::refusal::{self, Code, CommonCode, Refusal};

pub const DOMAIN: &str = "portal.egov-mesh";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalCode {
    // Registration (pre-step) and login (process 1, condition 1, process 2).
    InvalidIin,
    WeakPassword,
    InvalidPhone,
    ConsentRequired,
    AlreadyRegistered,
    PersonNotFound,
    RegistryUnavailable,
    LoginRefused,
    TooManyAttempts,
    Unauthenticated,
    ChallengeExpired,
    // The application (process 3).
    UnknownService,
    ChannelNotOffered,
    MissingField,
    UnknownField,
    InvalidValue,
    MissingDocument,
    UnknownDocument,
    DuplicateDocument,
    DocumentTooLarge,
    DocumentTypeNotAccepted,
    EmptyDocument,
    DocumentHashMismatch,
    // The EDS (condition 2, process 4).
    EdsMalformed,
    EdsBadSignature,
    EdsUntrusted,
    EdsExpired,
    EdsRevoked,
    EdsUnverifiable,
    EdsWrongKey,
    EdsIinMismatch,
    NotPrepared,
    // The cabinet.
    UnknownApplication,
    NoResultYet,
}

impl Code for PortalCode {
    const ALL: &'static [Self] = &[
        PortalCode::InvalidIin,
        PortalCode::WeakPassword,
        PortalCode::InvalidPhone,
        PortalCode::ConsentRequired,
        PortalCode::AlreadyRegistered,
        PortalCode::PersonNotFound,
        PortalCode::RegistryUnavailable,
        PortalCode::LoginRefused,
        PortalCode::TooManyAttempts,
        PortalCode::Unauthenticated,
        PortalCode::ChallengeExpired,
        PortalCode::UnknownService,
        PortalCode::ChannelNotOffered,
        PortalCode::MissingField,
        PortalCode::UnknownField,
        PortalCode::InvalidValue,
        PortalCode::MissingDocument,
        PortalCode::UnknownDocument,
        PortalCode::DuplicateDocument,
        PortalCode::DocumentTooLarge,
        PortalCode::DocumentTypeNotAccepted,
        PortalCode::EmptyDocument,
        PortalCode::DocumentHashMismatch,
        PortalCode::EdsMalformed,
        PortalCode::EdsBadSignature,
        PortalCode::EdsUntrusted,
        PortalCode::EdsExpired,
        PortalCode::EdsRevoked,
        PortalCode::EdsUnverifiable,
        PortalCode::EdsWrongKey,
        PortalCode::EdsIinMismatch,
        PortalCode::NotPrepared,
        PortalCode::UnknownApplication,
        PortalCode::NoResultYet,
    ];

    fn as_str(self) -> &'static str {
        use PortalCode::*;
        match self {
            InvalidIin => "invalid_iin",
            WeakPassword => "weak_password",
            InvalidPhone => "invalid_phone",
            ConsentRequired => "consent_required",
            AlreadyRegistered => "already_registered",
            PersonNotFound => "person_not_found",
            RegistryUnavailable => "registry_unavailable",
            LoginRefused => "login_refused",
            TooManyAttempts => "too_many_attempts",
            Unauthenticated => "unauthenticated",
            ChallengeExpired => "challenge_expired",
            UnknownService => "unknown_service",
            ChannelNotOffered => "channel_not_offered",
            MissingField => "missing_field",
            UnknownField => "unknown_field",
            InvalidValue => "invalid_value",
            MissingDocument => "missing_document",
            UnknownDocument => "unknown_document",
            DuplicateDocument => "duplicate_document",
            DocumentTooLarge => "document_too_large",
            DocumentTypeNotAccepted => "document_type_not_accepted",
            EmptyDocument => "empty_document",
            DocumentHashMismatch => "document_hash_mismatch",
            EdsMalformed => "eds_malformed",
            EdsBadSignature => "eds_bad_signature",
            EdsUntrusted => "eds_untrusted",
            EdsExpired => "eds_expired",
            EdsRevoked => "eds_revoked",
            EdsUnverifiable => "eds_unverifiable",
            EdsWrongKey => "eds_wrong_key",
            EdsIinMismatch => "eds_iin_mismatch",
            NotPrepared => "not_prepared",
            UnknownApplication => "unknown_application",
            NoResultYet => "no_result_yet",
        }
    }

    fn grpc_code(self) -> tonic::Code {
        use PortalCode::*;
        use tonic::Code as G;
        match self {
            InvalidIin
            | WeakPassword
            | InvalidPhone
            | ConsentRequired
            | UnknownService
            | MissingField
            | UnknownField
            | InvalidValue
            | MissingDocument
            | UnknownDocument
            | DuplicateDocument
            | DocumentTypeNotAccepted
            | EmptyDocument
            | DocumentHashMismatch
            | EdsMalformed
            | NotPrepared => G::InvalidArgument,
            DocumentTooLarge | TooManyAttempts => G::ResourceExhausted,
            ChannelNotOffered | PersonNotFound | ChallengeExpired | NoResultYet => {
                G::FailedPrecondition
            }
            AlreadyRegistered => G::AlreadyExists,
            RegistryUnavailable | EdsUnverifiable => G::Unavailable,
            LoginRefused | Unauthenticated => G::Unauthenticated,
            EdsBadSignature | EdsUntrusted | EdsExpired | EdsRevoked | EdsWrongKey
            | EdsIinMismatch => G::PermissionDenied,
            UnknownApplication => G::NotFound,
        }
    }
}

/// What a call of the portal fails with: one of its own refusals, or a code
/// every service shares.
#[derive(Debug)]
pub enum PortalError {
    Refused(Refusal<PortalCode>),
    Common(Refusal<CommonCode>),
    Database(sqlx::Error),
}

pub type PortalResult<T> = Result<T, PortalError>;

impl PortalError {
    pub fn new(code: PortalCode, message: impl Into<String>) -> PortalError {
        PortalError::Refused(Refusal::new(code, message))
    }

    pub fn at(code: PortalCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        PortalError::Refused(Refusal::new(code, message).field(field))
    }

    pub fn internal(message: impl Into<String>) -> PortalError {
        PortalError::Common(Refusal::new(CommonCode::InternalError, message))
    }

    /// The portal's own code, if it is one (tests and logs).
    pub fn code(&self) -> &'static str {
        match self {
            PortalError::Refused(r) => r.code.as_str(),
            PortalError::Common(r) => r.code.as_str(),
            PortalError::Database(e) if refusal::is_transient(e) => "database_unavailable",
            PortalError::Database(_) => "internal_error",
        }
    }
}

impl From<sqlx::Error> for PortalError {
    fn from(e: sqlx::Error) -> Self {
        PortalError::Database(e)
    }
}

impl From<PortalError> for tonic::Status {
    fn from(e: PortalError) -> Self {
        match e {
            PortalError::Refused(r) => r.to_status(DOMAIN),
            PortalError::Common(r) => r.to_status(DOMAIN),
            PortalError::Database(e) => refusal::database_error(e, DOMAIN),
        }
    }
}

impl std::fmt::Display for PortalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortalError::Refused(r) => write!(f, "{r}"),
            PortalError::Common(r) => write!(f, "{r}"),
            PortalError::Database(e) => write!(f, "database: {e}"),
        }
    }
}

impl std::error::Error for PortalError {}
