//! What employees read: an application with its procedure and step log, the
//! task list of a role, overdue tasks, the journal, a signed result.

use crate::convert::{channel_to_proto, stage_to_proto};
use crate::documents;
use crate::error::ApiError;
use crate::journal::{self, AppRow, OpenTask, TaskRow};
use crate::staff::{self, Employee};
use chrono::{DateTime, Utc};
use egov_bus::envelope::timestamp;
use egov_proto::workstation as pb;
use sqlx::{PgConnection, PgPool};

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
    let app = journal::application(&mut *db, journal_number, false).await?;
    let tasks = journal::tasks(&mut *db, app.id).await?;
    let assigned_to = match app.assigned_to {
        Some(id) => staff::by_id(&mut *db, id)
            .await?
            .map(|e| e.login)
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(view(&app, &tasks, assigned_to))
}

fn view(app: &AppRow, tasks: &[TaskRow], assigned_to: String) -> pb::ApplicationView {
    let application = app.application();
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

fn task_line(task: &OpenTask, as_of: DateTime<Utc>) -> pb::Task {
    pb::Task {
        journal_number: task.journal_number.clone(),
        regulation: task.regulation.clone(),
        position: task.position as u32,
        step: task.step as u32,
        stage: stage_to_proto(task.stage) as i32,
        role: task.role.to_proto() as i32,
        action: task.action.clone(),
        due_at: ts(task.due_at),
        overdue: task.due_at.is_some_and(|due| due < as_of),
        assigned_to: task.assigned_to.clone().unwrap_or_default(),
        channel: channel_to_proto(task.channel) as i32,
        applicant_iin: task.applicant_iin.clone(),
        applicant_name: task.applicant_name.clone(),
    }
}

/// The current tasks `employee`'s role can do: a specialist sees the
/// examinations assigned to them (or to nobody yet).
pub async fn tasks_for(pool: &PgPool, employee: &Employee) -> Result<Vec<pb::Task>, ApiError> {
    let tasks = journal::current_tasks(pool, employee.role, employee.id).await?;
    let now = Utc::now();
    Ok(tasks.iter().map(|task| task_line(task, now)).collect())
}

/// Tasks of open applications not done by their due time, as of `as_of`.
pub async fn overdue(pool: &PgPool, as_of: DateTime<Utc>) -> Result<Vec<pb::Task>, ApiError> {
    let tasks = journal::overdue_tasks(pool, as_of).await?;
    Ok(tasks.iter().map(|task| task_line(task, as_of)).collect())
}

/// The journal, newest first.
pub async fn journal(pool: &PgPool, limit: u32) -> Result<Vec<pb::JournalEntry>, ApiError> {
    let limit = match limit {
        0 => 100,
        n => n.min(1000),
    };
    let lines = journal::latest(pool, limit as i64).await?;
    Ok(lines
        .into_iter()
        .map(|line| pb::JournalEntry {
            state: line.state.to_proto(line.current_position) as i32,
            journal_number: line.journal_number,
            registered_at: Some(timestamp(line.registered_at)),
            regulation: line.regulation,
            channel: channel_to_proto(line.channel) as i32,
            applicant_iin: line.applicant_iin,
            applicant_name: line.applicant_name,
        })
        .collect())
}

/// The signed result, byte for byte as sent, and its decoding.
pub async fn document(
    db: &mut PgConnection,
    journal_number: &str,
) -> Result<pb::GetDocumentResponse, ApiError> {
    let app = journal::application(&mut *db, journal_number, false).await?;
    let document = journal::signed_result(&mut *db, app.id).await?.document;
    let decoded = documents::decode(&document.content)?;
    Ok(pb::GetDocumentResponse {
        document: Some(document),
        decoded: Some(decoded),
        state: app.state_proto() as i32,
    })
}
