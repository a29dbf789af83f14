//! The workstation's storage of applications: the journal, the documents,
//! the procedure's tasks and step log, the signed results. All their SQL is
//! here; the engine, the autopilot, the inbox and the views call these
//! functions inside the caller's transaction.
//!
//! Codes read back from the database are decoded strictly ([`codes`]): an
//! unknown one is an error, not a default.
//!
//! A few codes are literals in the SQL (`state = 'in_progress'`, `origin =
//! 'office'`, …), the texts of [`model`]'s and [`Role`]'s `code()`: the
//! partial index on open applications matches a literal only.

use crate::codes;
use crate::error::{ApiCode, ApiError};
use crate::model::{self, AppState, Decision, Origin};
use crate::procedure::PlannedTask;
use crate::role::Role;
use chrono::{DateTime, Utc};
use egov_proto::prost::Message;
use egov_proto::workstation as pb;
use egov_regulations::{Channel, Stage};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Row};
use std::collections::HashSet;

mod lists;

pub use lists::{JournalLine, OpenTask, automatable, current_tasks, latest, overdue_tasks};

/// An application's journal row, as the engine needs it.
#[derive(Debug, Clone)]
pub struct AppRow {
    pub id: uuid::Uuid,
    pub journal_number: String,
    pub registered_at: DateTime<Utc>,
    pub regulation: String,
    pub channel: Channel,
    pub origin: Origin,
    pub conversation_id: String,
    pub reference: String,
    pub applicant_iin: String,
    pub applicant_name: String,
    pub payload: Vec<u8>,
    pub state: AppState,
    pub current_position: i32,
    pub assigned_to: Option<i64>,
    pub decision: Option<Decision>,
    pub draft: Option<Vec<u8>>,
    pub result_expected_at: Option<DateTime<Utc>>,
    pub status_sequence: i32,
    /// The trace of its registration, which the autopilot's steps continue.
    pub traceparent: Option<String>,
}

const APP_COLUMNS: &str = "id, journal_number, registered_at, regulation, channel, origin, \
    conversation_id, reference, applicant_iin, applicant_name, payload, state, current_position, \
    assigned_to, decision, draft, result_expected_at, status_sequence, traceparent";

impl sqlx::FromRow<'_, PgRow> for AppRow {
    fn from_row(row: &PgRow) -> Result<AppRow, sqlx::Error> {
        Ok(AppRow {
            id: row.try_get("id")?,
            journal_number: row.try_get("journal_number")?,
            registered_at: row.try_get("registered_at")?,
            regulation: row.try_get("regulation")?,
            channel: codes::decode(row, "channel", "channel", Channel::from_code)?,
            origin: codes::decode(row, "origin", "origin", Origin::from_code)?,
            conversation_id: row.try_get("conversation_id")?,
            reference: row.try_get("reference")?,
            applicant_iin: row.try_get("applicant_iin")?,
            applicant_name: row.try_get("applicant_name")?,
            payload: row.try_get("payload")?,
            state: codes::decode(row, "state", "application state", AppState::from_code)?,
            current_position: row.try_get("current_position")?,
            assigned_to: row.try_get("assigned_to")?,
            decision: codes::decode_optional(row, "decision", "decision", Decision::from_code)?,
            draft: row.try_get("draft")?,
            result_expected_at: row.try_get("result_expected_at")?,
            status_sequence: row.try_get("status_sequence")?,
            traceparent: row.try_get("traceparent")?,
        })
    }
}

impl AppRow {
    /// The application as it was received.
    pub fn application(&self) -> pb::Application {
        pb::Application::decode(self.payload.as_slice()).unwrap_or_default()
    }

    pub fn state_proto(&self) -> pb::State {
        self.state.to_proto(self.current_position)
    }
}

/// A task of an application's procedure, with its line of the step log.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub position: i32,
    pub step: i32,
    pub stage: Stage,
    pub role: Role,
    pub action: String,
    pub source: String,
    pub due_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<String>,
    pub by_autopilot: bool,
    pub note: String,
}

