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
    hash_fields(&RowFields {
        prev,
        seq,
        logged_at_micros: logged_at.timestamp_micros(),
        message_id: e
            .message_id
            .as_ref()
            .map(|id| id.as_bytes().as_slice())
            .unwrap_or(&[]),
        kind: e.kind,
        sender: &e.sender,
        receiver: &e.receiver,
        service: &e.service,
        conversation_id: &e.conversation_id,
        correlation_id: &e.correlation_id,
        verdict: &e.verdict,
        detail: &e.detail,
        envelope: &e.envelope,
    })
}

/// Every field a row's hash covers, borrowed: from a log entry, a database
/// row or an archive file's row alike.
pub struct RowFields<'a> {
    pub prev: &'a [u8],
    pub seq: i64,
    pub logged_at_micros: i64,
    /// The message id's 16 bytes, or none.
    pub message_id: &'a [u8],
    pub kind: i16,
    pub sender: &'a str,
    pub receiver: &'a str,
    pub service: &'a str,
    pub conversation_id: &'a str,
    pub correlation_id: &'a str,
    pub verdict: &'a str,
    pub detail: &'a str,
    pub envelope: &'a [u8],
}

/// SHA-256 over the length-prefixed fields, in this order (the chain's
/// definition; archive.proto repeats it for offline verifiers).
pub fn hash_fields(f: &RowFields<'_>) -> [u8; 32] {
    let mut buf = Vec::with_capacity(256);
    let mut field = |bytes: &[u8]| {
        buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        buf.extend_from_slice(bytes);
    };
    field(f.prev);
    field(&f.seq.to_be_bytes());
    field(&f.logged_at_micros.to_be_bytes());
    field(f.message_id);
    field(&f.kind.to_be_bytes());
    field(f.sender.as_bytes());
    field(f.receiver.as_bytes());
    field(f.service.as_bytes());
    field(f.conversation_id.as_bytes());
    field(f.correlation_id.as_bytes());
    field(f.verdict.as_bytes());
    field(f.detail.as_bytes());
    field(&sha256(f.envelope));
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

/// The chain head as `db` (a transaction's snapshot) sees it.
pub async fn read_head_in(db: &mut sqlx::PgConnection) -> Result<Head, sqlx::Error> {
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

/// Where the database's part of the chain starts: the last archived row
/// and its hash (0 and the zero hash when nothing was archived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: Vec<u8>,
}

pub const ZERO_HASH: [u8; 32] = [0; 32];

/// The last archive's end, as `db` sees it.
pub async fn anchor(db: &mut sqlx::PgConnection) -> Result<Anchor, sqlx::Error> {
    let row =
        sqlx::query("SELECT last_seq, last_hash FROM log_archives ORDER BY last_seq DESC LIMIT 1")
            .fetch_optional(db)
            .await?;
    Ok(match row {
        Some(row) => Anchor {
            seq: row.get("last_seq"),
            hash: row.get("last_hash"),
        },
        None => Anchor {
            seq: 0,
            hash: ZERO_HASH.to_vec(),
        },
    })
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
    /// The rows up to here are archived; the check started after it.
    pub anchor_sequence: u64,
    pub anchor_hash: Vec<u8>,
}

/// Recomputes the chain over [from, to] (0, 0 = everything still in the
/// database), streaming rows, in one snapshot of the log (so rows archived
/// meanwhile do not look missing). A range starting among archived rows
/// starts after the last archive, from its hash.
pub async fn verify(pool: &PgPool, from: u64, to: u64) -> Result<VerifyReport, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let anchor = anchor(&mut tx).await?;
    let head = sqlx::query("SELECT seq, hash FROM log_head")
        .fetch_one(&mut *tx)
        .await?;
    let head_seq: i64 = head.get("seq");
    let head_hash: Vec<u8> = head.get("hash");
    let from = (from as i64).max(anchor.seq + 1).max(1);
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
        anchor_sequence: anchor.seq as u64,
        anchor_hash: if anchor.seq == 0 {
            Vec::new()
        } else {
            anchor.hash.clone()
        },
    };
    let fail = |report: &mut VerifyReport, seq: i64, problem: String| {
        report.intact = false;
        report.first_bad_sequence = seq as u64;
        report.problem = problem;
    };
    // The hash the first checked row must link to.
    let mut expected_prev: Vec<u8> = if from == anchor.seq + 1 {
        anchor.hash.clone()
    } else {
        match sqlx::query("SELECT row_hash FROM message_log WHERE seq = $1")
            .bind(from - 1)
            .fetch_optional(&mut *tx)
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
    .fetch(&mut *tx);
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
            let problem = if seq == anchor.seq + 1 {
                format!(
                    "row {seq} does not link to the last archive's hash (row {} in the archives)",
                    anchor.seq
                )
            } else {
                format!(
                    "row {seq} does not link to row {} (prev_hash differs)",
                    seq - 1
                )
            };
            fail(&mut report, seq, problem);
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
    } else if to == head_seq && expected_prev != head_hash {
        fail(
            &mut report,
            to,
            if to == anchor.seq {
                "the log head's hash does not match the last archive's".into()
            } else {
                "the log head's hash does not match the last row".into()
            },
        );
    }
    Ok(report)
}
