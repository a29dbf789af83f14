//! The rows of the log as archive and evidence files carry them: every
//! field the chain hashes, exactly (`egov.gateway.v1.LogRow`).

use crate::log::{RowFields, hash_fields};
use chrono::{DateTime, Utc};
use egov_proto::gateway::LogRow;

/// `LogArchive.format`.
pub const ARCHIVE_FORMAT: &str = "egov-mesh message log archive v1";
/// `LogEvidence.format`.
pub const EVIDENCE_FORMAT: &str = "egov-mesh message log evidence v1";
/// How archive files are named: `message-log-<first>-<last>.p7m`, the
/// sequence numbers zero-padded so names sort in chain order.
pub const FILE_PREFIX: &str = "message-log-";
pub const FILE_SUFFIX: &str = ".p7m";

/// The archive file's name for rows `first` to `last`.
pub fn file_name(first: i64, last: i64) -> String {
    format!("{FILE_PREFIX}{first:012}-{last:012}{FILE_SUFFIX}")
}

/// The first and last sequence numbers an archive file's name gives.
pub fn parse_file_name(name: &str) -> Option<(i64, i64)> {
    let range = name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?;
    let (first, last) = range.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?))
}

/// The hash a row's content gives, chained from its own `prev_hash`; none
/// when a field cannot be what the gateway hashed (a kind beyond 16 bits).
pub fn computed_hash(row: &LogRow) -> Option<[u8; 32]> {
    Some(hash_fields(&RowFields {
        prev: &row.prev_hash,
        seq: i64::try_from(row.sequence).ok()?,
        logged_at_micros: row.logged_at_micros,
        message_id: &row.message_id,
        kind: i16::try_from(row.kind).ok()?,
        sender: &row.sender,
        receiver: &row.receiver,
        service: &row.service,
        conversation_id: &row.conversation_id,
        correlation_id: &row.correlation_id,
        verdict: &row.verdict,
        detail: &row.detail,
        envelope: &row.envelope,
    }))
}

/// Whether the row's stored hash is what its content gives.
pub fn hash_holds(row: &LogRow) -> bool {
    computed_hash(row).is_some_and(|h| row.row_hash.as_ref() == h.as_slice())
}

/// A `message_log` row (the columns of [`crate::log::verify`]'s query) as
/// a `LogRow`.
pub fn from_db(row: &sqlx::postgres::PgRow) -> LogRow {
    use sqlx::Row;
    let seq: i64 = row.get("seq");
    let logged_at: DateTime<Utc> = row.get("logged_at");
    let message_id: Option<uuid::Uuid> = row.get("message_id");
    let kind: i16 = row.get("kind");
    let envelope: Vec<u8> = row.get("envelope");
    let prev_hash: Vec<u8> = row.get("prev_hash");
    let row_hash: Vec<u8> = row.get("row_hash");
    LogRow {
        sequence: seq as u64,
        logged_at_micros: logged_at.timestamp_micros(),
        message_id: message_id
            .map(|id| id.as_bytes().to_vec())
            .unwrap_or_default()
            .into(),
        kind: i32::from(kind),
        sender: row.get("sender"),
        receiver: row.get("receiver"),
        service: row.get("service"),
        conversation_id: row.get("conversation_id"),
        correlation_id: row.get("correlation_id"),
        verdict: row.get("verdict"),
        detail: row.get("detail"),
        envelope: envelope.into(),
        prev_hash: prev_hash.into(),
        row_hash: row_hash.into(),
    }
}

/// The columns [`from_db`] reads, for a query on `message_log`.
pub const DB_COLUMNS: &str = "seq, logged_at, message_id, kind, sender, receiver, service, \
     conversation_id, correlation_id, verdict, detail, envelope, prev_hash, row_hash";

/// A row's message id as text (empty when it has none).
pub fn message_id(row: &LogRow) -> String {
    uuid::Uuid::from_slice(&row.message_id)
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// A time kept in microseconds.
pub fn from_micros(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{LogEntry, row_hash};

    #[test]
    fn a_row_hashes_as_the_log_hashed_it() {
        let entry = LogEntry {
            message_id: Some(uuid::Uuid::now_v7()),
            kind: 1,
            sender: "portal".into(),
            receiver: "workstation".into(),
            service: "submit-application".into(),
            conversation_id: "case-1".into(),
            correlation_id: String::new(),
            verdict: "accepted".into(),
            detail: String::new(),
            envelope: b"the envelope".to_vec(),
        };
        let logged_at = DateTime::from_timestamp_micros(1_765_000_000_123_456).unwrap();
        let prev = [7u8; 32];
        let hash = row_hash(&prev, 42, logged_at, &entry);
        let row = LogRow {
            sequence: 42,
            logged_at_micros: logged_at.timestamp_micros(),
            message_id: entry.message_id.unwrap().as_bytes().to_vec().into(),
            kind: 1,
            sender: entry.sender.clone(),
            receiver: entry.receiver.clone(),
            service: entry.service.clone(),
            conversation_id: entry.conversation_id.clone(),
            correlation_id: String::new(),
            verdict: entry.verdict.clone(),
            detail: String::new(),
            envelope: entry.envelope.clone().into(),
            prev_hash: prev.to_vec().into(),
            row_hash: hash.to_vec().into(),
        };
        assert!(hash_holds(&row));
        let mut changed = row.clone();
        changed.kind = 1 + 65536;
        assert!(
            !hash_holds(&changed),
            "a kind beyond 16 bits is not aliased"
        );
        let mut changed = row;
        changed.service.push('!');
        assert!(!hash_holds(&changed));
    }

    #[test]
    fn file_names_sort_in_chain_order_and_read_back() {
        let a = file_name(1, 999);
        let b = file_name(1000, 12_345);
        assert!(a < b);
        assert_eq!(parse_file_name(&b), Some((1000, 12_345)));
        assert_eq!(parse_file_name("message-log-x-1.p7m"), None);
    }
}
