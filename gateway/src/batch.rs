//! Writing one batch in one statement: the log rows, the new statuses, the
//! status changes and the chain head move together or not at all, in a
//! single round trip.
//!
//! The writer keeps the chain head in memory and moves it with a guarded
//! update (`WHERE seq = <the head it chained from>`). If another gateway
//! instance wrote meanwhile, nothing is written; the writer reads the head
//! again, re-chains the same batch and retries.

use crate::log::{self, Head, LogEntry, Logged};
use crate::store::{self, Applied, Change, NewStatus};
use chrono::{DateTime, Utc};
use egov_proto::envelope::DeliveryStatus;
use sqlx::{PgPool, Row};

pub struct Written {
    pub logged: Vec<Logged>,
    pub applied: Vec<Applied>,
}

pub async fn write(
    pool: &PgPool,
    head: &mut Option<Head>,
    entries: &[LogEntry],
    statuses: &mut [NewStatus],
    status_entry: &[usize],
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<Written, sqlx::Error> {
    if entries.is_empty() && changes.is_empty() {
        return Ok(Written {
            logged: Vec::new(),
            applied: Vec::new(),
        });
    }
    loop {
        let current = match head.take() {
            Some(h) => h,
            None => log::read_head(pool).await?,
        };
        let (logged, next) = log::chain(&current, entries, now);
        for (status, entry) in statuses.iter_mut().zip(status_entry) {
            status.log_seq = logged[*entry].seq;
        }
        match statement(
            pool, &current, &next, entries, &logged, statuses, changes, now,
        )
        .await?
        {
            Some(applied) => {
                *head = Some(next);
                return Ok(Written { logged, applied });
            }
            None => {
                tracing::info!(
                    "The log head moved (another gateway instance wrote); re-chaining the batch."
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn statement(
    pool: &PgPool,
    from: &Head,
    to: &Head,
    entries: &[LogEntry],
    logged: &[Logged],
    statuses: &[NewStatus],
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<Option<Vec<Applied>>, sqlx::Error> {
    let logged_at = logged.first().map(|l| l.logged_at).unwrap_or(now);
    let mut prevs = Vec::with_capacity(logged.len());
    let mut prev = from.hash.clone();
    for l in logged {
        prevs.push(std::mem::replace(&mut prev, l.hash.to_vec()));
    }
    let text = |f: fn(&LogEntry) -> String| entries.iter().map(f).collect::<Vec<_>>();
    let st = |f: fn(&NewStatus) -> String| statuses.iter().map(f).collect::<Vec<_>>();
    let rows = sqlx::query(
        "WITH head AS (
             UPDATE log_head SET seq = $1, hash = $2 WHERE seq = $3 AND hash = $4 RETURNING seq
         ),
         log AS (
             INSERT INTO message_log (seq, logged_at, message_id, kind, sender, receiver, service,
                 conversation_id, correlation_id, verdict, detail, envelope, prev_hash, row_hash)
             SELECT s, $5, m, k, se, r, sv, cv, co, v, d, e, p, h
             FROM UNNEST($6::bigint[], $7::uuid[], $8::smallint[], $9::text[], $10::text[], $11::text[],
                         $12::text[], $13::text[], $14::text[], $15::text[], $16::bytea[], $17::bytea[], $18::bytea[])
                  AS u(s, m, k, se, r, sv, cv, co, v, d, e, p, h)
             WHERE EXISTS (SELECT 1 FROM head)
         ),
         new_status AS (
             INSERT INTO message_status (message_id, sender, receiver, service, kind, conversation_id,
                 correlation_id, signed_hash, reply_queue, expires_at, notify_sender, log_seq,
                 status, queued_at, updated_at)
             SELECT m, s, r, sv, k, cv, co, h, rq, e, n, l, $31, $5, $5
             FROM UNNEST($19::uuid[], $20::text[], $21::text[], $22::text[], $23::smallint[], $24::text[],
                         $25::text[], $26::bytea[], $27::text[], $28::timestamptz[], $29::boolean[], $30::bigint[])
                  AS u(m, s, r, sv, k, cv, co, h, rq, e, n, l)
             WHERE EXISTS (SELECT 1 FROM head)
             ON CONFLICT (message_id) DO NOTHING
         ),
         change AS (
             SELECT * FROM UNNEST($32::uuid[], $33::smallint[], $34::timestamptz[], $35::text[],
                                  $36::text[], $37::integer[], $38::text[])
                 AS u(id, status, at, code, detail, attempt, reporter)
         ),
         applied AS (
             UPDATE message_status s SET
                 status = c.status, code = c.code, detail = c.detail,
                 attempts = GREATEST(s.attempts, c.attempt),
                 delivered_at = CASE WHEN c.status IN (2, 7) THEN COALESCE(s.delivered_at, c.at) ELSE s.delivered_at END,
                 processed_at = CASE WHEN c.status = 3 THEN c.at ELSE s.processed_at END,
                 updated_at = now()
             FROM change c
             WHERE s.message_id = c.id
               AND EXISTS (SELECT 1 FROM head)
               AND (c.reporter IS NULL OR c.reporter = s.receiver)
               AND (CASE c.status WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 7 THEN 2 WHEN 3 THEN 3 ELSE 4 END
                    > CASE s.status WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 7 THEN 2 WHEN 3 THEN 3 ELSE 4 END
                    OR (c.status IN (2, 7) AND s.status IN (2, 7) AND c.attempt > s.attempts))
             RETURNING s.message_id, s.status, s.code, s.detail, s.attempts, s.sender, s.receiver,
                       s.service, s.conversation_id, s.correlation_id, s.reply_queue, s.notify_sender, c.at
         )
         SELECT (SELECT count(*) FROM head) AS moved, a.* FROM (SELECT 1) one LEFT JOIN applied a ON true",
    )
    .bind(to.seq)
    .bind(&to.hash)
    .bind(from.seq)
    .bind(&from.hash)
    .bind(logged_at)
    .bind(logged.iter().map(|l| l.seq).collect::<Vec<_>>())
    .bind(entries.iter().map(|e| e.message_id).collect::<Vec<_>>())
    .bind(entries.iter().map(|e| e.kind).collect::<Vec<_>>())
    .bind(text(|e| e.sender.clone()))
    .bind(text(|e| e.receiver.clone()))
    .bind(text(|e| e.service.clone()))
    .bind(text(|e| e.conversation_id.clone()))
    .bind(text(|e| e.correlation_id.clone()))
    .bind(text(|e| e.verdict.clone()))
    .bind(text(|e| e.detail.clone()))
    .bind(entries.iter().map(|e| e.envelope.clone()).collect::<Vec<_>>())
    .bind(&prevs)
    .bind(logged.iter().map(|l| l.hash.to_vec()).collect::<Vec<_>>())
    .bind(statuses.iter().map(|r| r.message_id).collect::<Vec<_>>())
    .bind(st(|r| r.sender.clone()))
    .bind(st(|r| r.receiver.clone()))
    .bind(st(|r| r.service.clone()))
    .bind(statuses.iter().map(|r| r.kind).collect::<Vec<_>>())
    .bind(st(|r| r.conversation_id.clone()))
    .bind(st(|r| r.correlation_id.clone()))
    .bind(statuses.iter().map(|r| r.signed_hash.clone()).collect::<Vec<_>>())
    .bind(statuses.iter().map(|r| r.reply_queue.clone()).collect::<Vec<_>>())
    .bind(statuses.iter().map(|r| r.expires_at).collect::<Vec<_>>())
    .bind(statuses.iter().map(|r| r.notify_sender).collect::<Vec<_>>())
    .bind(statuses.iter().map(|r| r.log_seq).collect::<Vec<_>>())
    .bind(DeliveryStatus::Queued as i16)
    .bind(changes.iter().map(|c| c.message_id).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.status as i16).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.at).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.code.clone()).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.detail.clone()).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.attempt).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.reported_by.clone()).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    let moved = rows
        .first()
        .map(|r| r.get::<i64, _>("moved") == 1)
        .unwrap_or(false);
    if !moved && !entries.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .filter(|row| row.get::<Option<uuid::Uuid>, _>("message_id").is_some())
            .map(|row| Applied {
                change: Change {
                    message_id: row.get("message_id"),
                    status: store::status_of(row.get("status")),
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
            .collect(),
    ))
}
