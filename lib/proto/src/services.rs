//! The services named in envelope headers and in the gateway's routing
//! table, each defined once beside the contract of its request and answer.
//! A sender names the service; the receiving registry checks it.

/// ЖТ МДБ's look-up of a person by IIN: `egov.individuals.v1.PersonByIinRequest`
/// answered by a `PersonRecord` (individuals.proto).
pub const PERSON_BY_IIN: &str = "person-by-iin";

/// БНАЖ's look-up of a power of attorney by number and representative:
/// `egov.notary.v1.PowerOfAttorneyRequest` answered by a
/// `PowerOfAttorneyAnswer` (notary.proto).
pub const POWER_OF_ATTORNEY: &str = "power-of-attorney";

/// An application to the provider's workstation (`egov.workstation.v1.Application`):
/// from the portal (diagram 2, process 5) or the State Corporation (diagram 1,
/// process 6).
pub const SUBMIT_APPLICATION: &str = "submit-application";

/// The workstation's statuses of an application (`ApplicationStatus`), to the
/// portal or the State Corporation (seed 002 Rules p.7; diagram 2 processes 6-8).
pub const APPLICATION_STATUS: &str = "application-status";

/// The workstation's result or reasoned refusal (`ApplicationResult`), signed
/// by the provider's authorised person (diagram 2 processes 7-8, diagram 1
/// processes 8-9).
pub const APPLICATION_RESULT: &str = "application-result";
