//! The workstation's inbox: applications from the portal (diagram 2,
//! process 5 → 6) and the State Corporation (diagram 1, process 6 → 7), and
//! the State Corporation's unclaimed results (seed 002 Rules p.11).
//!
//! A submission is registered in the handler's own transaction, with the
//! bus's record of its message id and its first status in the outbox: the
//! same message twice registers once (the bus skips a seen id; the journal
//! keys on the sender and the conversation besides, so a resend under a new
//! id is recognised too). A submission that cannot be registered is answered
//! with a KIND_REJECT naming the code and the field, and nothing is written.

use crate::engine::{RESULT_SERVICE, Registration, Submission, Workstation};
use crate::error::{ApiCode, ApiError};
use crate::journal;
use crate::model::Origin;
use egov_bus::envelope::timestamp;
use egov_bus::{Context, Handler, HandlerError, Incoming, Outcome, Outgoing};
use egov_proto::workstation as pb;
use egov_runtime::refusal::Code as _;
use egov_trust::SystemId;
use futures_util::future::BoxFuture;
use std::sync::Arc;

pub const SUBMIT_SERVICE: &str = "submit-application";
pub const RETURN_UNCLAIMED: &str = "return-unclaimed-result";
pub const REQUEST_UNCLAIMED: &str = "request-unclaimed-result";

pub struct Inbox {
    pub workstation: Arc<Workstation>,
}

/// A refusal is answered to the sender; a fault of ours (the database, a
/// dependency away, a bug) is retried by the bus.
fn refuse(error: ApiError) -> Result<Outcome, HandlerError> {
    match error {
        ApiError::Refused(refusal) if refusal.code.grpc_code() != tonic::Code::Unavailable => {
            tracing::info!(%refusal, "Refused a message.");
            Ok(Outcome::Reject(refusal.to_rejection()))
        }
        fault => Err(HandlerError::Transient(fault.into())),
    }
}

impl Handler for Inbox {
    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        ctx: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            match message.service() {
                SUBMIT_SERVICE => self.submit(message, ctx).await,
                RETURN_UNCLAIMED | REQUEST_UNCLAIMED => self.unclaimed(message, ctx).await,
                other => Err(HandlerError::Permanent(anyhow::anyhow!(
                    "the workstation offers no service {other:?}"
                ))),
            }
        })
    }
}

impl Inbox {
    async fn submit(
        &self,
        message: &Incoming,
        ctx: &mut Context<'_>,
    ) -> Result<Outcome, HandlerError> {
        let origin = match message.sender() {
            Some(SystemId::Portal) => Origin::Portal,
            Some(SystemId::Intake) => Origin::Intake,
            other => {
                return refuse(ApiError::new(
                    ApiCode::UnknownOrigin,
                    format!("applications come from the portal or intake, not {other:?}"),
                ));
            }
        };
        let application = match message.decode::<pb::Application>() {
            Ok(application) => application,
            Err(error) => {
                return refuse(ApiError::invalid(
                    ApiCode::MalformedPayload,
                    "payload",
                    format!("not an egov.workstation.v1.Application: {error}"),
                ));
            }
        };
        let header = &message.opened.header;
        let submission = Submission {
            origin,
            message_id: message.message_id().parse().ok(),
            conversation_id: header.conversation_id.clone(),
            acting_user: header.acting_user.clone(),
            application,
        };
        match self.workstation.register(ctx.db, &submission).await {
            Ok(Registration::Registered { outgoing, .. }) => {
                for message in outgoing {
                    ctx.send(message);
                }
                Ok(Outcome::Done)
            }
            Ok(Registration::Duplicate { journal_number }) => {
                tracing::info!(%journal_number, conversation_id = %submission.conversation_id, "The application is already in the journal; not registering it twice.");
                Ok(Outcome::Done)
            }
            Err(error) => refuse(error),
        }
    }

    /// Seed 002 Rules p.11: the State Corporation keeps an unclaimed result
    /// for a month, then hands it to the provider; when the recipient comes
    /// later, it asks for it back and the provider sends it within one
    /// working day (here: at once).
    async fn unclaimed(
        &self,
        message: &Incoming,
        ctx: &mut Context<'_>,
    ) -> Result<Outcome, HandlerError> {
        let request = match message.decode::<pb::UnclaimedResult>() {
            Ok(request) => request,
            Err(error) => {
                return refuse(ApiError::invalid(
                    ApiCode::MalformedPayload,
                    "payload",
                    format!("not an egov.workstation.v1.UnclaimedResult: {error}"),
                ));
            }
        };
        let app = match journal::application(ctx.db, &request.journal_number, true).await {
            Ok(app) if app.origin == Origin::Intake => app,
            Ok(_) => {
                return refuse(
                    ApiError::invalid(
                        ApiCode::NotFromIntake,
                        "journal_number",
                        "the application did not come through the State Corporation",
                    )
                    .at("journal_number"),
                );
            }
            Err(error) => return refuse(error),
        };
        if message.service() == RETURN_UNCLAIMED {
            if !journal::mark_returned(ctx.db, app.id).await? {
                return refuse(ApiError::new(
                    ApiCode::NotIssued,
                    "the application's result has not been issued",
                ));
            }
            tracing::info!(journal_number = %app.journal_number, "The State Corporation returned an unclaimed result.");
            return Ok(Outcome::Done);
        }
        let result = match journal::signed_result(ctx.db, app.id).await {
            Ok(found) => found,
            Err(error) => return refuse(error),
        };
        ctx.send(
            Outgoing::notification(
                SystemId::Intake,
                RESULT_SERVICE,
                pb::ApplicationResult {
                    journal_number: app.journal_number.clone(),
                    regulation: app.regulation.clone(),
                    state: result.decision.final_state().to_proto(app.current_position) as i32,
                    document: Some(result.document),
                    reference: app.reference.clone(),
                    issued_at: Some(timestamp(chrono::Utc::now())),
                },
            )
            .conversation(app.conversation_id.clone()),
        );
        journal::clear_returned(ctx.db, app.id).await?;
        Ok(Outcome::Done)
    }
}
