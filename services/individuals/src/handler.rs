//! The registry's inbox: "person-by-iin" look-ups arriving through the
//! gateway (diagram 1 process 3, seed 001 §9 and seed 004 para 9, from the
//! State Corporation; seed 003 §11 process 5 from the provider's
//! workstation; the portal's registration by IIN), answered synchronously.
//!
//! [`egov_registry::lookup::LookupHandler`] runs the fault gate and reads
//! the request; [`PersonByIin`] answers it with
//! [`crate::lookup::person_by_iin_on`] on the inbox transaction's
//! connection: a `PersonRecord` (KIND_RESPONSE) or a refusal with its stable
//! code (KIND_REJECT).

use crate::lookup;
use egov_bus::Incoming;
use egov_proto::individuals::{PersonByIinRequest, PersonRecord};
use egov_proto::services::PERSON_BY_IIN;
use egov_registry::lookup::{Lookup, consent_reference};
use egov_registry::refusal::Refusal;
use futures_util::future::BoxFuture;
use sqlx::PgConnection;

pub struct PersonByIin {
    /// `lookup.allowed_legal_bases` of the settings.
    allowed_legal_bases: Vec<String>,
}

impl PersonByIin {
    pub fn new(allowed_legal_bases: Vec<String>) -> PersonByIin {
        PersonByIin {
            allowed_legal_bases,
        }
    }
}

impl Lookup for PersonByIin {
    const SERVICE: &'static str = PERSON_BY_IIN;
    const REQUEST_NAME: &'static str = "egov.individuals.v1.PersonByIinRequest";
    type Request = PersonByIinRequest;
    type Answer = PersonRecord;

    fn answer<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        request: &'a PersonByIinRequest,
        message: &'a Incoming,
    ) -> BoxFuture<'a, Result<PersonRecord, Refusal>> {
        Box::pin(lookup::person_by_iin_on(
            conn,
            request,
            consent_reference(message),
            &self.allowed_legal_bases,
        ))
    }
}
