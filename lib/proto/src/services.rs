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
