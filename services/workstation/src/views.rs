//! What employees read: an application with its procedure and step log, the
//! task list of a role, overdue tasks, the journal, a signed result.

use crate::documents;
use crate::engine::{self, AppRow, TaskRow, channel_to_proto, stage_to_proto};
use crate::error::ApiError;
use crate::staff::{Employee, Role};
use chrono::{DateTime, Utc};
use egov_bus::envelope::timestamp;
use egov_proto::prost::Message;
use egov_proto::workstation as pb;
use egov_regulations::Channel;
use sqlx::{PgConnection, PgPool, Row};

fn ts(t: Option<DateTime<Utc>>) -> Option<egov_proto::prost_types::Timestamp> {
    t.map(timestamp)
}

fn task_record(task: &TaskRow) -> pb::TaskRecord {
    pb::TaskRecord {
        position: task.position as u32,
        step: task.step as u32,
        stage: stage_to_proto(task.stage) as i32,
        role: task.role.to_proto() as i32,
        action: task.action.clone(),
        due_at: ts(task.due_at),
        done_at: ts(task.done_at),
        done_by: task.done_by.clone().unwrap_or_default(),
        by_autopilot: task.by_autopilot,
        note: task.note.clone(),
        source: task.source.clone(),
    }
}

/// One application: journal entry, procedure, step log.
pub async fn application(
    db: &mut PgConnection,
    journal_number: &str,
) -> Result<pb::ApplicationView, ApiError> {
    let app = engine::load(&mut *db, journal_number, false).await?;
    let tasks = engine::tasks(&mut *db, app.id).await?;
    let assigned_to = match app.assigned_to {
        Some(id) => crate::staff::by_id(&mut *db, id)
            .await?
            .map(|e| e.login)
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(view(&app, &tasks, assigned_to))
}

fn view(app: &AppRow, tasks: &[TaskRow], assigned_to: String) -> pb::ApplicationView {
    let application = pb::Application::decode(app.payload.as_slice()).unwrap_or_default();
    pb::ApplicationView {
        journal_number: app.journal_number.clone(),
        regulation: app.regulation.clone(),
        channel: channel_to_proto(app.channel) as i32,
        state: app.state_proto() as i32,
        registered_at: Some(timestamp(app.registered_at)),
        result_expected_at: ts(app.result_expected_at),
        applicant: application.applicant,
        current_position: app.current_position as u32,
        tasks: tasks.iter().map(task_record).collect(),
        assigned_to,
        conversation_id: app.conversation_id.clone(),
        reference: app.reference.clone(),
    }
}

const OPEN_TASK: &str = "SELECT a.journal_number, a.regulation, a.channel, a.applicant_iin,
        a.applicant_name, (SELECT login FROM employees e WHERE e.id = a.assigned_to) AS assigned_to,
        t.position, t.step, t.stage, t.role, t.action, t.due_at
    FROM applications a
    JOIN application_tasks t ON t.application_id = a.id";

fn open_task(row: &sqlx::postgres::PgRow, as_of: DateTime<Utc>) -> pb::Task {
    let due_at: Option<DateTime<Utc>> = row.get("due_at");
    pb::Task {
        journal_number: row.get("journal_number"),
        regulation: row.get("regulation"),
        position: row.get::<i32, _>("position") as u32,
        step: row.get::<i32, _>("step") as u32,
        stage: stage_to_proto(engine::stage_from_code(row.get::<&str, _>("stage"))) as i32,
        role: Role::from_code(row.get::<&str, _>("role"))
            .unwrap_or(Role::Workstation)
            .to_proto() as i32,
        action: row.get("action"),
        due_at: ts(due_at),
        overdue: due_at.is_some_and(|due| due < as_of),
        assigned_to: row
            .get::<Option<String>, _>("assigned_to")
            .unwrap_or_default(),
        channel: Channel::from_code(row.get::<&str, _>("channel"))
            .map_or(pb::Channel::Unspecified, channel_to_proto) as i32,
        applicant_iin: row.get("applicant_iin"),
        applicant_name: row.get("applicant_name"),
    }
}

/// The current tasks `employee`'s role can do: a specialist sees the
/// examinations assigned to them (or to nobody yet).
pub async fn tasks_for(pool: &PgPool, employee: &Employee) -> Result<Vec<pb::Task>, ApiError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{OPEN_TASK}
         WHERE a.state = 'in_progress' AND t.position = a.current_position AND t.role = $1
           AND (t.stage <> 'examine' OR a.assigned_to IS NULL OR a.assigned_to = $2)
         ORDER BY t.due_at NULLS LAST, a.registered_at
         LIMIT 1000"
    )))
    .bind(employee.role.code())
    .bind(employee.id)
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    Ok(rows.iter().map(|row| open_task(row, now)).collect())
}

/// Tasks of open applications not done by their due time, as of `as_of`.
pub async fn overdue(pool: &PgPool, as_of: DateTime<Utc>) -> Result<Vec<pb::Task>, ApiError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{OPEN_TASK}
         WHERE a.state = 'in_progress' AND t.done_at IS NULL AND t.due_at < $1
         ORDER BY t.due_at, a.registered_at, t.position
         LIMIT 1000"
    )))
    .bind(as_of)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|row| open_task(row, as_of)).collect())
}

/// The journal, newest first.
pub async fn journal(pool: &PgPool, limit: u32) -> Result<Vec<pb::JournalEntry>, ApiError> {
    let limit = match limit {
        0 => 100,
        n => n.min(1000),
    };
    let rows = sqlx::query(
        "SELECT journal_number, registered_at, regulation, channel, applicant_iin, applicant_name,
                state, current_position
         FROM applications ORDER BY registered_at DESC, journal_number DESC LIMIT $1",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let state = match row.get::<&str, _>("state") {
                "issued" => pb::State::Issued,
                "refused" => pb::State::Refused,
                _ if row.get::<i32, _>("current_position") == 1 => pb::State::Accepted,
                _ => pb::State::InProgress,
            };
            pb::JournalEntry {
                journal_number: row.get("journal_number"),
                registered_at: Some(timestamp(row.get("registered_at"))),
                regulation: row.get("regulation"),
                channel: Channel::from_code(row.get::<&str, _>("channel"))
                    .map_or(pb::Channel::Unspecified, channel_to_proto)
                    as i32,
                applicant_iin: row.get("applicant_iin"),
                applicant_name: row.get("applicant_name"),
                state: state as i32,
            }
        })
        .collect())
}

/// The signed result, byte for byte as sent, and its decoding.
pub async fn document(
    db: &mut PgConnection,
    journal_number: &str,
) -> Result<pb::GetDocumentResponse, ApiError> {
    let app = engine::load(&mut *db, journal_number, false).await?;
    let (document, _) = engine::stored_result(&mut *db, app.id).await?;
    let decoded = documents::decode(&document.content)?;
    Ok(pb::GetDocumentResponse {
        document: Some(document),
        decoded: Some(decoded),
        state: app.state_proto() as i32,
    })
}
