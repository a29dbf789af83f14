//! Delivery statuses in PostgreSQL: what the gateway knows about every
//! accepted message, and the queries behind GetStatus and Trace.

use chrono::{DateTime, Utc};
use egov_proto::envelope::DeliveryStatus;
use sqlx::{PgConnection, PgPool, Row};

/// An accepted message already on record (for duplicates and answers).
#[derive(Debug, Clone)]
pub struct Known {
    pub sender: String,
    pub receiver: String,
    pub signed_hash: Vec<u8>,
    pub reply_queue: Option<String>,
    pub status: DeliveryStatus,
    pub code: String,
    pub log_seq: i64,
    pub log_hash: Vec<u8>,
}

pub async fn known(
    db: &PgPool,
    ids: &[uuid::Uuid],
) -> Result<std::collections::HashMap<uuid::Uuid, Known>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = sqlx::query(
        "SELECT s.message_id, s.sender, s.receiver, s.signed_hash, s.reply_queue, s.status,
                s.code, s.log_seq, l.row_hash
         FROM message_status s JOIN message_log l ON l.seq = s.log_seq
         WHERE s.message_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.get("message_id"),
                Known {
                    sender: row.get("sender"),
                    receiver: row.get("receiver"),
                    signed_hash: row.get("signed_hash"),
                    reply_queue: row.get("reply_queue"),
                    status: status_of(row.get("status")),
                    code: row.get("code"),
                    log_seq: row.get("log_seq"),
                    log_hash: row.get("row_hash"),
                },
            )
        })
        .collect())
}

pub fn status_of(value: i16) -> DeliveryStatus {
    DeliveryStatus::try_from(i32::from(value)).unwrap_or(DeliveryStatus::Unspecified)
}

/// A new status row for an accepted message.
#[derive(Debug, Clone)]
pub struct NewStatus {
    pub message_id: uuid::Uuid,
    pub sender: String,
    pub receiver: String,
    pub service: String,
    pub kind: i16,
    pub conversation_id: String,
    pub correlation_id: String,
    pub signed_hash: Vec<u8>,
    pub reply_queue: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub notify_sender: bool,
    pub log_seq: i64,
}

/// A reported change of a message's status.
#[derive(Debug, Clone)]
pub struct Change {
    pub message_id: uuid::Uuid,
    pub status: DeliveryStatus,
    pub at: DateTime<Utc>,
    pub code: String,
    pub detail: String,
    pub attempt: i32,
    /// Only the message's receiver may report on it (or the gateway: None).
    pub reported_by: Option<String>,
}

/// A change that took effect, with what the notification needs.
#[derive(Debug, Clone)]
pub struct Applied {
    pub change: Change,
    pub sender: String,
    pub receiver: String,
    pub service: String,
    pub conversation_id: String,
    pub correlation_id: String,
    pub reply_queue: Option<String>,
    pub notify_sender: bool,
}

/// Applies changes that move a status forward: queued → delivered/retrying
/// → processed, or to a final failure. Older or repeated reports change
/// nothing, so receipts may arrive in any order.
pub async fn apply(db: &mut PgConnection, changes: &[Change]) -> Result<Vec<Applied>, sqlx::Error> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "WITH u AS (
             SELECT * FROM UNNEST($1::uuid[], $2::smallint[], $3::timestamptz[], $4::text[],
                                  $5::text[], $6::integer[], $7::text[])
                 AS u(id, status, at, code, detail, attempt, reporter)
         )
         UPDATE message_status s SET
             status = u.status,
             code = u.code,
             detail = u.detail,
             attempts = GREATEST(s.attempts, u.attempt),
             delivered_at = CASE WHEN u.status IN (2, 7) THEN COALESCE(s.delivered_at, u.at) ELSE s.delivered_at END,
             processed_at = CASE WHEN u.status = 3 THEN u.at ELSE s.processed_at END,
             updated_at = now()
         FROM u
         WHERE s.message_id = u.id
           AND (u.reporter IS NULL OR u.reporter = s.receiver)
           AND (CASE u.status WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 7 THEN 2 WHEN 3 THEN 3 ELSE 4 END
                > CASE s.status WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 7 THEN 2 WHEN 3 THEN 3 ELSE 4 END
                OR (u.status IN (2, 7) AND s.status IN (2, 7) AND u.attempt > s.attempts))
         RETURNING s.message_id, s.status, s.code, s.detail, s.attempts, s.sender, s.receiver,
                   s.service, s.conversation_id, s.correlation_id, s.reply_queue, s.notify_sender,
                   u.at",
    )
    .bind(changes.iter().map(|c| c.message_id).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.status as i16).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.at).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.code.clone()).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.detail.clone()).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.attempt).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.reported_by.clone()).collect::<Vec<_>>())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Applied {
            change: Change {
                message_id: row.get("message_id"),
                status: status_of(row.get("status")),
                at: row.get("at"),
                code: row.get("code"),
                detail: row.get("detail"),
                attempt: row.get("attempts"),
                reported_by: None,
            },
            sender: row.get("sender"),
            receiver: row.get("receiver"),
            service: row.get("service"),
            conversation_id: row.get("conversation_id"),
            correlation_id: row.get("correlation_id"),
            reply_queue: row.get("reply_queue"),
            notify_sender: row.get("notify_sender"),
        })
        .collect())
}

