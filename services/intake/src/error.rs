//! The intake's refusal codes (the README's intake table is checked against
//! [`IntakeCode::ALL`]), and the error every call of its API returns.

use egov_runtime::refusal::{self, Code, CommonCode, Refusal};

pub const DOMAIN: &str = "intake.egov-mesh";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeCode {
    // The operator (process 1).
    LoginRefused,
    TooManyAttempts,
    Unauthenticated,
    WrongRole,
    // The request form (process 2).
    UnknownService,
    ChannelNotOffered,
    MissingField,
    InvalidIin,
    InvalidPhone,
    InvalidValue,
    UnknownField,
    UnknownDocument,
    DuplicateDocument,
    EmptyDocument,
    DocumentTooLarge,
    DocumentTypeNotAccepted,
    UnknownRequest,
    WrongStage,
    // The consent (seed 002 Rules p.9).
    ConsentRequired,
    ConsentCodeWrong,
    ConsentCodeExpired,
    // The look-ups (process 3, condition 1, process 4).
    PersonNotFound,
    PoaNotFound,
    PoaExpired,
    PoaRevoked,
    PoaOutOfScope,
    PoaOtherPrincipal,
    RegistryUnavailable,
    // Handing the result over (process 9).
    NoResultYet,
    AlreadyIssued,
    NotTheRecipient,
    // The paper path (seed 003 §9 2)-5)).
    UnknownPackage,
    PackageOutOfOrder,
    UnknownCourier,
    // The electronic queue (seed 002 Standard row 7).
    OutsideWorkingHours,
    QueueEmpty,
}

impl Code for IntakeCode {
    const ALL: &'static [Self] = &[
        IntakeCode::LoginRefused,
        IntakeCode::TooManyAttempts,
        IntakeCode::Unauthenticated,
        IntakeCode::WrongRole,
        IntakeCode::UnknownService,
        IntakeCode::ChannelNotOffered,
        IntakeCode::MissingField,
        IntakeCode::InvalidIin,
        IntakeCode::InvalidPhone,
        IntakeCode::InvalidValue,
        IntakeCode::UnknownField,
        IntakeCode::UnknownDocument,
        IntakeCode::DuplicateDocument,
        IntakeCode::EmptyDocument,
        IntakeCode::DocumentTooLarge,
        IntakeCode::DocumentTypeNotAccepted,
        IntakeCode::UnknownRequest,
        IntakeCode::WrongStage,
        IntakeCode::ConsentRequired,
        IntakeCode::ConsentCodeWrong,
        IntakeCode::ConsentCodeExpired,
        IntakeCode::PersonNotFound,
        IntakeCode::PoaNotFound,
        IntakeCode::PoaExpired,
        IntakeCode::PoaRevoked,
        IntakeCode::PoaOutOfScope,
        IntakeCode::PoaOtherPrincipal,
        IntakeCode::RegistryUnavailable,
        IntakeCode::NoResultYet,
        IntakeCode::AlreadyIssued,
        IntakeCode::NotTheRecipient,
        IntakeCode::UnknownPackage,
        IntakeCode::PackageOutOfOrder,
        IntakeCode::UnknownCourier,
        IntakeCode::OutsideWorkingHours,
        IntakeCode::QueueEmpty,
    ];

    fn as_str(self) -> &'static str {
        use IntakeCode::*;
        match self {
            LoginRefused => "login_refused",
            TooManyAttempts => "too_many_attempts",
            Unauthenticated => "unauthenticated",
            WrongRole => "wrong_role",
            UnknownService => "unknown_service",
            ChannelNotOffered => "channel_not_offered",
            MissingField => "missing_field",
            InvalidIin => "invalid_iin",
            InvalidPhone => "invalid_phone",
            InvalidValue => "invalid_value",
            UnknownField => "unknown_field",
            UnknownDocument => "unknown_document",
            DuplicateDocument => "duplicate_document",
            EmptyDocument => "empty_document",
            DocumentTooLarge => "document_too_large",
            DocumentTypeNotAccepted => "document_type_not_accepted",
            UnknownRequest => "unknown_request",
            WrongStage => "wrong_stage",
            ConsentRequired => "consent_required",
            ConsentCodeWrong => "consent_code_wrong",
            ConsentCodeExpired => "consent_code_expired",
            PersonNotFound => "person_not_found",
            PoaNotFound => "poa_not_found",
            PoaExpired => "poa_expired",
            PoaRevoked => "poa_revoked",
            PoaOutOfScope => "poa_out_of_scope",
            PoaOtherPrincipal => "poa_other_principal",
            RegistryUnavailable => "registry_unavailable",
            NoResultYet => "no_result_yet",
            AlreadyIssued => "already_issued",
            NotTheRecipient => "not_the_recipient",
            UnknownPackage => "unknown_package",
            PackageOutOfOrder => "package_out_of_order",
            UnknownCourier => "unknown_courier",
            OutsideWorkingHours => "outside_working_hours",
            QueueEmpty => "queue_empty",
        }
    }

    fn grpc_code(self) -> tonic::Code {
        use IntakeCode::*;
        use tonic::Code as G;
        match self {
            MissingField
            | InvalidIin
            | InvalidPhone
            | InvalidValue
            | UnknownField
            | UnknownService
            | UnknownDocument
            | DuplicateDocument
            | EmptyDocument
            | DocumentTypeNotAccepted
            | ConsentCodeWrong
            | UnknownCourier
            | OutsideWorkingHours => G::InvalidArgument,
            DocumentTooLarge | TooManyAttempts => G::ResourceExhausted,
            ChannelNotOffered | WrongStage | ConsentRequired | ConsentCodeExpired
            | PersonNotFound | PoaNotFound | PoaExpired | PoaRevoked | PoaOutOfScope
            | PoaOtherPrincipal | NoResultYet | AlreadyIssued | PackageOutOfOrder | QueueEmpty => {
                G::FailedPrecondition
            }
            NotTheRecipient | WrongRole => G::PermissionDenied,
            LoginRefused | Unauthenticated => G::Unauthenticated,
            RegistryUnavailable => G::Unavailable,
            UnknownRequest | UnknownPackage => G::NotFound,
        }
    }
}

