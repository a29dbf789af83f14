//! The registry's inbox: "person-by-iin" look-ups arriving through the
//! gateway (diagram 1 process 3, seed 001 §9 and seed 004 para 9, from the
//! State Corporation; seed 003 §11 process 5 from the provider's
//! workstation; the portal's registration by IIN), answered synchronously.
//!
//! The fault gate comes first ([`crate::registry::admit`]); then the
//! request is read and [`crate::lookup::person_by_iin`] answers it on the
//! inbox transaction's connection: a `PersonRecord` (KIND_RESPONSE) or a
//! refusal with its stable code (KIND_REJECT).

use crate::fault::FaultSwitch;
use crate::lookup::{self, SERVICE};
use crate::registry;
use egov_bus::{Context, Handler, HandlerError, Incoming, Outcome};
use egov_proto::individuals::PersonByIinRequest;
use egov_proto::prost::Message;
use futures_util::future::BoxFuture;
use std::sync::Arc;

pub struct PersonByIin {
    fault: Arc<FaultSwitch>,
    /// `lookup.allowed_legal_bases` of the settings.
    allowed_legal_bases: Vec<String>,
}

impl PersonByIin {
    pub fn new(fault: Arc<FaultSwitch>, allowed_legal_bases: Vec<String>) -> PersonByIin {
        PersonByIin {
            fault,
            allowed_legal_bases,
        }
    }
}

impl Handler for PersonByIin {
    fn admit<'a>(
        &'a self,
        message: &'a Incoming,
    ) -> BoxFuture<'a, Result<Option<Outcome>, HandlerError>> {
        Box::pin(registry::admit(&self.fault, message))
    }

    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        ctx: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            let request = match registry::request::<PersonByIinRequest>(
                message,
                SERVICE,
                "egov.individuals.v1.PersonByIinRequest",
            ) {
                Ok(request) => request,
                Err(refusal) => return Ok(Outcome::Reject(refusal.to_rejection())),
            };
            let answer = lookup::person_by_iin_on(
                &mut *ctx.db,
                &request,
                registry::consent_reference(message),
                &self.allowed_legal_bases,
            )
            .await;
            Ok(match answer {
                Ok(record) => Outcome::Reply(record.encode_to_vec()),
                Err(refusal) => {
                    tracing::info!(code = refusal.code.as_str(), "Look-up refused.");
                    Outcome::Reject(refusal.to_rejection())
                }
            })
        })
    }
}
