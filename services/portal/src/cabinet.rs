//! The personal cabinet ("history of services"): diagram 2 processes 6-8
//! seen from the citizen. The workstation's statuses ("accepted, result
//! expected at …", then each step), its result signed by the provider's
//! authorised person, or its reasoned refusal arrive in the portal's inbox
//! and are kept per application; what egov.kz would send by SMS is recorded
//! as notifications.

use crate::error::{PortalCode, PortalError, PortalResult};
use crate::portal::Citizen;
use crate::portal::Portal;
use chrono::{DateTime, Utc};
use egov_bus::{Context, Handler, HandlerError, Incoming, Outcome};
use egov_proto::envelope::{Kind, Rejection};
use egov_proto::portal as pb;
use egov_proto::prost::Message;
use egov_proto::workstation as ws;
use egov_trust::{KeyPurpose, cms};
use futures_util::future::BoxFuture;
use sqlx::{PgConnection, Row};
use std::sync::Arc;
use tracing::Instrument;

/// Records a notification for the citizen (what egov.kz sends by SMS).
pub async fn notify(
    db: &mut PgConnection,
    citizen: &Citizen,
    reference: Option<uuid::Uuid>,
    text: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO notifications (iin, phone, reference, text) VALUES ($1, $2, $3, $4)")
        .bind(&citizen.iin)
        .bind(&citizen.phone)
        .bind(reference)
        .bind(text)
        .execute(db)
        .await?;
    Ok(())
}

/// Records a notification for the owner of an application.
async fn notify_owner(
    db: &mut PgConnection,
    reference: uuid::Uuid,
    text: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notifications (iin, phone, reference, text)
         SELECT c.iin, c.phone, a.reference, $2
         FROM applications a JOIN citizens c ON c.iin = a.iin WHERE a.reference = $1",
    )
    .bind(reference)
    .bind(text)
    .execute(db)
    .await?;
    Ok(())
}

/// Moves an application's stage forward only (statuses may come late).
const ADVANCE_STAGE: &str = "UPDATE applications SET stage = $2, updated_at = now()
     WHERE reference = $1 AND $2 > stage AND stage < 4";

/// The inbox: what the workstation sends back about applications.
pub struct Inbox {
    pub portal: Arc<Portal>,
}

impl Handler for Inbox {
    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        ctx: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            let permanent = |e: egov_proto::prost::DecodeError| HandlerError::Permanent(e.into());
            match (message.kind(), message.service()) {
                (Kind::Reject, egov_proto::services::SUBMIT_APPLICATION) => {
                    let rejection: Rejection = message.decode().map_err(permanent)?;
                    let reference = reference_of(&message.opened.header.correlation_id)?;
                    not_accepted(ctx.db, reference, &rejection).await
                }
                (_, egov_proto::services::APPLICATION_STATUS) => {
                    let status: ws::ApplicationStatus = message.decode().map_err(permanent)?;
                    record_status(ctx.db, &status)
                        .instrument(tracing::info_span!("status to cabinet"))
                        .await
                }
                (_, egov_proto::services::APPLICATION_RESULT) => {
                    let result: ws::ApplicationResult = message.decode().map_err(permanent)?;
                    self.record_result(ctx.db, &result)
                        .instrument(tracing::info_span!("result to cabinet"))
                        .await
                }
                (kind, service) => Ok(Outcome::Reject(Rejection {
                    code: "unknown_service".into(),
                    message: format!("the portal takes no {kind:?} {service:?}"),
                    field: "header.service".into(),
                })),
            }
        })
    }
}

/// A result whose provider's signature does not verify is refused, not kept.
pub(crate) fn invalid_result_signature(error: &cms::CmsError) -> Rejection {
    Rejection {
        code: "result_signature_invalid".into(),
        message: error.to_string(),
        field: "document.cms".into(),
    }
}