/// What a call of the intake fails with: one of its own refusals, or a code
/// every service shares.
#[derive(Debug)]
pub enum IntakeError {
    Refused(Refusal<IntakeCode>),
    Common(Refusal<CommonCode>),
    Database(sqlx::Error),
}

pub type IntakeResult<T> = Result<T, IntakeError>;

impl IntakeError {
    pub fn new(code: IntakeCode, message: impl Into<String>) -> IntakeError {
        IntakeError::Refused(Refusal::new(code, message))
    }

    pub fn at(code: IntakeCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        IntakeError::Refused(Refusal::new(code, message).field(field))
    }

    pub fn internal(message: impl Into<String>) -> IntakeError {
        IntakeError::Common(Refusal::new(CommonCode::InternalError, message))
    }

    /// The code, whichever kind (tests and logs).
    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::Refused(r) => r.code.as_str(),
            IntakeError::Common(r) => r.code.as_str(),
            IntakeError::Database(e) if refusal::is_transient(e) => "database_unavailable",
            IntakeError::Database(_) => "internal_error",
        }
    }
}

impl From<sqlx::Error> for IntakeError {
    fn from(e: sqlx::Error) -> Self {
        IntakeError::Database(e)
    }
}

impl From<IntakeError> for tonic::Status {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Refused(r) => r.to_status(DOMAIN),
            IntakeError::Common(r) => r.to_status(DOMAIN),
            IntakeError::Database(e) => refusal::database_error(e, DOMAIN),
        }
    }
}

impl std::fmt::Display for IntakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntakeError::Refused(r) => write!(f, "{r}"),
            IntakeError::Common(r) => write!(f, "{r}"),
            IntakeError::Database(e) => write!(f, "database: {e}"),
        }
    }
}

impl std::error::Error for IntakeError {}
