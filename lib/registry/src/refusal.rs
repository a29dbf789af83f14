//! A registry's reasoned refusal to answer, with its stable code. It travels
//! as `egov.envelope.v1.Rejection` in a KIND_REJECT reply. Both registries
//! use it (the notary uses `InvalidIin`, `RegistryFailure`, and the two
//! codes of the inbox itself, `BadRequest` and `UnknownService`).

use egov_proto::envelope::Rejection;
use egov_trust::iin::IinError;
use std::fmt;

/// The stable codes (individuals.proto and notary.proto list them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// No consent reference and no legal basis from the configured list.
    ConsentRequired,
    /// The IIN is malformed.
    InvalidIin,
    /// A valid IIN that is not in the registry: condition 1's negative
    /// branch, process 4 "data cannot be obtained" (seed 001 §9, diagram 1;
    /// seed 004 para 9).
    NotFound,
    /// A technical failure: fault mode `error`, or the storage failed.
    RegistryFailure,
    /// The payload does not decode as the service's request message.
    BadRequest,
    /// The header names a service this registry does not serve.
    UnknownService,
}

impl RefusalCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::ConsentRequired => "consent_required",
            RefusalCode::InvalidIin => "invalid_iin",
            RefusalCode::NotFound => "not_found",
            RefusalCode::RegistryFailure => "registry_failure",
            RefusalCode::BadRequest => "bad_request",
            RefusalCode::UnknownService => "unknown_service",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: RefusalCode,
    /// Words for a person; for `invalid_iin` it starts with the IIN error's
    /// own code ("iin_check_digit: ...").
    pub message: String,
    /// The offending request field, when there is one.
    pub field: Option<&'static str>,
}

impl Refusal {
    pub fn consent_required(message: impl Into<String>) -> Refusal {
        Refusal {
            code: RefusalCode::ConsentRequired,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid_iin(field: &'static str, error: &IinError) -> Refusal {
        Refusal {
            code: RefusalCode::InvalidIin,
            message: format!("{}: {error}", error.code()),
            field: Some(field),
        }
    }

    pub fn not_found(field: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            code: RefusalCode::NotFound,
            message: message.into(),
            field: Some(field),
        }
    }

    /// The answer to a request the registry could not process. The cause is
    /// logged where it happened, never sent to the caller.
    pub fn registry_failure() -> Refusal {
        Refusal {
            code: RefusalCode::RegistryFailure,
            message: "the registry could not process the request; try again later".into(),
            field: None,
        }
    }

    /// The payload could not be read as `message` (e.g.
    /// "egov.individuals.v1.PersonByIinRequest").
    pub fn bad_request(message: &str, error: impl fmt::Display) -> Refusal {
        Refusal {
            code: RefusalCode::BadRequest,
            message: format!("the payload is not a {message}: {error}"),
            field: None,
        }
    }

    /// A service other than the registry's own (`served`).
    pub fn unknown_service(asked: &str, served: &str) -> Refusal {
        Refusal {
            code: RefusalCode::UnknownService,
            message: format!("this registry serves {served:?}, not {asked:?}"),
            field: None,
        }
    }

    pub fn to_rejection(&self) -> Rejection {
        Rejection {
            code: self.code.as_str().to_owned(),
            message: self.message.clone(),
            field: self.field.unwrap_or_default().to_owned(),
        }
    }
}

impl From<Refusal> for Rejection {
    fn from(refusal: Refusal) -> Rejection {
        refusal.to_rejection()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Refusal {}
