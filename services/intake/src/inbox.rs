//! The inbox: what the provider's workstation sends back about requests
//! taken at the counter. Its statuses (registered by process 7, then each
//! staff step), its refusal to register (a KIND_REJECT), and the result or
//! the reasoned refusal signed by the provider's authorised person
//! (processes 8-9: "the consumer receives the result through the ХҚО
//! operator"), kept only if the signature verifies. The recipient is told
//! by SMS that the result is ready.

use crate::intake::Intake;
use crate::request::sms;
use crate::storage::{REQUEST_UNCLAIMED, RETURN_UNCLAIMED};
use chrono::{DateTime, Utc};
use egov_bus::{Context, Handler, HandlerError, Incoming, Outcome};
use egov_proto::envelope::{Kind, Rejection};
use egov_proto::intake as pb;
use egov_proto::workstation as ws;
use egov_trust::{KeyPurpose, cms};
use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use std::sync::Arc;

/// Moves a request's stage forward only (statuses may come late), and
/// never past a result.
const ADVANCE_STAGE: &str = "UPDATE requests SET stage = $2, updated_at = now()
     WHERE reference = $1 AND $2 > stage AND stage < 7";

pub struct Inbox {
    pub intake: Arc<Intake>,
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
                    let reference = &message.opened.header.correlation_id;
                    not_accepted(ctx.db, reference, &rejection).await
                }
                (_, egov_proto::services::APPLICATION_STATUS) => {
                    let status: ws::ApplicationStatus = message.decode().map_err(permanent)?;
                    record_status(ctx.db, &status).await
                }
                (Kind::Reject, RETURN_UNCLAIMED | REQUEST_UNCLAIMED) => {
                    let rejection: Rejection = message.decode().map_err(permanent)?;
                    tracing::error!(
                        service = message.service(),
                        reference = %message.opened.header.correlation_id,
                        code = %rejection.code,
                        "The provider refused an unclaimed-result message: {}",
                        rejection.message
                    );
                    Ok(Outcome::Done)
                }
                (_, egov_proto::services::APPLICATION_RESULT) => {
                    let result: ws::ApplicationResult = message.decode().map_err(permanent)?;
                    self.record_result(ctx.db, &result).await
                }
                (kind, service) => Ok(Outcome::Reject(Rejection {
                    code: "unknown_service".into(),
                    message: format!("the intake takes no {kind:?} {service:?}"),
                    field: "header.service".into(),
                })),
            }
        })
    }
}

fn unknown_request(reference: &str) -> Outcome {
    Outcome::Reject(Rejection {
        code: "unknown_request".into(),
        message: format!("the intake sent no request {reference}"),
        field: "reference".into(),
    })
}

/// The workstation could not register the request.
async fn not_accepted(
    db: &mut PgConnection,
    reference: &str,
    rejection: &Rejection,
) -> Result<Outcome, HandlerError> {
    let Ok(reference) = reference.parse::<uuid::Uuid>() else {
        return Ok(unknown_request(reference));
    };
    sqlx::query(
        "UPDATE requests SET stage = $2, refusal_code = $3, refusal_message = $4, updated_at = now()
         WHERE reference = $1 AND stage < 7",
    )
    .bind(reference)
    .bind(pb::Stage::NotAccepted as i16)
    .bind(&rejection.code)
    .bind(&rejection.message)
    .execute(&mut *db)
    .await?;
    tracing::warn!(%reference, code = %rejection.code, "The provider did not accept a request.");
    Ok(Outcome::Done)
}

async fn record_status(
    db: &mut PgConnection,
    status: &ws::ApplicationStatus,
) -> Result<Outcome, HandlerError> {
    let Ok(reference) = status.reference.parse::<uuid::Uuid>() else {
        return Ok(unknown_request(&status.reference));
    };
    let at = status
        .at
        .as_ref()
        .and_then(egov_bus::envelope::from_timestamp)
        .unwrap_or_else(Utc::now);
    let known = sqlx::query(
        "UPDATE requests SET journal_number = $2, last_sequence = GREATEST(last_sequence, $3),
             updated_at = now()
         WHERE reference = $1",
    )
    .bind(reference)
    .bind(&status.journal_number)
    .bind(status.sequence as i32)
    .execute(&mut *db)
    .await?
    .rows_affected();
    if known == 0 {
        return Ok(unknown_request(&status.reference));
    }
    sqlx::query(
        "INSERT INTO statuses (reference, sequence, state, text, at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(reference)
    .bind(status.sequence as i32)
    .bind(status.state as i16)
    .bind(&status.text)
    .bind(at)
    .execute(&mut *db)
    .await?;
    let stage = match ws::State::try_from(status.state) {
        Ok(ws::State::Accepted) => Some(pb::Stage::Registered),
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
    Ok(Outcome::Done)
}

impl Inbox {
    /// Processes 8-9: the result, kept only if the provider's signature
    /// verifies (CMS, a signing key from the mesh CA).
    async fn record_result(
        &self,
        db: &mut PgConnection,
        result: &ws::ApplicationResult,
    ) -> Result<Outcome, HandlerError> {
        let Ok(reference) = result.reference.parse::<uuid::Uuid>() else {
            return Ok(unknown_request(&result.reference));
        };
        let document = result.document.clone().unwrap_or_default();
        let checked = cms::verify_attached_to(
            &document.cms,
            &document.content,
            KeyPurpose::Signing,
            &self.intake.trust,
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
            Err(e) => {
                return Ok(Outcome::Reject(Rejection {
                    code: "result_signature_invalid".into(),
                    message: e.to_string(),
                    field: "document.cms".into(),
                }));
            }
        }
        let regulation: Option<String> =
            sqlx::query_scalar("SELECT regulation FROM requests WHERE reference = $1")
                .bind(reference)
                .fetch_optional(&mut *db)
                .await?;
        let Some(regulation) = regulation else {
            return Ok(unknown_request(&result.reference));
        };
        // Kept from now (the storage clock) for one calendar month, also
        // when it comes again after a return.
        let arrived = self.intake.storage_clock.now();
        let keep_until = self.intake.keep_until(&regulation, arrived);
        // A result asked back after a return (seed 002 Rules p.11) replaces
        // nothing already handed over.
        let row: Option<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
            "UPDATE requests SET stage = $2, result_state = $3, result_cms = $4,
                 result_received_at = now(), journal_number = $5, result_arrived_at = $6,
                 keep_until = $7, updated_at = now()
             WHERE reference = $1 AND issued_at IS NULL AND result_cms IS NULL
             RETURNING recipient_phone, issued_at",
        )
        .bind(reference)
        .bind(pb::Stage::ResultReady as i16)
        .bind(result.state as i16)
        .bind(document.cms.to_vec())
        .bind(&result.journal_number)
        .bind(arrived)
        .bind(keep_until)
        .fetch_optional(&mut *db)
        .await?;
        let Some((phone, _)) = row else {
            let known: Option<i16> =
                sqlx::query_scalar("SELECT stage FROM requests WHERE reference = $1")
                    .bind(reference)
                    .fetch_optional(&mut *db)
                    .await?;
            return Ok(match known {
                Some(_) => Outcome::Done, // the same result again
                None => unknown_request(&result.reference),
            });
        };
        sms(
            db,
            &phone,
            Some(reference),
            &format!(
                "Результат по заявке {reference} готов; получите его в Государственной корпорации с удостоверением личности и распиской. / The result of request {reference} is ready at the State Corporation: bring your identity card and the receipt."
            ),
        )
        .await?;
        Ok(Outcome::Done)
    }
}
