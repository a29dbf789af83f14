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
        // An archived row's hash is in archived_log (looked up only when
        // the row has left message_log: COALESCE evaluates lazily).
        "SELECT s.message_id, s.sender, s.receiver, s.signed_hash, s.reply_queue, s.status,
                s.code, s.log_seq,
                COALESCE(l.row_hash,
                         (SELECT a.row_hash FROM archived_log a WHERE a.seq = s.log_seq)) AS row_hash
         FROM message_status s LEFT JOIN message_log l ON l.seq = s.log_seq
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
    /// Queued, or processed for what the gateway itself consumes (receipts).
    pub status: DeliveryStatus,
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

/// The two CTEs that apply a batch of status changes, parameters
/// `$first..$first+6` (ids, statuses, times, codes, details, attempts,
/// reporters), only where `guard` holds. Shared by the log writer's batch
/// statement and [`apply`], so the lifecycle is written once:
///
/// - only the message's receiver may report on it (or the gateway: no reporter);
/// - of several changes to one message, the furthest along the lifecycle is
///   taken (`delivery_rank`, a later attempt breaking ties), because an
///   `UPDATE … FROM` joining two rows to one target applies only one of them,
///   and which one is not defined;
/// - a change applies only if it moves the status forward, so receipts may
///   arrive in any order, twice, or together.
pub(crate) fn apply_changes_sql(first: usize, guard: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "change AS (
             SELECT DISTINCT ON (c.id) c.*
             FROM UNNEST({}::uuid[], {}::smallint[], {}::timestamptz[], {}::text[],
                         {}::text[], {}::integer[], {}::text[])
                  WITH ORDINALITY AS c(id, status, at, code, detail, attempt, reporter, ord)
             JOIN message_status s ON s.message_id = c.id
             WHERE c.reporter IS NULL OR c.reporter = s.receiver
             ORDER BY c.id, delivery_rank(c.status) DESC, c.attempt DESC, c.ord DESC
         ),
         applied AS (
             UPDATE message_status s SET
                 status = c.status, code = c.code, detail = c.detail,
                 attempts = GREATEST(s.attempts, c.attempt),
                 delivered_at = CASE WHEN c.status IN (2, 3, 4, 7)
                                     THEN COALESCE(s.delivered_at, c.at) ELSE s.delivered_at END,
                 processed_at = CASE WHEN c.status IN (3, 4) THEN c.at ELSE s.processed_at END,
                 final_reported = false,
                 updated_at = now()
             FROM change c
             WHERE s.message_id = c.id
               AND {guard}
               AND (delivery_rank(c.status) > delivery_rank(s.status)
                    OR (delivery_rank(c.status) = 2 AND delivery_rank(s.status) = 2
                        AND c.attempt > s.attempts))
             RETURNING s.message_id, s.status, s.code, s.detail, s.attempts, s.sender,
                       s.receiver, s.service, s.conversation_id, s.correlation_id,
                       s.reply_queue, s.notify_sender, c.at
         )",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
    )
}

/// Binds the parameters of [`apply_changes_sql`], in its order.
pub(crate) fn bind_changes<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    changes: &[Change],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(changes.iter().map(|c| c.message_id).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.status as i16).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.at).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.code.clone()).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.detail.clone()).collect::<Vec<_>>())
        .bind(changes.iter().map(|c| c.attempt).collect::<Vec<_>>())
        .bind(
            changes
                .iter()
                .map(|c| c.reported_by.clone())
                .collect::<Vec<_>>(),
        )
}

/// A row returned by the `applied` CTE.
pub(crate) fn applied_from_row(row: &sqlx::postgres::PgRow) -> Applied {
    Applied {
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
    }
}

/// Applies status changes outside a log batch (the gateway's own: expired
/// in a queue, delivery retried or dead-lettered, an answer handed over).
pub async fn apply(db: &mut PgConnection, changes: &[Change]) -> Result<Vec<Applied>, sqlx::Error> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "WITH {} SELECT * FROM applied",
            apply_changes_sql(1, "true")
        )
    });
    // Built once from constants only: no input reaches the text.
    let rows = bind_changes(sqlx::query(sqlx::AssertSqlSafe(SQL.as_str())), changes)
        .fetch_all(db)
        .await?;
    Ok(rows.iter().map(applied_from_row).collect())
}