const TASK_COLUMNS: &str = "t.position, t.step, t.stage, t.role, t.action, t.source, t.due_at, \
    t.done_at, (SELECT login FROM employees e WHERE e.id = t.done_by) AS done_by, \
    t.by_autopilot, t.note";

impl sqlx::FromRow<'_, PgRow> for TaskRow {
    fn from_row(row: &PgRow) -> Result<TaskRow, sqlx::Error> {
        Ok(TaskRow {
            position: row.try_get("position")?,
            step: row.try_get("step")?,
            stage: codes::decode(row, "stage", "stage", model::stage_from_code)?,
            role: codes::decode(row, "role", "role", Role::from_code)?,
            action: row.try_get("action")?,
            source: row.try_get("source")?,
            due_at: row.try_get("due_at")?,
            done_at: row.try_get("done_at")?,
            done_by: row.try_get("done_by")?,
            by_autopilot: row.try_get("by_autopilot")?,
            note: row.try_get("note")?,
        })
    }
}

// === reading applications ===

/// The application by journal number, locked for update if `lock`.
pub async fn application(
    db: &mut PgConnection,
    journal_number: &str,
    lock: bool,
) -> Result<AppRow, ApiError> {
    let app = sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {APP_COLUMNS} FROM applications WHERE journal_number = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    )))
    .bind(journal_number)
    .fetch_optional(db)
    .await?;
    app.ok_or_else(|| {
        ApiError::not_found(format!("no application {journal_number:?} in the journal"))
            .at("journal_number")
    })
}

/// Locks an open application unless someone else holds it (the autopilot's
/// claim: another instance or an employee at work is skipped, not waited for).
pub async fn try_lock_open(
    db: &mut PgConnection,
    id: uuid::Uuid,
) -> Result<Option<AppRow>, sqlx::Error> {
    sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {APP_COLUMNS} FROM applications WHERE id = $1 AND state = 'in_progress' FOR UPDATE SKIP LOCKED"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The application's procedure, in order.
pub async fn tasks(db: impl PgExecutor<'_>, id: uuid::Uuid) -> Result<Vec<TaskRow>, sqlx::Error> {
    sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM application_tasks t WHERE t.application_id = $1 ORDER BY t.position"
    )))
    .bind(id)
    .fetch_all(db)
    .await
}

/// The journal number of the application `origin` sent in `conversation_id`.
pub async fn journal_number_of(
    db: &mut PgConnection,
    origin: Origin,
    conversation_id: &str,
) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT journal_number FROM applications WHERE origin = $1 AND conversation_id = $2",
    )
    .bind(origin.code())
    .bind(conversation_id)
    .fetch_one(db)
    .await
}

/// The codes of the documents attached to the application.
pub async fn document_codes(
    db: &mut PgConnection,
    id: uuid::Uuid,
) -> Result<HashSet<String>, sqlx::Error> {
    let codes: Vec<String> =
        sqlx::query_scalar("SELECT code FROM application_documents WHERE application_id = $1")
            .bind(id)
            .fetch_all(db)
            .await?;
    Ok(codes.into_iter().collect())
}

// === registration ===

/// A submission as the journal records it.
pub struct NewApplication<'a> {
    pub id: uuid::Uuid,
    pub registered_at: DateTime<Utc>,
    pub regulation: &'a str,
    pub channel: Channel,
    pub origin: Origin,
    pub conversation_id: &'a str,
    /// The "submit-application" message; none at the office.
    pub message_id: Option<uuid::Uuid>,
    pub acting_user: &'a str,
    pub applicant_name: String,
    pub application: &'a pb::Application,
    pub result_expected_at: Option<DateTime<Utc>>,
    pub tasks: &'a [PlannedTask],
}

