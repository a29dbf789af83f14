//! The registry's inbox: "power-of-attorney" look-ups arriving through the
//! gateway from the State Corporation (seed 001 §9 diagram 1, processes 2-3
//! and condition 1; seed 004 services 1-4 and 6, para 9), answered
//! synchronously.
//!
//! [`egov_registry::lookup::LookupHandler`] runs the fault gate and reads
//! the request; [`PowerOfAttorneyLookup`] answers it with
//! [`crate::lookup::power_of_attorney_on`] on the inbox transaction's
//! connection: a `PowerOfAttorneyAnswer` (KIND_RESPONSE: valid, expired,
//! revoked, not found or out of scope) or a refusal with its stable code
//! (KIND_REJECT).

use crate::lookup;
use chrono::NaiveDate;
use egov_bus::Incoming;
use egov_proto::notary::{PowerOfAttorneyAnswer, PowerOfAttorneyRequest};
use egov_proto::services::POWER_OF_ATTORNEY;
use egov_registry::lookup::Lookup;
use egov_registry::refusal::Refusal;
use futures_util::future::BoxFuture;
use sqlx::PgConnection;

pub struct PowerOfAttorneyLookup {
    /// `lookup.as_of` of the settings; none means today in Asia/Almaty.
    as_of: Option<NaiveDate>,
}

impl PowerOfAttorneyLookup {
    pub fn new(as_of: Option<NaiveDate>) -> PowerOfAttorneyLookup {
        PowerOfAttorneyLookup { as_of }
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

impl Lookup for PowerOfAttorneyLookup {
    const SERVICE: &'static str = POWER_OF_ATTORNEY;
    const REQUEST_NAME: &'static str = "egov.notary.v1.PowerOfAttorneyRequest";
    type Request = PowerOfAttorneyRequest;
    type Answer = PowerOfAttorneyAnswer;

    fn answer<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        request: &'a PowerOfAttorneyRequest,
        _message: &'a Incoming,
    ) -> BoxFuture<'a, Result<PowerOfAttorneyAnswer, Refusal>> {
        Box::pin(lookup::power_of_attorney_on(conn, request, self.today()))
    }
}
