//! The "power-of-attorney" rules (`egov_proto::services::POWER_OF_ATTORNEY`),
//! as the inbox handler calls them: the
//! representative's IIN is parsed before any database access; every other
//! outcome is a definite answer (valid, expired, revoked, not found, out of
//! scope), which is what condition 1 of the State Corporation's flow checks
//! (seed 001 §9, diagram 1; seed 004 para 9: the POA data exist in БНАЖ).

use crate::model::{PowerOfAttorney, PowerOfAttorneyRules};
use crate::storage;
use chrono::NaiveDate;
use egov_proto::notary::power_of_attorney_answer::Status;
use egov_proto::notary::{PowerOfAttorneyAnswer, PowerOfAttorneyRequest};
use egov_registry::refusal::{self, Refusal};
use egov_trust::iin::Iin;
use sqlx::{PgConnection, PgPool};

/// Answers one look-up on `today`. Refuses only a malformed representative
/// IIN (`invalid_iin`) and a storage failure (`registry_failure`).
pub async fn power_of_attorney(
    pool: &PgPool,
    request: &PowerOfAttorneyRequest,
    today: NaiveDate,
) -> Result<PowerOfAttorneyAnswer, Refusal> {
    let (representative, number) = admissible(request)?;
    if number.is_empty() {
        return Ok(answer(None, representative, &request.service_code, today));
    }
    let mut conn = pool.acquire().await.map_err(storage_failure)?;
    read(&mut conn, request, representative, number, today).await
}

/// [`power_of_attorney`] on a connection already held: the inbox handler's
/// transaction. The IIN is parsed before the read.
pub async fn power_of_attorney_on(
    conn: &mut PgConnection,
    request: &PowerOfAttorneyRequest,
    today: NaiveDate,
) -> Result<PowerOfAttorneyAnswer, Refusal> {
    let (representative, number) = admissible(request)?;
    if number.is_empty() {
        return Ok(answer(None, representative, &request.service_code, today));
    }
    read(conn, request, representative, number, today).await
}

/// The representative's IIN and the number, trimmed.
fn admissible(request: &PowerOfAttorneyRequest) -> Result<(Iin, &str), Refusal> {
    let representative = Iin::parse(&request.representative_iin)
        .map_err(|error| refusal::invalid_iin("representative_iin", &error))?;
    Ok((representative, request.number.trim()))
}

async fn read(
    conn: &mut PgConnection,
    request: &PowerOfAttorneyRequest,
    representative: Iin,
    number: &str,
    today: NaiveDate,
) -> Result<PowerOfAttorneyAnswer, Refusal> {
    match storage::power_of_attorney_on(conn, number).await {
        Ok(found) => Ok(answer(found, representative, &request.service_code, today)),
        Err(error) => Err(storage_failure(error)),
    }
}

fn storage_failure(error: sqlx::Error) -> Refusal {
    tracing::error!(error = %error, "Power-of-attorney look-up failed in storage.");
    refusal::registry_failure()
}

/// The answer about what was found under the number. A power of attorney
/// given to someone else is "not found" for this representative, and is not
/// shown to them.
pub fn answer(
    found: Option<PowerOfAttorney>,
    representative: Iin,
    service_code: &str,
    today: NaiveDate,
) -> PowerOfAttorneyAnswer {
    match found {
        Some(power) if power.representative == representative => PowerOfAttorneyAnswer {
            status: power.status_on(service_code, today) as i32,
            power_of_attorney: Some(power.to_proto()),
        },
        _ => PowerOfAttorneyAnswer {
            status: Status::NotFound as i32,
            power_of_attorney: None,
        },
    }
}