/// Writes the journal entry, its documents and its procedure; none when the
/// origin's conversation is already in the journal.
pub async fn insert_application(
    db: &mut PgConnection,
    new: &NewApplication<'_>,
) -> Result<Option<AppRow>, sqlx::Error> {
    let app = new.application;
    // The number is the year of registration (Asia/Almaty) and the next
    // number of the journal. A status sequence of 1 counts the "accepted"
    // status, sent where there is someone to send it to.
    let row = sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(format!(
        "WITH n AS (SELECT nextval('journal_number_seq')::text AS n)
         INSERT INTO applications (id, journal_number, registered_at, regulation, channel,
             origin, conversation_id, message_id, reference, acting_user, applicant_iin,
             applicant_name, payload, state, current_position, result_expected_at,
             status_sequence, traceparent)
         SELECT $1, extract(year FROM $2 AT TIME ZONE 'Asia/Almaty')::int || '-'
                 || lpad(n, greatest(6, length(n)), '0'),
             $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15, $16
         FROM n
         ON CONFLICT DO NOTHING
         RETURNING {APP_COLUMNS}"
    )))
    .bind(new.id)
    .bind(new.registered_at)
    .bind(new.regulation)
    .bind(new.channel.code())
    .bind(new.origin.code())
    .bind(new.conversation_id)
    .bind(new.message_id)
    .bind(&app.reference)
    .bind(new.acting_user)
    .bind(app.applicant.as_ref().map_or("", |a| a.iin.as_str()))
    .bind(&new.applicant_name)
    .bind(app.encode_to_vec())
    .bind(AppState::InProgress.code())
    .bind(new.result_expected_at)
    .bind(i32::from(new.origin.system().is_some()))
    .bind(egov_runtime::propagation::current_traceparent())
    .fetch_optional(&mut *db)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    for doc in &app.documents {
        // A paper original with no scan has no bytes to hash.
        let hash = if !doc.sha256.is_empty() {
            Some(doc.sha256.to_vec())
        } else if !doc.content.is_empty() || !doc.on_paper {
            Some(egov_trust::sha256(&doc.content).to_vec())
        } else {
            None
        };
        sqlx::query(
            "INSERT INTO application_documents (application_id, code, name, media_type, sha256, content, on_paper)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.id)
        .bind(&doc.code)
        .bind(&doc.name)
        .bind(&doc.media_type)
        .bind(hash)
        .bind((!doc.content.is_empty()).then(|| doc.content.to_vec()))
        .bind(doc.on_paper)
        .execute(&mut *db)
        .await?;
    }
    let tasks = new.tasks;
    sqlx::query(
        "INSERT INTO application_tasks (application_id, position, step, stage, role, action, source, due_at)
         SELECT $1, * FROM UNNEST($2::int4[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])",
    )
    .bind(new.id)
    .bind(tasks.iter().map(|t| t.position as i32).collect::<Vec<_>>())
    .bind(tasks.iter().map(|t| t.step as i32).collect::<Vec<_>>())
    .bind(tasks.iter().map(|t| t.stage.code()).collect::<Vec<_>>())
    .bind(tasks.iter().map(|t| t.role.code()).collect::<Vec<_>>())
    .bind(tasks.iter().map(|t| t.action.clone()).collect::<Vec<_>>())
    .bind(tasks.iter().map(|t| t.source.clone()).collect::<Vec<_>>())
    .bind(tasks.iter().map(|t| t.due).collect::<Vec<_>>())
    .execute(&mut *db)
    .await?;
    Ok(Some(row))
}

// === the tasks' effects ===

pub async fn assign(
    db: &mut PgConnection,
    id: uuid::Uuid,
    employee: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE applications SET assigned_to = $2 WHERE id = $1")
        .bind(id)
        .bind(employee)
        .execute(db)
        .await?;
    Ok(())
}

/// The specialist's decision and its unsigned draft (a `ResultDocument`).
pub async fn save_draft(
    db: &mut PgConnection,
    id: uuid::Uuid,
    decision: Decision,
    draft: &pb::ResultDocument,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE applications SET decision = $2, draft = $3 WHERE id = $1")
        .bind(id)
        .bind(decision.code())
        .bind(draft.encode_to_vec())
        .execute(db)
        .await?;
    Ok(())
}

/// A result as signed: the exact bytes, the signature, the signer.
pub struct NewResult<'a> {
    pub application: uuid::Uuid,
    /// The document's kind (`ResultKind::code`).
    pub kind: &'a str,
    pub result_code: &'a str,
    pub signed: &'a pb::SignedDocument,
    pub signed_by: i64,
    pub signed_at: DateTime<Utc>,
}