/// What GetStatus answers.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub message_id: uuid::Uuid,
    pub status: DeliveryStatus,
    pub code: String,
    pub detail: String,
    pub sender: String,
    pub receiver: String,
    pub service: String,
    pub conversation_id: String,
    pub attempts: i32,
    pub queued_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The status of a message: its status row, or else (for a refused
/// message) its latest log row.
pub async fn status(pool: &PgPool, id: uuid::Uuid) -> Result<Option<StatusView>, sqlx::Error> {
    if let Some(row) = sqlx::query(
        "SELECT message_id, status, code, detail, sender, receiver, service, conversation_id,
                attempts, queued_at, delivered_at, processed_at, updated_at
         FROM message_status WHERE message_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    {
        return Ok(Some(StatusView {
            message_id: id,
            status: status_of(row.get("status")),
            code: row.get("code"),
            detail: row.get("detail"),
            sender: row.get("sender"),
            receiver: row.get("receiver"),
            service: row.get("service"),
            conversation_id: row.get("conversation_id"),
            attempts: row.get("attempts"),
            queued_at: row.get("queued_at"),
            delivered_at: row.get("delivered_at"),
            processed_at: row.get("processed_at"),
            updated_at: row.get("updated_at"),
        }));
    }
    let row = sqlx::query(
        "SELECT verdict, detail, sender, receiver, service, conversation_id, logged_at
         FROM message_log WHERE message_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| StatusView {
        message_id: id,
        status: DeliveryStatus::Rejected,
        code: row.get("verdict"),
        detail: row.get("detail"),
        sender: row.get("sender"),
        receiver: row.get("receiver"),
        service: row.get("service"),
        conversation_id: row.get("conversation_id"),
        attempts: 1,
        queued_at: None,
        delivered_at: None,
        processed_at: None,
        updated_at: row.get("logged_at"),
    }))
}

/// One row of a conversation's trace.
#[derive(Debug, Clone)]
pub struct TraceRow {
    pub seq: i64,
    pub logged_at: DateTime<Utc>,
    pub message_id: Option<uuid::Uuid>,
    pub kind: i16,
    pub sender: String,
    pub receiver: String,
    pub service: String,
    pub correlation_id: String,
    pub verdict: String,
    pub status: Option<DeliveryStatus>,
}

pub async fn trace(
    pool: &PgPool,
    conversation_id: &str,
    limit: i64,
) -> Result<Vec<TraceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT l.seq, l.logged_at, l.message_id, l.kind, l.sender, l.receiver, l.service,
                l.correlation_id, l.verdict, s.status
         FROM message_log l
         LEFT JOIN message_status s ON s.message_id = l.message_id AND s.log_seq = l.seq
         WHERE l.conversation_id = $1 ORDER BY l.seq LIMIT $2",
    )
    .bind(conversation_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| TraceRow {
            seq: row.get("seq"),
            logged_at: row.get("logged_at"),
            message_id: row.get("message_id"),
            kind: row.get("kind"),
            sender: row.get("sender"),
            receiver: row.get("receiver"),
            service: row.get("service"),
            correlation_id: row.get("correlation_id"),
            verdict: row.get("verdict"),
            status: row.get::<Option<i16>, _>("status").map(status_of),
        })
        .collect())
}
