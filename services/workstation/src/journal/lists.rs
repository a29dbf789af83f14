//! The journal's lists: the autopilot's candidates, the task lists of the
//! employees' API, the latest journal lines.

use crate::codes;
use crate::model::{self, AppState};
use crate::role::Role;
use chrono::{DateTime, Utc};
use egov_regulations::{Channel, Stage};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

/// Open applications whose current task is the workstation's own, or any
/// role's when `staff_tasks`; the longest untouched first.
pub async fn automatable(
    pool: &PgPool,
    staff_tasks: bool,
    limit: i64,
) -> Result<Vec<uuid::Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT a.id FROM applications a
         JOIN application_tasks t ON t.application_id = a.id AND t.position = a.current_position
         WHERE a.state = 'in_progress' AND (t.role = 'workstation' OR $1)
         ORDER BY a.updated_at LIMIT $2",
    )
    .bind(staff_tasks)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A task of an open application, for the task lists.
#[derive(Debug, Clone)]
pub struct OpenTask {
    pub journal_number: String,
    pub regulation: String,
    pub channel: Channel,
    pub applicant_iin: String,
    pub applicant_name: String,
    /// The login of the assigned specialist.
    pub assigned_to: Option<String>,
    pub position: i32,
    pub step: i32,
    pub stage: Stage,
    pub role: Role,
    pub action: String,
    pub due_at: Option<DateTime<Utc>>,
}

const OPEN_TASK: &str = "SELECT a.journal_number, a.regulation, a.channel, a.applicant_iin,
        a.applicant_name, (SELECT login FROM employees e WHERE e.id = a.assigned_to) AS assigned_to,
        t.position, t.step, t.stage, t.role, t.action, t.due_at
    FROM applications a
    JOIN application_tasks t ON t.application_id = a.id";

impl sqlx::FromRow<'_, PgRow> for OpenTask {
    fn from_row(row: &PgRow) -> Result<OpenTask, sqlx::Error> {
        Ok(OpenTask {
            journal_number: row.try_get("journal_number")?,
            regulation: row.try_get("regulation")?,
            channel: codes::decode(row, "channel", "channel", Channel::from_code)?,
            applicant_iin: row.try_get("applicant_iin")?,
            applicant_name: row.try_get("applicant_name")?,
            assigned_to: row.try_get("assigned_to")?,
            position: row.try_get("position")?,
            step: row.try_get("step")?,
            stage: codes::decode(row, "stage", "stage", model::stage_from_code)?,
            role: codes::decode(row, "role", "role", Role::from_code)?,
            action: row.try_get("action")?,
            due_at: row.try_get("due_at")?,
        })
    }
}

/// The current tasks of `role`; an examination only if assigned to
/// `employee` or to nobody yet.
pub async fn current_tasks(
    pool: &PgPool,
    role: Role,
    employee: i64,
) -> Result<Vec<OpenTask>, sqlx::Error> {
    sqlx::query_as::<_, OpenTask>(sqlx::AssertSqlSafe(format!(
        "{OPEN_TASK}
         WHERE a.state = 'in_progress' AND t.position = a.current_position AND t.role = $1
           AND (t.stage <> 'examine' OR a.assigned_to IS NULL OR a.assigned_to = $2)
         ORDER BY t.due_at NULLS LAST, a.registered_at
         LIMIT 1000"
    )))
    .bind(role.code())
    .bind(employee)
    .fetch_all(pool)
    .await
}

/// Tasks of open applications not done by their due time, as of `as_of`.
pub async fn overdue_tasks(
    pool: &PgPool,
    as_of: DateTime<Utc>,
) -> Result<Vec<OpenTask>, sqlx::Error> {
    sqlx::query_as::<_, OpenTask>(sqlx::AssertSqlSafe(format!(
        "{OPEN_TASK}
         WHERE a.state = 'in_progress' AND t.done_at IS NULL AND t.due_at < $1
         ORDER BY t.due_at, a.registered_at, t.position
         LIMIT 1000"
    )))
    .bind(as_of)
    .fetch_all(pool)
    .await
}

/// A line of the journal.
#[derive(Debug, Clone)]
pub struct JournalLine {
    pub journal_number: String,
    pub registered_at: DateTime<Utc>,
    pub regulation: String,
    pub channel: Channel,
    pub applicant_iin: String,
    pub applicant_name: String,
    pub state: AppState,
    pub current_position: i32,
}

impl sqlx::FromRow<'_, PgRow> for JournalLine {
    fn from_row(row: &PgRow) -> Result<JournalLine, sqlx::Error> {
        Ok(JournalLine {
            journal_number: row.try_get("journal_number")?,
            registered_at: row.try_get("registered_at")?,
            regulation: row.try_get("regulation")?,
            channel: codes::decode(row, "channel", "channel", Channel::from_code)?,
            applicant_iin: row.try_get("applicant_iin")?,
            applicant_name: row.try_get("applicant_name")?,
            state: codes::decode(row, "state", "application state", AppState::from_code)?,
            current_position: row.try_get("current_position")?,
        })
    }
}

/// The last `limit` lines of the journal, newest first.
pub async fn latest(pool: &PgPool, limit: i64) -> Result<Vec<JournalLine>, sqlx::Error> {
    sqlx::query_as::<_, JournalLine>(
        "SELECT journal_number, registered_at, regulation, channel, applicant_iin, applicant_name,
                state, current_position
         FROM applications ORDER BY registered_at DESC, journal_number DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}
