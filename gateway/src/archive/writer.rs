//! Moving the log's oldest rows into signed archive files (ArchiveLog, and
//! the retention task of `gateway.log_retention`).
//!
//! One file at a time, each in one transaction holding the archivers'
//! advisory lock (one archiver per database, whatever the instances):
//!
//! 1. read the rows after the last archive, in order, up to the first row
//!    logged at or after `until`, the first row of a message not yet final
//!    (queued, delivered, retrying: it may still be redelivered under its
//!    row, so it and every later row stay), or the file's size limits —
//!    checking each row's hash and link as it goes, so a row changed in the
//!    database is never signed into an archive (`log_broken`);
//! 2. sign them (CMS SignedData, the gateway's certificate) and write the
//!    file durably: a temporary file, fsynced, renamed, the directory
//!    fsynced;
//! 3. record the archive (`log_archives`, whose trigger checks it continues
//!    the previous one), copy what Trace and the duplicate checks need to
//!    `archived_log`, and delete the rows from `message_log` — which its
//!    trigger allows only for rows so recorded, in a transaction that says
//!    it archives (`egov.archiving`) — then commit.
//!
//! A file written whose transaction did not commit (a crash, the database
//! away) is an orphan: the next run, under the lock, removes every archive
//! file starting after the last recorded archive before it writes.

use super::format::{self, ARCHIVE_FORMAT};
use crate::gateway::Gateway;
use crate::log::{self, Anchor};
use chrono::{DateTime, Utc};
use egov_proto::envelope::DeliveryStatus;
use egov_proto::gateway::{ArchiveFile, LogArchive, LogRow};
use egov_proto::prost::Message;
use egov_trust::cms::{self, Encapsulation};
use egov_trust::sha256;
use futures_util::TryStreamExt;
use sqlx::Row;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The advisory lock archivers take ("egovarch").
const LOCK: i64 = 0x6567_6f76_6172_6368;

/// What an archiving run did.
#[derive(Debug, Clone)]
pub struct Archived {
    /// The files written, in chain order.
    pub files: Vec<ArchiveFile>,
    /// Where the database's chain starts after now.
    pub anchor: Anchor,
    /// The message not yet final that stopped the run before `until`.
    pub held: Option<Held>,
}

#[derive(Debug, Clone)]
pub struct Held {
    pub message_id: uuid::Uuid,
    pub seq: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("gateway.archive_dir is not set: the gateway has nowhere to write archives")]
    NotConfigured,
    #[error("row {seq}: {problem}; nothing was archived (see VerifyLog)")]
    Broken { seq: i64, problem: String },
    #[error("writing {file}: {error}; nothing was removed from the database")]
    Write { file: String, error: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Why a file ended where it did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    /// No more rows in the log.
    End,
    /// The next row was logged at or after `until`.
    Until,
    /// The next row is a message not yet final.
    Held(uuid::Uuid, i64),
    /// The file is full; more rows may follow.
    Full,
}

/// Archives every row logged before `until` (at most now) that may leave,
/// into as many files as the size limits make.
pub async fn archive_until(
    gateway: &Gateway,
    until: DateTime<Utc>,
) -> Result<Archived, ArchiveError> {
    let dir = gateway
        .tuning
        .archive_dir
        .clone()
        .ok_or(ArchiveError::NotConfigured)?;
    let until = until.min(Utc::now());
    let mut files = Vec::new();
    loop {
        let (file, anchor, stop) = archive_one(gateway, &dir, until).await?;
        files.extend(file);
        match stop {
            Stop::Full => continue,
            Stop::Held(message_id, seq) => {
                return Ok(Archived {
                    files,
                    anchor,
                    held: Some(Held { message_id, seq }),
                });
            }
            Stop::End | Stop::Until => {
                return Ok(Archived {
                    files,
                    anchor,
                    held: None,
                });
            }
        }
    }
}

