//! One conversation's evidence (ExportEvidence): its log rows, envelopes
//! included, from the database and the archive files, each with the hash
//! before it and the part of the chain it is in — an archive (its range,
//! hashes and file's SHA-256) or the database (from the last archive's hash
//! to the chain head) — signed by the gateway as one CMS file.

use super::format::{self, EVIDENCE_FORMAT};
use crate::gateway::Gateway;
use crate::log;
use chrono::Utc;
use egov_proto::gateway::{EvidenceAnchor, EvidenceRow, LogArchive, LogEvidence, LogRow};
use egov_proto::prost::Message;
use egov_trust::cms::{self, Encapsulation};
use egov_trust::sha256;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("no row of the log belongs to conversation {0:?}")]
    UnknownConversation(String),
    #[error("gateway.archive_dir is not set, and rows of this conversation are archived")]
    NotConfigured,
    #[error("archive {file}: {problem}")]
    ArchiveMissing { file: String, problem: String },
    #[error("signing the evidence: {0}")]
    Signing(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A signed evidence file.
#[derive(Debug, Clone)]
pub struct Exported {
    pub bytes: Vec<u8>,
    pub rows: u64,
    pub archived_rows: u64,
}

/// An archive a conversation's rows are in, as recorded.
struct Recorded {
    first_seq: i64,
    last_seq: i64,
    prev_hash: Vec<u8>,
    last_hash: Vec<u8>,
    sha256: Vec<u8>,
    seqs: Vec<i64>,
}

pub async fn export(gateway: &Gateway, conversation: &str) -> Result<Exported, EvidenceError> {
    // One snapshot: an archiving run meanwhile neither hides nor doubles a row.
    let mut tx = gateway.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let anchor = log::anchor(&mut tx).await?;
    let head = log::read_head_in(&mut tx).await?;
    let live: Vec<LogRow> = sqlx::query(
        "SELECT seq, logged_at, message_id, kind, sender, receiver, service, conversation_id,
                correlation_id, verdict, detail, envelope, prev_hash, row_hash
         FROM message_log WHERE conversation_id = $1 AND conversation_id <> '' ORDER BY seq",
    )
    .bind(conversation)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(format::from_db)
    .collect();
    let mut archives: BTreeMap<String, Recorded> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT a.seq, f.first_seq, f.last_seq, f.prev_hash, f.last_hash, f.file, f.sha256
         FROM archived_log a JOIN log_archives f ON f.first_seq = a.archive
         WHERE a.conversation_id = $1 AND a.conversation_id <> '' ORDER BY a.seq",
    )
    .bind(conversation)
    .fetch_all(&mut *tx)
    .await?
    {
        archives
            .entry(row.get("file"))
            .or_insert_with(|| Recorded {
                first_seq: row.get("first_seq"),
                last_seq: row.get("last_seq"),
                prev_hash: row.get("prev_hash"),
                last_hash: row.get("last_hash"),
                sha256: row.get("sha256"),
                seqs: Vec::new(),
            })
            .seqs
            .push(row.get("seq"));
    }
    tx.commit().await?;
    if live.is_empty() && archives.is_empty() {
        return Err(EvidenceError::UnknownConversation(conversation.to_owned()));
    }

    let mut anchors = Vec::new();
    let mut rows = Vec::new();
    let mut archived_rows = 0u64;
    if !archives.is_empty() {
        let dir = gateway
            .tuning
            .archive_dir
            .clone()
            .ok_or(EvidenceError::NotConfigured)?;
        // In chain order: the map is by file name, and names sort so.
        for (file, recorded) in archives {
            let archive = read_archive(&dir.join(&file), &file, &recorded.sha256).await?;
            let index = anchors.len() as u32;
            for seq in &recorded.seqs {
                let row = archive
                    .rows
                    .get((seq - recorded.first_seq) as usize)
                    .filter(|r| r.sequence as i64 == *seq)
                    .cloned()
                    .ok_or_else(|| EvidenceError::ArchiveMissing {
                        file: file.clone(),
                        problem: format!("it does not hold row {seq}"),
                    })?;
                rows.push(EvidenceRow {
                    row: Some(row),
                    anchor: index,
                });
                archived_rows += 1;
            }
            anchors.push(EvidenceAnchor {
                file,
                first_sequence: recorded.first_seq as u64,
                last_sequence: recorded.last_seq as u64,
                prev_hash: recorded.prev_hash.into(),
                last_hash: recorded.last_hash.into(),
                file_sha256: recorded.sha256.into(),
            });
        }
    }
    if !live.is_empty() {
        let index = anchors.len() as u32;
        anchors.push(EvidenceAnchor {
            file: String::new(),
            first_sequence: (anchor.seq + 1) as u64,
            last_sequence: head.seq as u64,
            prev_hash: anchor.hash.into(),
            last_hash: head.hash.into(),
            file_sha256: Default::default(),
        });
        rows.extend(live.into_iter().map(|row| EvidenceRow {
            row: Some(row),
            anchor: index,
        }));
    }
    let count = rows.len() as u64;
    let evidence = LogEvidence {
        format: EVIDENCE_FORMAT.to_owned(),
        conversation_id: conversation.to_owned(),
        exported_at_micros: Utc::now().timestamp_micros(),
        rows,
        anchors,
    };
    let identity = gateway.identity.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        cms::sign(
            &evidence.encode_to_vec(),
            &identity.key,
            &identity.certificate_der,
            Encapsulation::Attached,
            Utc::now(),
        )
        .map_err(|e| EvidenceError::Signing(e.to_string()))
    })
    .await
    .unwrap_or_else(|e| Err(EvidenceError::Signing(e.to_string())))?;
    Ok(Exported {
        bytes,
        rows: count,
        archived_rows,
    })
}

