//! A registry's reasoned refusal to answer a look-up, in the mesh's one
//! vocabulary (`egov_runtime::refusal`): a [`RefusalCode`], the request
//! field at fault and words. It travels as `egov.envelope.v1.Rejection` in a
//! KIND_REJECT reply (`to_rejection`). Both registries use it (the notary
//! uses `InvalidIin`, `RegistryFailure`, and the two codes of the inbox
//! itself, `BadRequest` and `UnknownService`). The README's table "What the
//! registries refuse" lists every code (a test keeps it true).

use egov_runtime::refusal::Code;
use egov_trust::iin::IinError;
use std::fmt;

/// A look-up refused with one of the registries' codes.
pub type Refusal = egov_runtime::refusal::Refusal<RefusalCode>;

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

impl Code for RefusalCode {
    const ALL: &'static [Self] = &[
        RefusalCode::ConsentRequired,
        RefusalCode::InvalidIin,
        RefusalCode::NotFound,
        RefusalCode::RegistryFailure,
        RefusalCode::BadRequest,
        RefusalCode::UnknownService,
    ];

    fn as_str(self) -> &'static str {
        match self {
            RefusalCode::ConsentRequired => "consent_required",
            RefusalCode::InvalidIin => "invalid_iin",
            RefusalCode::NotFound => "not_found",
            RefusalCode::RegistryFailure => "registry_failure",
            RefusalCode::BadRequest => "bad_request",
            RefusalCode::UnknownService => "unknown_service",
        }
    }

    /// The status the same refusal has over gRPC (as the workstation's
    /// codes of the same name).
    fn grpc_code(self) -> tonic::Code {
        match self {
            RefusalCode::ConsentRequired => tonic::Code::FailedPrecondition,
            RefusalCode::InvalidIin | RefusalCode::BadRequest => tonic::Code::InvalidArgument,
            RefusalCode::NotFound => tonic::Code::NotFound,
            RefusalCode::RegistryFailure => tonic::Code::Unavailable,
            RefusalCode::UnknownService => tonic::Code::Unimplemented,
        }
    }
}

pub fn consent_required(message: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::ConsentRequired, message)
}

/// For `invalid_iin` the words start with the IIN error's own code
/// ("iin_check_digit: ...").
pub fn invalid_iin(field: &str, error: &IinError) -> Refusal {
    Refusal::new(
        RefusalCode::InvalidIin,
        format!("{}: {error}", error.code()),
    )
    .field(field)
}

pub fn not_found(field: &str, message: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::NotFound, message).field(field)
}

/// The answer to a request the registry could not process. The cause is
/// logged where it happened, never sent to the caller.
pub fn registry_failure() -> Refusal {
    Refusal::new(
        RefusalCode::RegistryFailure,
        "the registry could not process the request; try again later",
    )
}

/// The payload could not be read as `message` (e.g.
/// "egov.individuals.v1.PersonByIinRequest").
pub fn bad_request(message: &str, error: impl fmt::Display) -> Refusal {
    Refusal::new(
        RefusalCode::BadRequest,
        format!("the payload is not a {message}: {error}"),
    )
}

/// A service other than the registry's own (`served`).
pub fn unknown_service(asked: &str, served: &str) -> Refusal {
    Refusal::new(
        RefusalCode::UnknownService,
        format!("this registry serves {served:?}, not {asked:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::AdminCode;
    use egov_runtime::refusal::{code_table, documented_codes};

    #[test]
    fn a_refusal_travels_with_its_code_field_and_words() {
        let rejection = not_found("iin", "no such person").to_rejection();
        assert_eq!(
            (
                rejection.code.as_str(),
                rejection.field.as_str(),
                rejection.message.as_str()
            ),
            ("not_found", "iin", "no such person")
        );
        assert_eq!(registry_failure().to_rejection().field, "");
    }

    #[test]
    fn the_readmes_registry_table_lists_exactly_the_codes() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("### What the registries refuse")
            .expect("the registries' section");
        let section = &readme[start..];
        let end = section[4..].find("\n#").map_or(section.len(), |i| i + 4);
        let mut documented = documented_codes(&section[..end]);
        documented.sort();
        let mut actual = code_table::<RefusalCode>();
        actual.extend(code_table::<AdminCode>());
        actual.sort();
        assert_eq!(documented, actual);
    }
}
