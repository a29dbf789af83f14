//! The message log: append-only, hash-chained, written in batches.
//!
//! Row n's hash is SHA-256 over row n−1's hash, n, the time it was logged
//! and every column of the row (the envelope by its SHA-256), each field
//! length-prefixed. Changing any stored value, removing a row or reordering
//! rows breaks the chain at that row.

use chrono::{DateTime, Utc};
use egov_trust::signing::sha256;
use futures_util::TryStreamExt;
use sqlx::{PgPool, Row};

/// One row to append.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub message_id: Option<uuid::Uuid>,
    pub kind: i16,
    pub sender: String,
    pub receiver: String,
    pub service: String,
    pub conversation_id: String,
    pub correlation_id: String,
    /// "accepted" or the rejection code.
    pub verdict: String,
    pub detail: String,
    pub envelope: Vec<u8>,
}

/// Where an entry landed in the chain.
#[derive(Debug, Clone, Copy)]
pub struct Logged {
    pub seq: i64,
    pub hash: [u8; 32],
    pub logged_at: DateTime<Utc>,
}

pub const ACCEPTED: &str = "accepted";

/// The hash of one row, given the previous row's hash.
pub fn row_hash(prev: &[u8], seq: i64, logged_at: DateTime<Utc>, e: &LogEntry) -> [u8; 32] {
    let mut buf = Vec::with_capacity(256);
    let mut field = |bytes: &[u8]| {
        buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        buf.extend_from_slice(bytes);
    };
    field(prev);
    field(&seq.to_be_bytes());
    field(&logged_at.timestamp_micros().to_be_bytes());
    field(
        e.message_id
            .as_ref()
            .map(|id| id.as_bytes().as_slice())
            .unwrap_or(&[]),
    );
    field(&e.kind.to_be_bytes());
    field(e.sender.as_bytes());
    field(e.receiver.as_bytes());
    field(e.service.as_bytes());
    field(e.conversation_id.as_bytes());
    field(e.correlation_id.as_bytes());
    field(e.verdict.as_bytes());
    field(e.detail.as_bytes());
    field(&sha256(&e.envelope));
    sha256(&buf)
}

/// The end of the chain as this writer last saw it.
#[derive(Debug, Clone)]
pub struct Head {
    pub seq: i64,
    pub hash: Vec<u8>,
}

pub async fn read_head(db: &PgPool) -> Result<Head, sqlx::Error> {
    let row = sqlx::query("SELECT seq, hash FROM log_head")
        .fetch_one(db)
        .await?;
    Ok(Head {
        seq: row.get("seq"),
        hash: row.get("hash"),
    })
}

/// Chains `entries` after `head`: their sequence numbers and hashes, and the
/// new head.
pub fn chain(head: &Head, entries: &[LogEntry], now: DateTime<Utc>) -> (Vec<Logged>, Head) {
    // The database keeps microseconds; hash what it keeps.
    let logged_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let mut seq = head.seq;
    let mut prev = head.hash.clone();
    let logged = entries
        .iter()
        .map(|entry| {
            seq += 1;
            let hash = row_hash(&prev, seq, logged_at, entry);
            prev = hash.to_vec();
            Logged {
                seq,
                hash,
                logged_at,
            }
        })
        .collect();
    (logged, Head { seq, hash: prev })
}

/// What a check of the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub intact: bool,
    pub rows_checked: u64,
    pub first_bad_sequence: u64,
    pub problem: String,
    pub head_sequence: u64,
    pub head_hash: Vec<u8>,
}

/// Recomputes the chain over [from, to] (0, 0 = everything), streaming rows.
pub async fn verify(pool: &PgPool, from: u64, to: u64) -> Result<VerifyReport, sqlx::Error> {
    let head = sqlx::query("SELECT seq, hash FROM log_head")
        .fetch_one(pool)
        .await?;
    let head_seq: i64 = head.get("seq");
    let head_hash: Vec<u8> = head.get("hash");
    let from = from.max(1) as i64;
    let to = if to == 0 {
        head_seq
    } else {
        (to as i64).min(head_seq)
    };
    let mut report = VerifyReport {
        intact: true,
        rows_checked: 0,
        first_bad_sequence: 0,
        problem: String::new(),
        head_sequence: head_seq as u64,
        head_hash: head_hash.clone(),
    };
    let fail = |report: &mut VerifyReport, seq: i64, problem: String| {
        report.intact = false;
        report.first_bad_sequence = seq as u64;
        report.problem = problem;
    };
    // The hash the first checked row must link to.
    let mut expected_prev: Vec<u8> = if from == 1 {
        vec![0; 32]
    } else {
        match sqlx::query("SELECT row_hash FROM message_log WHERE seq = $1")
            .bind(from - 1)
            .fetch_optional(pool)
            .await?
        {
            Some(row) => row.get("row_hash"),
            None => {
                fail(
                    &mut report,
                    from - 1,
                    format!("row {} is missing", from - 1),
                );
                return Ok(report);
            }
        }
    };
    let mut rows = sqlx::query(
        "SELECT seq, logged_at, message_id, kind, sender, receiver, service, conversation_id,
                correlation_id, verdict, detail, envelope, prev_hash, row_hash
         FROM message_log WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
    )
    .bind(from)
    .bind(to)
    .fetch(pool);
    let mut next_seq = from;
    while let Some(row) = rows.try_next().await? {
        let seq: i64 = row.get("seq");
        if seq != next_seq {
            fail(
                &mut report,
                next_seq,
                format!("row {next_seq} is missing (the next row is {seq})"),
            );
            return Ok(report);
        }
        let prev: Vec<u8> = row.get("prev_hash");
        if prev != expected_prev {
            fail(
                &mut report,
                seq,
                format!(
                    "row {seq} does not link to row {} (prev_hash differs)",
                    seq - 1
                ),
            );
            return Ok(report);
        }
        let entry = LogEntry {
            message_id: row.get("message_id"),
            kind: row.get("kind"),
            sender: row.get("sender"),
            receiver: row.get("receiver"),
            service: row.get("service"),
            conversation_id: row.get("conversation_id"),
            correlation_id: row.get("correlation_id"),
            verdict: row.get("verdict"),
            detail: row.get("detail"),
            envelope: row.get("envelope"),
        };
        let stored: Vec<u8> = row.get("row_hash");
        let computed = row_hash(&prev, seq, row.get("logged_at"), &entry);
        if stored != computed {
            fail(
                &mut report,
                seq,
                format!(
                    "row {seq} was changed after it was logged: its content does not match its hash"
                ),
            );
            return Ok(report);
        }
        report.rows_checked += 1;
        expected_prev = stored;
        next_seq = seq + 1;
    }
    if next_seq <= to {
        fail(
            &mut report,
            next_seq,
            format!("rows {next_seq} to {to} are missing"),
        );
    } else if to == head_seq && to > 0 && expected_prev != head_hash {
        fail(
            &mut report,
            to as i64,
            "the log head's hash does not match the last row".into(),
        );
    }
    Ok(report)
}