fn reference_of(text: &str) -> Result<uuid::Uuid, HandlerError> {
    text.parse()
        .map_err(|e| HandlerError::Permanent(anyhow::anyhow!("reference {text:?}: {e}")))
}

fn unknown_application(reference: &str) -> Outcome {
    Outcome::Reject(Rejection {
        code: "unknown_application".into(),
        message: format!("the portal sent no application {reference}"),
        field: "reference".into(),
    })
}

/// The workstation could not register the application (its KIND_REJECT).
async fn not_accepted(
    db: &mut PgConnection,
    reference: uuid::Uuid,
    rejection: &Rejection,
) -> Result<Outcome, HandlerError> {
    let updated = sqlx::query(
        "UPDATE applications SET stage = $2, refusal_code = $3, refusal_message = $4,
             updated_at = now()
         WHERE reference = $1 AND stage < 4",
    )
    .bind(reference)
    .bind(pb::Stage::NotAccepted as i16)
    .bind(&rejection.code)
    .bind(&rejection.message)
    .execute(&mut *db)
    .await?
    .rows_affected();
    if updated == 1 {
        notify_owner(
            db,
            reference,
            &format!(
                "Ваш запрос {reference} не принят: {} / Your request {reference} was not accepted: {}",
                rejection.message, rejection.message
            ),
        )
        .await?;
    }
    Ok(Outcome::Done)
}

