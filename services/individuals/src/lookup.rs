//! The "person-by-iin" rules (`egov_proto::services::PERSON_BY_IIN`), as
//! the inbox handler calls them: the IIN is parsed and the access checked
//! before any database access; then the record is read, or a definite "not
//! found" given.

use crate::storage;
use egov_proto::individuals::{PersonByIinRequest, PersonRecord};
use egov_registry::refusal::{self, Refusal};
use egov_trust::iin::Iin;
use sqlx::{PgConnection, PgPool};

/// Answers one look-up. `consent_reference` is the envelope header's
/// (empty counts as absent); `allowed_legal_bases` comes from settings.
///
/// Order: a malformed IIN is refused first (`invalid_iin`: there is no
/// subject whose consent could matter), then a request with neither consent
/// nor an accepted legal basis (`consent_required`, gateway-anchors.md §3.5);
/// only then is the database read. A valid IIN that is not registered is
/// `not_found`: condition 1's negative branch, process 4 "data cannot be
/// obtained" (seed 001 §9, diagram 1; seed 004 para 9).
pub async fn person_by_iin(
    pool: &PgPool,
    request: &PersonByIinRequest,
    consent_reference: Option<&str>,
    allowed_legal_bases: &[String],
) -> Result<PersonRecord, Refusal> {
    let iin = admissible(request, consent_reference, allowed_legal_bases)?;
    let mut conn = pool.acquire().await.map_err(storage_failure)?;
    read(&mut conn, &iin).await
}

/// [`person_by_iin`] on a connection already held: the inbox handler's
/// transaction. The same checks come before the read.
pub async fn person_by_iin_on(
    conn: &mut PgConnection,
    request: &PersonByIinRequest,
    consent_reference: Option<&str>,
    allowed_legal_bases: &[String],
) -> Result<PersonRecord, Refusal> {
    let iin = admissible(request, consent_reference, allowed_legal_bases)?;
    read(conn, &iin).await
}

/// The checks that need no database: the IIN, then the access.
fn admissible(
    request: &PersonByIinRequest,
    consent_reference: Option<&str>,
    allowed_legal_bases: &[String],
) -> Result<Iin, Refusal> {
    let iin = Iin::parse(&request.iin).map_err(|error| refusal::invalid_iin("iin", &error))?;
    check_access(request, consent_reference, allowed_legal_bases)?;
    Ok(iin)
}

async fn read(conn: &mut PgConnection, iin: &Iin) -> Result<PersonRecord, Refusal> {
    match storage::person_details_on(conn, iin).await {
        Ok(Some(details)) => Ok(details.to_record()),
        Ok(None) => Err(refusal::not_found(
            "iin",
            "ЖТ МДБ has no person with this IIN",
        )),
        Err(error) => Err(storage_failure(error)),
    }
}

fn storage_failure(error: sqlx::Error) -> Refusal {
    tracing::error!(error = %error, "Person look-up failed in storage.");
    refusal::registry_failure()
}

/// Consent (any non-empty reference; the mesh has no consent service to ask
/// whether it is genuine) or a legal basis from the configured list.
pub fn check_access(
    request: &PersonByIinRequest,
    consent_reference: Option<&str>,
    allowed_legal_bases: &[String],
) -> Result<(), Refusal> {
    if consent_reference.is_some_and(|c| !c.trim().is_empty()) {
        return Ok(());
    }
    let basis = request.legal_basis.trim();
    if basis.is_empty() {
        return Err(refusal::consent_required(
            "the subject's consent reference (envelope header consent_reference) \
             or an accepted legal basis is required",
        ));
    }
    if allowed_legal_bases.iter().any(|allowed| allowed == basis) {
        Ok(())
    } else {
        Err(refusal::consent_required(format!(
            "legal basis {basis:?} is not accepted without the subject's consent"
        ))
        .field("legal_basis"))
    }
}
