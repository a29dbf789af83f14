//! Registration: the journal entry of a submission (diagram 2 process 6,
//! diagram 1 process 7) with its documents and its procedure, and the first
//! status, which says when the result is expected (seed 002 Rules p.7).

use super::{Action, Actor, Registration, Submission, Workstation, status_text};
use crate::documents;
use crate::error::{ApiCode, ApiError};
use crate::journal::{self, AppRow, NewApplication};
use crate::procedure::{self, Procedure};
use chrono::{DateTime, Utc};
use egov_bus::Outgoing;
use egov_regulations::{Channel, Regulation};
use sqlx::PgConnection;
use tracing::Instrument;

impl Workstation {
    /// Registers a submission in the journal: its number and time, its
    /// documents, its procedure with due times.
    pub async fn register(
        &self,
        db: &mut PgConnection,
        submission: &Submission,
    ) -> Result<Registration, ApiError> {
        // The application's trace: kept with it (applications.traceparent),
        // continued by the steps the autopilot does later.
        let span = tracing::info_span!("register application", origin = ?submission.origin, conversation_id = %submission.conversation_id);
        self.register_in_span(db, submission).instrument(span).await
    }

    async fn register_in_span(
        &self,
        db: &mut PgConnection,
        submission: &Submission,
    ) -> Result<Registration, ApiError> {
        let (regulation, channel) = self.validate(submission)?;
        let registered_at = self.registration_time();
        let procedure = procedure::plan(regulation, channel, registered_at, &self.calendar)
            .map_err(|e| ApiError::new(ApiCode::CannotPlan, e.to_string()))?;
        let inserted = insert(
            db,
            submission,
            regulation,
            channel,
            registered_at,
            &procedure,
        );
        let Some(row) = inserted.await? else {
            // The journal keys on the sender and the conversation: the same
            // application under a new message id is the one registered.
            let journal_number =
                journal::journal_number_of(db, submission.origin, &submission.conversation_id)
                    .await?;
            return Ok(Registration::Duplicate { journal_number });
        };
        // The first status ("accepted") goes out in this transaction where
        // there is someone to send it to.
        let outgoing: Vec<Outgoing> = status_text::status(&row, None, 1).into_iter().collect();
        self.wake_if_automated(db, procedure.tasks.first().map(|t| t.role))
            .await?;
        tracing::info!(journal_number = %row.journal_number, regulation = %regulation.code, %channel, "Registered an application.");
        Ok(Registration::Registered {
            id: row.id,
            journal_number: row.journal_number,
            outgoing,
        })
    }

    /// Registers an office application whose applicant ЖТ МДБ did not
    /// confirm, and ends it at once in the refusal of process 7 (seed 003
    /// §11 diagram 3, condition 2 → process 7), formed, signed and issued
    /// by the workstation.
    pub async fn register_refused(
        &self,
        db: &mut PgConnection,
        submission: &Submission,
        reasons: Vec<String>,
    ) -> Result<String, ApiError> {
        let (regulation, channel) = self.validate(submission)?;
        let registered_at = self.registration_time();
        let procedure = Procedure {
            tasks: procedure::automatic(regulation, channel, Some(registered_at)),
            result_due: None,
            expected: Some(registered_at),
        };
        let journal_number = insert(
            db,
            submission,
            regulation,
            channel,
            registered_at,
            &procedure,
        )
        .await?
        .ok_or_else(|| ApiError::internal("an office application conflicted in the journal"))?
        .journal_number;
        let actor = Actor::workstation();
        let refuse = Action::Refuse {
            grounds: vec![procedure::DATA_NOT_CONFIRMED.to_owned()],
            reasons,
            missing_documents: Vec::new(),
        };
        for (position, action) in [(1, refuse), (2, Action::Sign), (3, Action::Issue)] {
            self.act(db, &journal_number, position, &actor, action)
                .await?;
        }
        Ok(journal_number)
    }
}

impl Workstation {
    /// When an application registered now is registered: the current time,
    /// or the fixed time of `workstation.registration_time` (tests).
    pub fn registration_time(&self) -> DateTime<Utc> {
        self.tuning.registration_time.unwrap_or_else(Utc::now)
    }
}

/// The journal entry of a checked submission; none when its conversation
/// is already in the journal.
async fn insert(
    db: &mut PgConnection,
    submission: &Submission,
    regulation: &Regulation,
    channel: Channel,
    registered_at: DateTime<Utc>,
    procedure: &Procedure,
) -> Result<Option<AppRow>, sqlx::Error> {
    let application = &submission.application;
    let applicant = application.applicant.clone().unwrap_or_default();
    let new = NewApplication {
        id: submission.message_id.unwrap_or_else(uuid::Uuid::now_v7),
        registered_at,
        regulation: &regulation.code,
        channel,
        origin: submission.origin,
        conversation_id: &submission.conversation_id,
        message_id: submission.message_id,
        acting_user: &submission.acting_user,
        applicant_name: documents::full_name(&applicant),
        application,
        result_expected_at: procedure.expected,
        tasks: &procedure.tasks,
    };
    journal::insert_application(db, &new).await
}
