//! The registry's inbox: "power-of-attorney" look-ups arriving through the
//! gateway from the State Corporation (seed 001 §9 diagram 1, processes 2-3
//! and condition 1; seed 004 services 1-4 and 6, para 9), answered
//! synchronously.
//!
//! The fault gate comes first (`egov_individuals::registry::admit`); then
//! the request is read and [`crate::lookup::power_of_attorney_on`] answers
//! it on the inbox transaction's connection: a `PowerOfAttorneyAnswer`
//! (KIND_RESPONSE: valid, expired, revoked, not found or out of scope) or a
//! refusal with its stable code (KIND_REJECT).

use crate::fault::FaultSwitch;
use crate::lookup::{self, SERVICE};
use chrono::NaiveDate;
use egov_bus::{Context, Handler, HandlerError, Incoming, Outcome};
use egov_individuals::registry;
use egov_proto::notary::PowerOfAttorneyRequest;
use egov_proto::prost::Message;
use futures_util::future::BoxFuture;
use std::sync::Arc;

pub struct PowerOfAttorney {
    fault: Arc<FaultSwitch>,
    /// `lookup.as_of` of the settings; none means today in Asia/Almaty.
    as_of: Option<NaiveDate>,
}

impl PowerOfAttorney {
    pub fn new(fault: Arc<FaultSwitch>, as_of: Option<NaiveDate>) -> PowerOfAttorney {
        PowerOfAttorney { fault, as_of }
    }

    /// The day validity is judged on.
    pub fn today(&self) -> NaiveDate {
        self.as_of.unwrap_or_else(today_in_almaty)
    }
}

/// The calendar date in Kazakhstan now (a power of attorney's last day is a
/// local date).
pub fn today_in_almaty() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .date_naive()
}

impl Handler for PowerOfAttorney {
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
            let request = match registry::request::<PowerOfAttorneyRequest>(
                message,
                SERVICE,
                "egov.notary.v1.PowerOfAttorneyRequest",
            ) {
                Ok(request) => request,
                Err(refusal) => return Ok(Outcome::Reject(refusal.to_rejection())),
            };
            let answer = lookup::power_of_attorney_on(&mut *ctx.db, &request, self.today()).await;
            Ok(match answer {
                Ok(answer) => Outcome::Reply(answer.encode_to_vec()),
                Err(refusal) => {
                    tracing::info!(code = refusal.code.as_str(), "Look-up refused.");
                    Outcome::Reject(refusal.to_rejection())
                }
            })
        })
    }
}