pub async fn insert_result(db: &mut PgConnection, new: &NewResult<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO results (application_id, kind, result_code, content, signature,
             signer_certificate, signed_by, signed_at, cms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.application)
    .bind(new.kind)
    .bind(new.result_code)
    .bind(new.signed.content.to_vec())
    .bind(new.signed.signature.to_vec())
    .bind(new.signed.signer_certificate.to_vec())
    .bind(new.signed_by)
    .bind(new.signed_at)
    .bind(new.signed.cms.to_vec())
    .execute(db)
    .await?;
    Ok(())
}

/// A signed result and what it decides.
pub struct SignedResult {
    pub document: pb::SignedDocument,
    pub decision: Decision,
}

/// The signed result of an application.
pub async fn signed_result(
    db: &mut PgConnection,
    id: uuid::Uuid,
) -> Result<SignedResult, ApiError> {
    let row = sqlx::query(
        "SELECT content, signature, signer_certificate, cms, kind FROM results WHERE application_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::new(ApiCode::NotSigned, "the result has not been signed yet"))?;
    let kind = codes::decode(&row, "kind", "result kind", model::result_kind_from_code)?;
    Ok(SignedResult {
        document: pb::SignedDocument {
            content: row.try_get::<Vec<u8>, _>("content")?.into(),
            signature: row.try_get::<Vec<u8>, _>("signature")?.into(),
            signer_certificate: row.try_get::<Vec<u8>, _>("signer_certificate")?.into(),
            cms: row.try_get::<Vec<u8>, _>("cms")?.into(),
        },
        decision: Decision::of_result_kind(kind),
    })
}

/// When the result went out, and in which message (none at the office).
pub async fn mark_issued(
    db: &mut PgConnection,
    id: uuid::Uuid,
    issued_at: DateTime<Utc>,
    message_id: Option<uuid::Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE results SET issued_at = $2, message_id = $3 WHERE application_id = $1")
        .bind(id)
        .bind(issued_at)
        .bind(message_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Seed 002 Rules p.11: the State Corporation handed an issued result back;
/// false when the result has not been issued.
pub async fn mark_returned(db: &mut PgConnection, id: uuid::Uuid) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE results SET returned_at = now() WHERE application_id = $1 AND issued_at IS NOT NULL",
    )
    .bind(id)
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

/// The returned result went back to the State Corporation.
pub async fn clear_returned(db: &mut PgConnection, id: uuid::Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE results SET returned_at = NULL WHERE application_id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// A task done: its line of the step log and the application's new state.
pub struct DoneTask<'a> {
    pub application: uuid::Uuid,
    pub position: i32,
    /// The employee; none for the workstation.
    pub done_by: Option<i64>,
    pub by_autopilot: bool,
    pub note: &'a str,
    pub state: AppState,
    /// The next task; 0 when the procedure is over.
    pub current_position: i32,
}

/// Writes the step log and the new state in one statement, and counts a
/// status for applications that have someone to send it to. False when the
/// task was already in the log (the row lock prevents it; this guards it).
pub async fn complete_task(
    db: &mut PgConnection,
    done: &DoneTask<'_>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "WITH done AS (
             UPDATE application_tasks SET done_at = now(), done_by = $3, by_autopilot = $4, note = $5
             WHERE application_id = $1 AND position = $2 AND done_at IS NULL
             RETURNING 1)
         UPDATE applications SET state = $6, current_position = $7, updated_at = now(),
             status_sequence = status_sequence + CASE WHEN origin = 'office' THEN 0 ELSE 1 END
         WHERE id = $1 AND EXISTS (SELECT 1 FROM done)",
    )
    .bind(done.application)
    .bind(done.position)
    .bind(done.done_by)
    .bind(done.by_autopilot)
    .bind(done.note)
    .bind(done.state.code())
    .bind(done.current_position)
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Notifies `channel` when the transaction commits (never early).
pub async fn notify_on_commit(db: &mut PgConnection, channel: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(db)
        .await?;
    Ok(())
}
