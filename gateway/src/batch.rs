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
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
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
                 status, queued_at, processed_at, updated_at)
             SELECT m, s, r, sv, k, cv, co, h, rq, e, n, l, st, $5, CASE WHEN st = 3 THEN $5 END, $5
             FROM UNNEST($19::uuid[], $20::text[], $21::text[], $22::text[], $23::smallint[], $24::text[],
                         $25::text[], $26::bytea[], $27::text[], $28::timestamptz[], $29::boolean[], $30::bigint[],
                         $31::smallint[])
                  AS u(m, s, r, sv, k, cv, co, h, rq, e, n, l, st)
             WHERE EXISTS (SELECT 1 FROM head)
             ON CONFLICT (message_id) DO NOTHING
         ),
         {changes}
         SELECT (SELECT count(*) FROM head) AS moved, a.* FROM (SELECT 1) one LEFT JOIN applied a ON true",
        changes = store::apply_changes_sql(32, "EXISTS (SELECT 1 FROM head)"),
    )
    });
    // Built once from constants only: no input reaches the text.
    let query = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
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
        .bind(
            entries
                .iter()
                .map(|e| e.envelope.clone())
                .collect::<Vec<_>>(),
        )
        .bind(&prevs)
        .bind(logged.iter().map(|l| l.hash.to_vec()).collect::<Vec<_>>())
        .bind(statuses.iter().map(|r| r.message_id).collect::<Vec<_>>())
        .bind(st(|r| r.sender.clone()))
        .bind(st(|r| r.receiver.clone()))
        .bind(st(|r| r.service.clone()))
        .bind(statuses.iter().map(|r| r.kind).collect::<Vec<_>>())
        .bind(st(|r| r.conversation_id.clone()))
        .bind(st(|r| r.correlation_id.clone()))
        .bind(
            statuses
                .iter()
                .map(|r| r.signed_hash.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            statuses
                .iter()
                .map(|r| r.reply_queue.clone())
                .collect::<Vec<_>>(),
        )
        .bind(statuses.iter().map(|r| r.expires_at).collect::<Vec<_>>())
        .bind(statuses.iter().map(|r| r.notify_sender).collect::<Vec<_>>())
        .bind(statuses.iter().map(|r| r.log_seq).collect::<Vec<_>>())
        .bind(statuses.iter().map(|r| r.status as i16).collect::<Vec<_>>());
    let rows = store::bind_changes(query, changes).fetch_all(pool).await?;
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
            .map(|row| store::applied_from_row(&row))
            .collect(),
    ))
}