/// The envelopes of archived rows (sequence number, archive file), read
/// from their files, each checked to be the file archived: what Trace
/// gives with `include_envelopes` for rows that left the database.
pub async fn archived_envelopes(
    gateway: &Gateway,
    rows: &[(i64, String)],
) -> Result<HashMap<i64, Vec<u8>>, EvidenceError> {
    let mut envelopes = HashMap::new();
    if rows.is_empty() {
        return Ok(envelopes);
    }
    let dir = gateway
        .tuning
        .archive_dir
        .clone()
        .ok_or(EvidenceError::NotConfigured)?;
    let mut by_file: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (seq, file) in rows {
        by_file.entry(file.as_str()).or_default().push(*seq);
    }
    let files: Vec<String> = by_file.keys().map(|f| (*f).to_owned()).collect();
    let recorded: HashMap<String, (i64, Vec<u8>)> =
        sqlx::query("SELECT file, first_seq, sha256 FROM log_archives WHERE file = ANY($1)")
            .bind(&files)
            .fetch_all(&gateway.pool)
            .await?
            .iter()
            .map(|row| (row.get("file"), (row.get("first_seq"), row.get("sha256"))))
            .collect();
    for (file, seqs) in by_file {
        let Some((first_seq, sha)) = recorded.get(file) else {
            return Err(EvidenceError::ArchiveMissing {
                file: file.to_owned(),
                problem: "no such archive is recorded".into(),
            });
        };
        let archive = read_archive(&dir.join(file), file, sha).await?;
        for seq in seqs {
            let row = archive
                .rows
                .get((seq - first_seq) as usize)
                .filter(|r| r.sequence as i64 == seq)
                .ok_or_else(|| EvidenceError::ArchiveMissing {
                    file: file.to_owned(),
                    problem: format!("it does not hold row {seq}"),
                })?;
            envelopes.insert(seq, row.envelope.to_vec());
        }
    }
    Ok(envelopes)
}

/// An archive file of the gateway's, checked to be the one recorded.
async fn read_archive(
    path: &std::path::Path,
    file: &str,
    recorded_sha256: &[u8],
) -> Result<LogArchive, EvidenceError> {
    let missing = |problem: String| EvidenceError::ArchiveMissing {
        file: file.to_owned(),
        problem,
    };
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| missing(format!("cannot be read from {}: {e}", path.display())))?;
    if sha256(&bytes).as_slice() != recorded_sha256 {
        return Err(missing(
            "the file is not the one archived (its SHA-256 differs from the one recorded)".into(),
        ));
    }
    let content = cms::attached_content_unchecked(&bytes).map_err(|e| missing(e.to_string()))?;
    LogArchive::decode(content.as_slice()).map_err(|e| missing(e.to_string()))
}