/// Marks final statuses as reported to their senders (the broker confirmed
/// the report), unless the status moved on meanwhile.
pub async fn mark_reported(
    pool: &PgPool,
    reported: &[(uuid::Uuid, DeliveryStatus)],
) -> Result<(), sqlx::Error> {
    if reported.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE message_status s SET final_reported = true
         FROM UNNEST($1::uuid[], $2::smallint[]) AS u(id, status)
         WHERE s.message_id = u.id AND s.status = u.status",
    )
    .bind(reported.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(reported.iter().map(|(_, s)| *s as i16).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    Ok(())
}

/// Final statuses an AMQP sender has not been confirmed to have heard,
/// settled at least `age` ago (the usual report is on its way before that).
pub async fn unreported(
    pool: &PgPool,
    age: std::time::Duration,
    limit: i64,
) -> Result<Vec<Applied>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT message_id, status, code, detail, attempts, sender, receiver, service,
                conversation_id, correlation_id, reply_queue, notify_sender, updated_at AS at
         FROM message_status
         WHERE notify_sender AND reply_queue IS NULL AND NOT final_reported
           AND status IN (3, 4, 5, 6) AND updated_at < now() - $1::interval
         ORDER BY updated_at LIMIT $2",
    )
    .bind(sqlx::postgres::types::PgInterval::try_from(age).unwrap_or_default())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(applied_from_row).collect())
}

/// Messages whose deadline passed between `from` (inclusive) and `until`
/// and that are still not final (queued, delivered, retrying): nobody said
/// what became of them. Oldest deadline first, at most `limit`.
pub async fn overdue(
    pool: &PgPool,
    from: Option<DateTime<Utc>>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(uuid::Uuid, DateTime<Utc>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT message_id, expires_at FROM message_status
         WHERE expires_at IS NOT NULL AND expires_at <= $2
           AND ($1::timestamptz IS NULL OR expires_at >= $1)
           AND status IN (1, 2, 7)
         ORDER BY expires_at LIMIT $3",
    )
    .bind(from)
    .bind(until)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get("message_id"), row.get("expires_at")))
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
         FROM (SELECT seq, verdict, detail, sender, receiver, service, conversation_id, logged_at
               FROM message_log WHERE message_id = $1
               UNION ALL
               SELECT seq, verdict, detail, sender, receiver, service, conversation_id, logged_at
               FROM archived_log WHERE message_id = $1) l
         ORDER BY seq DESC LIMIT 1",
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
    pub status_code: String,
    pub status_detail: String,
    /// The envelope as logged, when asked for.
    pub envelope: Option<Vec<u8>>,
    /// The archive file holding the row, once it has left the database.
    pub archive: Option<String>,
}

/// A conversation's log rows in order: those still in the database and
/// those archived (from archived_log, with their archive file's name).
pub async fn trace(
    pool: &PgPool,
    conversation_id: &str,
    limit: i64,
    with_envelopes: bool,
) -> Result<Vec<TraceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT l.seq, l.logged_at, l.message_id, l.kind, l.sender, l.receiver, l.service,
                l.correlation_id, l.verdict, l.archive, l.envelope, s.status,
                COALESCE(s.code, '') AS status_code, COALESCE(s.detail, '') AS status_detail
         FROM (SELECT seq, logged_at, message_id, kind, sender, receiver, service,
                      correlation_id, verdict, NULL::text AS archive,
                      CASE WHEN $3 THEN envelope END AS envelope
               FROM message_log WHERE conversation_id = $1
               UNION ALL
               SELECT a.seq, a.logged_at, a.message_id, a.kind, a.sender, a.receiver, a.service,
                      a.correlation_id, a.verdict, f.file, NULL::bytea
               FROM archived_log a JOIN log_archives f ON f.first_seq = a.archive
               WHERE a.conversation_id = $1) l
         LEFT JOIN message_status s ON s.message_id = l.message_id AND s.log_seq = l.seq
         ORDER BY l.seq LIMIT $2",
    )
    .bind(conversation_id)
    .bind(limit)
    .bind(with_envelopes)
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
            status_code: row.get("status_code"),
            status_detail: row.get("status_detail"),
            envelope: row.get("envelope"),
            archive: row.get("archive"),
        })
        .collect())
}