/// One file: returns it (none when no row may leave), the anchor after it
/// and why it ended.
async fn archive_one(
    gateway: &Gateway,
    dir: &Path,
    until: DateTime<Utc>,
) -> Result<(Option<ArchiveFile>, Anchor, Stop), ArchiveError> {
    let tuning = &gateway.tuning;
    let mut tx = gateway.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK)
        .execute(&mut *tx)
        .await?;
    let anchor = log::anchor(&mut tx).await?;
    remove_orphans(dir, anchor.seq).await;

    let mut rows: Vec<LogRow> = Vec::new();
    let mut bytes = 0usize;
    let mut stop = Stop::End;
    let mut prev = anchor.hash.clone();
    let mut expected = anchor.seq + 1;
    {
        let mut stream = sqlx::query(
            "SELECT l.seq, l.logged_at, l.message_id, l.kind, l.sender, l.receiver, l.service,
                    l.conversation_id, l.correlation_id, l.verdict, l.detail, l.envelope,
                    l.prev_hash, l.row_hash, s.status
             FROM message_log l
             LEFT JOIN message_status s ON s.message_id = l.message_id AND s.log_seq = l.seq
             WHERE l.seq > $1 ORDER BY l.seq LIMIT $2",
        )
        .bind(anchor.seq)
        .bind(tuning.archive_max_rows as i64)
        .fetch(&mut *tx);
        while let Some(db_row) = stream.try_next().await? {
            let logged_at: DateTime<Utc> = db_row.get("logged_at");
            let status: Option<i16> = db_row.get("status");
            let row = format::from_db(&db_row);
            let seq = row.sequence as i64;
            if logged_at >= until {
                stop = Stop::Until;
                break;
            }
            let not_final = [
                DeliveryStatus::Queued,
                DeliveryStatus::Delivered,
                DeliveryStatus::Retrying,
            ]
            .iter()
            .any(|s| status == Some(*s as i16));
            if not_final {
                let id: Option<uuid::Uuid> = db_row.get("message_id");
                stop = Stop::Held(id.unwrap_or_default(), seq);
                break;
            }
            let broken = |problem: String| ArchiveError::Broken {
                seq: expected,
                problem,
            };
            if seq != expected {
                return Err(broken(format!(
                    "the row is missing from the database (the next row is {seq})"
                )));
            }
            if row.prev_hash.as_ref() != prev.as_slice() {
                return Err(broken(
                    "it does not link to the row before it (prev_hash differs)".into(),
                ));
            }
            if !format::hash_holds(&row) {
                return Err(broken(
                    "it was changed after it was logged: its content does not match its hash"
                        .into(),
                ));
            }
            if !rows.is_empty() && bytes + row.envelope.len() > tuning.archive_max_bytes {
                stop = Stop::Full;
                break;
            }
            bytes += row.envelope.len();
            prev = row.row_hash.to_vec();
            expected += 1;
            rows.push(row);
        }
    }
    if stop == Stop::End && rows.len() == tuning.archive_max_rows {
        stop = Stop::Full;
    }
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok((None, anchor, stop));
    };
    let (first_seq, last_seq) = (first.sequence as i64, last.sequence as i64);
    let count = rows.len() as i64;
    let name = format::file_name(first_seq, last_seq);
    let archive = LogArchive {
        format: ARCHIVE_FORMAT.to_owned(),
        first_sequence: first_seq as u64,
        last_sequence: last_seq as u64,
        prev_hash: anchor.hash.clone().into(),
        last_hash: prev.clone().into(),
        rows,
        archived_at_micros: Utc::now().timestamp_micros(),
    };

    // Signed and written off the async threads: a file may be tens of MiB.
    let identity = gateway.identity.clone();
    let path = dir.to_path_buf();
    let file_name = name.clone();
    let (sha, size) = tokio::task::spawn_blocking(move || {
        let content = archive.encode_to_vec();
        drop(archive);
        let signed = cms::sign(
            &content,
            &identity.key,
            &identity.certificate_der,
            Encapsulation::Attached,
            Utc::now(),
        )
        .map_err(|e| format!("signing: {e}"))?;
        write_durably(&path, &file_name, &signed).map_err(|e| e.to_string())?;
        Ok::<_, String>((sha256(&signed), signed.len() as i64))
    })
    .await
    .unwrap_or_else(|e| Err(format!("the writing task failed: {e}")))
    .map_err(|error| ArchiveError::Write {
        file: dir.join(&name).display().to_string(),
        error,
    })?;

    sqlx::query("SET LOCAL egov.archiving = 'on'")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO log_archives (first_seq, last_seq, prev_hash, last_hash, row_count, file,
                                   sha256, size_bytes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(first_seq)
    .bind(last_seq)
    .bind(&anchor.hash)
    .bind(&prev)
    .bind(count)
    .bind(&name)
    .bind(sha.as_slice())
    .bind(size)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO archived_log (seq, archive, logged_at, message_id, kind, sender, receiver,
                                   service, conversation_id, correlation_id, verdict, detail,
                                   row_hash)
         SELECT seq, $1, logged_at, message_id, kind, sender, receiver, service,
                conversation_id, correlation_id, verdict, detail, row_hash
         FROM message_log WHERE seq BETWEEN $1 AND $2",
    )
    .bind(first_seq)
    .bind(last_seq)
    .execute(&mut *tx)
    .await?;
    let deleted = sqlx::query("DELETE FROM message_log WHERE seq BETWEEN $1 AND $2")
        .bind(first_seq)
        .bind(last_seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted != count as u64 {
        // Cannot be while the lock is held and the log is append-only;
        // rolled back if it ever is.
        return Err(ArchiveError::Broken {
            seq: first_seq,
            problem: format!("{deleted} rows left the database, not {count}"),
        });
    }
    tx.commit().await?;
    tracing::info!(
        file = %name,
        first = first_seq,
        last = last_seq,
        rows = count,
        size_bytes = size,
        "Archived message log rows."
    );
    let file = ArchiveFile {
        file: name,
        first_sequence: first_seq as u64,
        last_sequence: last_seq as u64,
        rows: count as u64,
        prev_hash: anchor.hash.into(),
        last_hash: prev.clone().into(),
        sha256: sha.to_vec().into(),
        size_bytes: size as u64,
    };
    Ok((
        Some(file),
        Anchor {
            seq: last_seq,
            hash: prev,
        },
        stop,
    ))
}