/// "Accepted, result expected at …" first, then each staff step.
async fn record_status(
    db: &mut PgConnection,
    status: &ws::ApplicationStatus,
) -> Result<Outcome, HandlerError> {
    let Ok(reference) = status.reference.parse::<uuid::Uuid>() else {
        return Ok(unknown_application(&status.reference));
    };
    let at = status
        .at
        .as_ref()
        .and_then(egov_bus::envelope::from_timestamp)
        .unwrap_or_else(Utc::now);
    let expected: Option<DateTime<Utc>> = status
        .result_expected_at
        .as_ref()
        .and_then(egov_bus::envelope::from_timestamp);
    let known = sqlx::query(
        "UPDATE applications SET journal_number = $2,
             result_expected_at = COALESCE($3, result_expected_at),
             last_sequence = GREATEST(last_sequence, $4), updated_at = now()
         WHERE reference = $1",
    )
    .bind(reference)
    .bind(&status.journal_number)
    .bind(expected)
    .bind(status.sequence as i32)
    .execute(&mut *db)
    .await?
    .rows_affected();
    if known == 0 {
        return Ok(unknown_application(&status.reference));
    }
    let new = sqlx::query(
        "INSERT INTO application_statuses (reference, sequence, state, text, at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(reference)
    .bind(status.sequence as i32)
    .bind(status.state as i16)
    .bind(&status.text)
    .bind(at)
    .execute(&mut *db)
    .await?
    .rows_affected();
    let stage = match ws::State::try_from(status.state) {
        Ok(ws::State::Accepted) => Some(pb::Stage::Accepted),
        Ok(ws::State::InProgress) => Some(pb::Stage::InProgress),
        _ => None,
    };
    if let Some(stage) = stage {
        sqlx::query(ADVANCE_STAGE)
            .bind(reference)
            .bind(stage as i16)
            .execute(&mut *db)
            .await?;
    }
    if new == 1 && status.sequence == 1 {
        notify_owner(db, reference, &status.text).await?;
    }
    Ok(Outcome::Done)
}

impl Inbox {
    /// Process 8 (or 7): the result, kept only if the provider's signature
    /// verifies (CMS, a signing key from the mesh CA).
    async fn record_result(
        &self,
        db: &mut PgConnection,
        result: &ws::ApplicationResult,
    ) -> Result<Outcome, HandlerError> {
        let Ok(reference) = result.reference.parse::<uuid::Uuid>() else {
            return Ok(unknown_application(&result.reference));
        };
        let document = result.document.clone().unwrap_or_default();
        let checked = cms::verify_attached_to(
            &document.cms,
            &document.content,
            KeyPurpose::Signing,
            &self.portal.trust,
            Utc::now(),
        )
        .await;
        match checked {
            Ok(_) => {}
            Err(e) if e.is_transient() => {
                return Err(HandlerError::Transient(anyhow::anyhow!(
                    "cannot check the result's signature now: {e}"
                )));
            }
            Err(e) => return Ok(Outcome::Reject(invalid_result_signature(&e))),
        }
        let state = ws::State::try_from(result.state).unwrap_or(ws::State::Unspecified);
        let stage = match state {
            ws::State::Refused => pb::Stage::Refused,
            _ => pb::Stage::Issued,
        };
        let issued_at = result
            .issued_at
            .as_ref()
            .and_then(egov_bus::envelope::from_timestamp);
        let inserted = sqlx::query(
            "INSERT INTO results (reference, state, cms, issued_at)
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM applications WHERE reference = $1)
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(reference)
        .bind(result.state as i16)
        .bind(document.cms.to_vec())
        .bind(issued_at)
        .execute(&mut *db)
        .await?
        .rows_affected();
        if inserted == 0 {
            let known: Option<i16> =
                sqlx::query_scalar("SELECT stage FROM applications WHERE reference = $1")
                    .bind(reference)
                    .fetch_optional(&mut *db)
                    .await?;
            return Ok(match known {
                Some(_) => Outcome::Done, // the same result again
                None => unknown_application(&result.reference),
            });
        }
        sqlx::query("UPDATE applications SET stage = $2, journal_number = $3, updated_at = now() WHERE reference = $1")
            .bind(reference)
            .bind(stage as i16)
            .bind(&result.journal_number)
            .execute(&mut *db)
            .await?;
        let text = match stage {
            pb::Stage::Refused => format!(
                "По запросу {reference} вынесен мотивированный отказ; он в личном кабинете. / A reasoned refusal of request {reference} is in your cabinet."
            ),
            _ => format!(
                "Результат по запросу {reference} готов и находится в личном кабинете. / The result of request {reference} is in your cabinet."
            ),
        };
        notify_owner(db, reference, &text).await?;
        Ok(Outcome::Done)
    }
}

impl Portal {
    /// One application of the citizen, as the cabinet shows it.
    pub async fn application(
        &self,
        citizen: &Citizen,
        reference: &str,
    ) -> PortalResult<pb::ApplicationView> {
        let unknown = || {
            PortalError::at(
                PortalCode::UnknownApplication,
                "reference",
                format!("you have no application {reference:?}"),
            )
        };
        let reference: uuid::Uuid = reference.parse().map_err(|_| unknown())?;
        let row = sqlx::query(
            "SELECT a.reference, a.regulation, a.stage, a.submitted_at, a.journal_number,
                    a.result_expected_at, a.refusal_code, a.refusal_message,
                    r.cms AS result_cms
             FROM applications a LEFT JOIN results r ON r.reference = a.reference
             WHERE a.reference = $1 AND a.iin = $2",
        )
        .bind(reference)
        .bind(&citizen.iin)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(unknown)?;
        let history = sqlx::query(
            "SELECT sequence, state, text, at FROM application_statuses
             WHERE reference = $1 ORDER BY sequence",
        )
        .bind(reference)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(pb::StatusEntry {
                sequence: r.try_get::<i32, _>("sequence")? as u32,
                state: i32::from(r.try_get::<i16, _>("state")?),
                text: r.try_get("text")?,
                at: Some(egov_bus::envelope::timestamp(r.try_get("at")?)),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        self.view(&row, history)
    }

    fn view(
        &self,
        row: &sqlx::postgres::PgRow,
        history: Vec<pb::StatusEntry>,
    ) -> PortalResult<pb::ApplicationView> {
        let regulation: String = row.try_get("regulation")?;
        let stage = pb::Stage::try_from(i32::from(row.try_get::<i16, _>("stage")?))
            .map_err(|_| PortalError::internal("an unknown stage is stored"))?;
        let result_cms: Option<Vec<u8>> = row.try_get("result_cms")?;
        let refusal = result_cms
            .as_deref()
            .and_then(|cms| result_document(cms).ok())
            .and_then(|doc| doc.refusal);
        let (grounds, reasons) = refusal.map(|r| (r.grounds, r.reasons)).unwrap_or_default();
        Ok(pb::ApplicationView {
            reference: row.try_get::<uuid::Uuid, _>("reference")?.to_string(),
            service_name: self
                .regulations
                .get(&regulation)
                .map(|r| r.names.ru.clone())
                .unwrap_or_default(),
            regulation,
            stage: stage as i32,
            submitted_at: Some(egov_bus::envelope::timestamp(row.try_get("submitted_at")?)),
            journal_number: row.try_get("journal_number")?,
            result_expected_at: row
                .try_get::<Option<DateTime<Utc>>, _>("result_expected_at")?
                .map(egov_bus::envelope::timestamp),
            history,
            grounds,
            reasons,
            refusal_code: row.try_get("refusal_code")?,
            refusal_message: row.try_get("refusal_message")?,
            has_result: result_cms.is_some(),
        })
    }

    /// The citizen's applications, newest first (without their histories).
    pub async fn applications(&self, citizen: &Citizen) -> PortalResult<Vec<pb::ApplicationView>> {
        let rows = sqlx::query(
            "SELECT a.reference, a.regulation, a.stage, a.submitted_at, a.journal_number,
                    a.result_expected_at, a.refusal_code, a.refusal_message,
                    r.cms AS result_cms
             FROM applications a LEFT JOIN results r ON r.reference = a.reference
             WHERE a.iin = $1 ORDER BY a.submitted_at DESC LIMIT 200",
        )
        .bind(&citizen.iin)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| self.view(row, Vec::new())).collect()
    }

    /// The result as the provider signed it.
    pub async fn result(&self, citizen: &Citizen, reference: &str) -> PortalResult<pb::ResultFile> {
        let view = self.application(citizen, reference).await?;
        let cms: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT cms FROM results WHERE reference = $1")
                .bind(
                    view.reference
                        .parse::<uuid::Uuid>()
                        .map_err(|_| PortalError::internal("reference"))?,
                )
                .fetch_optional(&self.pool)
                .await?;
        let cms = cms.ok_or_else(|| {
            PortalError::at(
                PortalCode::NoResultYet,
                "reference",
                "the provider has not issued a result yet",
            )
        })?;
        let document = result_document(&cms)?;
        Ok(pb::ResultFile {
            file_name: format!("{}-{}.p7s", view.regulation, view.journal_number),
            cms: cms.into(),
            document: Some(document),
        })
    }

    pub async fn notifications(&self, citizen: &Citizen) -> PortalResult<Vec<pb::Notification>> {
        let rows = sqlx::query(
            "SELECT at, phone, reference, text FROM notifications WHERE iin = $1 ORDER BY id",
        )
        .bind(&citizen.iin)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(pb::Notification {
                    at: Some(egov_bus::envelope::timestamp(r.try_get("at")?)),
                    phone: r.try_get("phone")?,
                    text: r.try_get("text")?,
                    reference: r
                        .try_get::<Option<uuid::Uuid>, _>("reference")?
                        .map(|u| u.to_string())
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(PortalError::from)
    }
}

/// The ResultDocument inside a result's CMS (verified when it arrived).
fn result_document(cms: &[u8]) -> PortalResult<ws::ResultDocument> {
    let content = cms::encapsulated_content(cms)
        .map_err(|e| PortalError::internal(format!("a stored result: {e}")))?;
    ws::ResultDocument::decode(content.as_slice())
        .map_err(|e| PortalError::internal(format!("a stored result: {e}")))
}