/// Writes `bytes` to `dir/name` so that it is on disk when this returns:
/// a temporary file, fsynced, renamed, then the directory fsynced (the
/// rename itself durable).
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let partial = dir.join(format!(".{name}.partial"));
    {
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// Removes what an interrupted run left: archive files starting after the
/// last recorded archive (their transaction did not commit; their rows are
/// still in the database) and temporary files.
async fn remove_orphans(dir: &Path, anchor_seq: i64) {
    let dir: PathBuf = dir.to_path_buf();
    let _ = tokio::task::spawn_blocking(move || {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let orphan = name.ends_with(".partial")
                || format::parse_file_name(&name).is_some_and(|(first, _)| first > anchor_seq);
            if orphan {
                tracing::warn!(file = %name, "Removing an archive file whose archiving did not complete.");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    })
    .await;
}

/// The retention task: every `gateway.archive_every`, archives the rows
/// logged longer ago than `gateway.log_retention`, until stopped. Off when
/// no retention is set.
pub async fn keep_retention(gateway: Arc<Gateway>, stopping: tokio_util::sync::CancellationToken) {
    let Some(retention) = gateway.tuning.log_retention else {
        return;
    };
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    loop {
        tokio::select! {
            _ = stopping.cancelled() => return,
            _ = tokio::time::sleep(gateway.tuning.archive_every) => {}
        }
        let until = Utc::now()
            .checked_sub_signed(retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        // Stopped mid-run, the transaction rolls back; a file already
        // written is an orphan the next run removes.
        let result = tokio::select! {
            _ = stopping.cancelled() => return,
            result = archive_until(&gateway, until) => result,
        };
        match result {
            Ok(done) => {
                if let Some(held) = &done.held {
                    tracing::info!(
                        message_id = %held.message_id,
                        row = held.seq,
                        "Archiving waits for a message that is not final yet; its row and the later ones stay."
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "Could not archive the message log now."),
        }
    }
}
