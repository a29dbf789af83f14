//! Verifying archive and evidence files with only the mesh CA's
//! certificate: no gateway, no database, no network (what `egovctl gateway
//! verify-archive` and `verify-evidence` run).
//!
//! A file's rows are checked before its signature, so a changed byte is
//! named where it is: in a row ("row 17: its content does not match its
//! hash") or elsewhere ("the signature …"). Every problem has a stable
//! code ([`CheckCode`], the README's table "What verify-archive and
//! verify-evidence find").

use super::format::{self, ARCHIVE_FORMAT, EVIDENCE_FORMAT};
use chrono::{DateTime, Utc};
use egov_proto::gateway::{LogArchive, LogEvidence, LogRow};
use egov_proto::prost::Message;
use egov_trust::cms::{self, CmsError};
use egov_trust::{CertError, SystemId, sha256};
use std::fmt;

/// What a check of a file can find wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckCode {
    /// The CA certificate given cannot be read.
    InvalidCa,
    /// A file cannot be read.
    FileUnreadable,
    /// Not a signed archive or evidence file: not a CMS SignedData with
    /// its content attached, or a content that is not one.
    FileMalformed,
    /// A row's content does not match its hash.
    RowChanged,
    /// A row does not link to the row before it (its prev_hash), or the
    /// file's stated hashes do not match its rows.
    RowUnlinked,
    /// A row is missing from the file's range.
    RowMissing,
    /// The signature does not cover the file as it is.
    BadSignature,
    /// The signer's certificate is not from the CA given.
    UntrustedCertificate,
    /// The file was signed with a certificate valid at another time.
    CertificateExpired,
    /// The signer is a system of the mesh other than the gateway.
    NotTheGateway,
    /// Several archives do not continue each other.
    ArchivesNotChained,
    /// Evidence: a row is outside the part of the chain it claims.
    RowOutsideAnchor,
    /// Evidence checked against archive files: a row or an anchor is not
    /// what the archive holds.
    RowNotInArchive,
}

impl CheckCode {
    pub const ALL: &'static [CheckCode] = &[
        CheckCode::InvalidCa,
        CheckCode::FileUnreadable,
        CheckCode::FileMalformed,
        CheckCode::RowChanged,
        CheckCode::RowUnlinked,
        CheckCode::RowMissing,
        CheckCode::BadSignature,
        CheckCode::UntrustedCertificate,
        CheckCode::CertificateExpired,
        CheckCode::NotTheGateway,
        CheckCode::ArchivesNotChained,
        CheckCode::RowOutsideAnchor,
        CheckCode::RowNotInArchive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckCode::InvalidCa => "invalid_ca",
            CheckCode::FileUnreadable => "file_unreadable",
            CheckCode::FileMalformed => "file_malformed",
            CheckCode::RowChanged => "row_changed",
            CheckCode::RowUnlinked => "row_unlinked",
            CheckCode::RowMissing => "row_missing",
            CheckCode::BadSignature => "bad_signature",
            CheckCode::UntrustedCertificate => "untrusted_certificate",
            CheckCode::CertificateExpired => "certificate_expired",
            CheckCode::NotTheGateway => "not_the_gateway",
            CheckCode::ArchivesNotChained => "archives_not_chained",
            CheckCode::RowOutsideAnchor => "row_outside_anchor",
            CheckCode::RowNotInArchive => "row_not_in_archive",
        }
    }
}

/// The first problem found: its code, the file, the row where there is
/// one, and words for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: CheckCode,
    pub file: String,
    pub row: Option<u64>,
    pub words: String,
}

impl Problem {
    fn new(code: CheckCode, file: &str, row: Option<u64>, words: impl Into<String>) -> Problem {
        Problem {
            code,
            file: file.to_owned(),
            row,
            words: words.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code.as_str())?;
        if !self.file.is_empty() {
            write!(f, "{}: ", self.file)?;
        }
        if let Some(row) = self.row {
            write!(f, "row {row}: ")?;
        }
        f.write_str(&self.words)
    }
}

impl std::error::Error for Problem {}

/// The CA certificate from its PEM or DER bytes.
pub fn read_ca(bytes: &[u8]) -> Result<Vec<u8>, Problem> {
    let der = match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => {
            egov_trust::signing::pem_block(text, "CERTIFICATE")
                .map_err(|e| Problem::new(CheckCode::InvalidCa, "", None, e))?
        }
        _ => bytes.to_vec(),
    };
    egov_trust::trust_store::check_ca(&der).map_err(|e| {
        Problem::new(
            CheckCode::InvalidCa,
            "",
            None,
            format!("the CA certificate: {e}"),
        )
    })?;
    Ok(der)
}

/// Who signed a file, and when it says it did.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The certificate's subject, e.g. "system gateway".
    pub subject: String,
    pub serial: String,
    pub signed_at: Option<DateTime<Utc>>,
}

/// The signature of a file the gateway made: the CA's, valid when it was
/// signed, the gateway's certificate.
fn check_signature(file: &str, bytes: &[u8], ca_der: &[u8]) -> Result<Signer, Problem> {
    let verified = cms::verify_offline(bytes, ca_der).map_err(|e| {
        let code = match &e {
            CmsError::Certificate(CertError::NotFromCa) => CheckCode::UntrustedCertificate,
            CmsError::Certificate(CertError::Expired(_) | CertError::NotYetValid(_)) => {
                CheckCode::CertificateExpired
            }
            _ => CheckCode::BadSignature,
        };
        Problem::new(code, file, None, format!("the signature: {e}"))
    })?;
    if verified.certificate.system() != Some(SystemId::Gateway) {
        return Err(Problem::new(
            CheckCode::NotTheGateway,
            file,
            None,
            format!(
                "the signature is by {}, not the gateway",
                verified.certificate.subject
            ),
        ));
    }
    Ok(Signer {
        subject: verified.certificate.subject.to_string(),
        serial: verified.certificate.serial_hex(),
        signed_at: verified.signing_time,
    })
}

/// The content of a signed file, and a decoding of it; when it does not
/// decode, says whether the signature still covers it (a change) or not.
fn open<M: Message + Default>(
    file: &str,
    bytes: &[u8],
    ca_der: &[u8],
    what: &str,
) -> Result<M, Problem> {
    let content = cms::attached_content_unchecked(bytes).map_err(|e| {
        Problem::new(
            CheckCode::FileMalformed,
            file,
            None,
            format!("not a signed {what} (CMS SignedData with its content attached): {e}"),
        )
    })?;
    M::decode(content.as_slice()).map_err(|e| match check_signature(file, bytes, ca_der) {
        Err(mut problem) => {
            problem.words = format!(
                "{}; the signed content no longer decodes as {what} ({e})",
                problem.words
            );
            problem
        }
        Ok(_) => Problem::new(
            CheckCode::FileMalformed,
            file,
            None,
            format!("the signed content is not {what}: {e}"),
        ),
    })
}

/// A row-level problem, with whether the signature still covers the file.
fn with_signature(mut problem: Problem, bytes: &[u8], ca_der: &[u8]) -> Problem {
    if cms::verify_offline(bytes, ca_der).is_err() {
        problem
            .words
            .push_str(" (and the signature no longer covers the file)");
    }
    problem
}

/// One verified archive file.
#[derive(Debug, Clone)]
pub struct ArchiveChecked {
    pub file: String,
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub rows: u64,
    pub prev_hash: Vec<u8>,
    pub last_hash: Vec<u8>,
    pub first_logged_at: Option<DateTime<Utc>>,
    pub last_logged_at: Option<DateTime<Utc>>,
    pub sha256: [u8; 32],
    pub size_bytes: u64,
    pub signer: Signer,
    /// The rows themselves, for checking evidence against them.
    pub archive: LogArchive,
}

/// Verifies one archive file: every row's hash and link, the file's range
/// and stated hashes, then the signature (the gateway's certificate, from
/// the CA, valid when it signed).
pub fn verify_archive(file: &str, bytes: &[u8], ca_der: &[u8]) -> Result<ArchiveChecked, Problem> {
    let archive: LogArchive = open(file, bytes, ca_der, "a message log archive")?;
    let malformed = |words: String| {
        let problem = Problem::new(CheckCode::FileMalformed, file, None, words);
        match check_signature(file, bytes, ca_der) {
            Err(signature) => signature,
            Ok(_) => problem,
        }
    };
    if archive.format != ARCHIVE_FORMAT {
        return Err(malformed(format!(
            "the format is {:?}, not {ARCHIVE_FORMAT:?}",
            archive.format
        )));
    }
    if archive.rows.is_empty() || archive.last_sequence < archive.first_sequence {
        return Err(malformed("the archive holds no rows".into()));
    }
    let mut expected = archive.first_sequence;
    let mut prev = archive.prev_hash.to_vec();
    for row in &archive.rows {
        let seq = row.sequence;
        if seq != expected {
            return Err(with_signature(
                Problem::new(
                    CheckCode::RowMissing,
                    file,
                    Some(expected),
                    format!("row {expected} is missing (the next row is {seq})"),
                ),
                bytes,
                ca_der,
            ));
        }
        if row.prev_hash.as_ref() != prev.as_slice() {
            let after = if seq == archive.first_sequence {
                "the archive's prev_hash".to_owned()
            } else {
                format!("row {}", seq - 1)
            };
            return Err(with_signature(
                Problem::new(
                    CheckCode::RowUnlinked,
                    file,
                    Some(seq),
                    format!("it does not link to {after} (prev_hash differs)"),
                ),
                bytes,
                ca_der,
            ));
        }
        if !format::hash_holds(row) {
            return Err(with_signature(
                Problem::new(
                    CheckCode::RowChanged,
                    file,
                    Some(seq),
                    "its content does not match its hash: the row was changed after it was logged",
                ),
                bytes,
                ca_der,
            ));
        }
        prev = row.row_hash.to_vec();
        expected = seq + 1;
    }
    if expected != archive.last_sequence + 1 {
        return Err(with_signature(
            Problem::new(
                CheckCode::RowMissing,
                file,
                Some(expected.min(archive.last_sequence)),
                format!(
                    "the archive says it ends at row {}, its rows end at row {}",
                    archive.last_sequence,
                    expected - 1
                ),
            ),
            bytes,
            ca_der,
        ));
    }
    if prev != archive.last_hash.as_ref() {
        return Err(with_signature(
            Problem::new(
                CheckCode::RowUnlinked,
                file,
                Some(archive.last_sequence),
                "the archive's last_hash is not its last row's hash",
            ),
            bytes,
            ca_der,
        ));
    }
    let signer = check_signature(file, bytes, ca_der)?;
    Ok(ArchiveChecked {
        file: file.to_owned(),
        first_sequence: archive.first_sequence,
        last_sequence: archive.last_sequence,
        rows: archive.rows.len() as u64,
        prev_hash: archive.prev_hash.to_vec(),
        last_hash: archive.last_hash.to_vec(),
        first_logged_at: archive
            .rows
            .first()
            .and_then(|r| format::from_micros(r.logged_at_micros)),
        last_logged_at: archive
            .rows
            .last()
            .and_then(|r| format::from_micros(r.logged_at_micros)),
        sha256: sha256(bytes),
        size_bytes: bytes.len() as u64,
        signer,
        archive,
    })
}

/// Several archives, verified each and in chain order.
#[derive(Debug, Clone)]
pub struct ArchivesChecked {
    /// In chain order (by first sequence number), whatever order given.
    pub files: Vec<ArchiveChecked>,
    pub first_sequence: u64,
    pub last_sequence: u64,
    /// The hash before the first file's first row, and after the last's.
    pub prev_hash: Vec<u8>,
    pub last_hash: Vec<u8>,
}

/// Verifies every file, then that they continue each other: each starts
/// right after the one before and from its last hash. (A set starting
/// after row 1 is fine: its first prev_hash says where it hangs.)
pub fn verify_archives(
    files: &[(String, Vec<u8>)],
    ca_der: &[u8],
) -> Result<ArchivesChecked, Problem> {
    let mut checked = files
        .iter()
        .map(|(name, bytes)| verify_archive(name, bytes, ca_der))
        .collect::<Result<Vec<_>, _>>()?;
    checked.sort_by_key(|c| c.first_sequence);
    for pair in checked.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        if after.first_sequence != before.last_sequence + 1 {
            return Err(Problem::new(
                CheckCode::ArchivesNotChained,
                &after.file,
                Some(after.first_sequence),
                format!(
                    "it starts at row {}, but {} ends at row {}",
                    after.first_sequence, before.file, before.last_sequence
                ),
            ));
        }
        if after.prev_hash != before.last_hash {
            return Err(Problem::new(
                CheckCode::ArchivesNotChained,
                &after.file,
                Some(after.first_sequence),
                format!(
                    "it does not continue {}: its prev_hash is not that archive's last_hash",
                    before.file
                ),
            ));
        }
    }
    let (Some(first), Some(last)) = (checked.first(), checked.last()) else {
        return Err(Problem::new(
            CheckCode::FileUnreadable,
            "",
            None,
            "no archive file given",
        ));
    };
    Ok(ArchivesChecked {
        first_sequence: first.first_sequence,
        last_sequence: last.last_sequence,
        prev_hash: first.prev_hash.clone(),
        last_hash: last.last_hash.clone(),
        files: checked,
    })
}

/// One row of verified evidence.
#[derive(Debug, Clone)]
pub struct EvidenceRowChecked {
    pub row: LogRow,
    /// The archive file it is in; empty: the database.
    pub archive: String,
    /// Whether it was also found, identical, in its archive file (given
    /// beside the evidence).
    pub matched_archive: bool,
}

/// A verified evidence file.
#[derive(Debug, Clone)]
pub struct EvidenceChecked {
    pub file: String,
    pub conversation_id: String,
    pub exported_at: Option<DateTime<Utc>>,
    pub rows: Vec<EvidenceRowChecked>,
    pub anchors: Vec<egov_proto::gateway::EvidenceAnchor>,
    pub signer: Signer,
}

/// Verifies an evidence file: every row's hash from its prev_hash, each
/// row inside the part of the chain it claims (linked to its neighbours
/// and to the part's ends where it touches them), the signature; and, for
/// the archive files given beside it, that they verify and hold exactly
/// these rows.
pub fn verify_evidence(
    file: &str,
    bytes: &[u8],
    ca_der: &[u8],
    archives: &[(String, Vec<u8>)],
) -> Result<EvidenceChecked, Problem> {
    let evidence: LogEvidence = open(file, bytes, ca_der, "a message log evidence")?;
    if evidence.format != EVIDENCE_FORMAT {
        let problem = Problem::new(
            CheckCode::FileMalformed,
            file,
            None,
            format!(
                "the format is {:?}, not {EVIDENCE_FORMAT:?}",
                evidence.format
            ),
        );
        return Err(check_signature(file, bytes, ca_der)
            .err()
            .unwrap_or(problem));
    }
    let fail = |code, row: Option<u64>, words: String| {
        Err(with_signature(
            Problem::new(code, file, row, words),
            bytes,
            ca_der,
        ))
    };
    let mut previous: Option<&LogRow> = None;
    for entry in &evidence.rows {
        let Some(row) = &entry.row else {
            return fail(CheckCode::FileMalformed, None, "a row is empty".into());
        };
        let seq = row.sequence;
        if previous.is_some_and(|p| p.sequence >= seq) {
            return fail(
                CheckCode::FileMalformed,
                Some(seq),
                "the rows are not in chain order".into(),
            );
        }
        if !format::hash_holds(row) {
            return fail(
                CheckCode::RowChanged,
                Some(seq),
                format!(
                    "its content does not match its hash (message {})",
                    format::message_id(row)
                ),
            );
        }
        if let Some(p) = previous
            && p.sequence + 1 == seq
            && row.prev_hash != p.row_hash
        {
            return fail(
                CheckCode::RowUnlinked,
                Some(seq),
                format!("it does not link to row {} (prev_hash differs)", p.sequence),
            );
        }
        let Some(anchor) = evidence.anchors.get(entry.anchor as usize) else {
            return fail(
                CheckCode::RowOutsideAnchor,
                Some(seq),
                format!(
                    "it names part {} of the chain, which the file does not state",
                    entry.anchor
                ),
            );
        };
        let part = if anchor.file.is_empty() {
            "the database's part of the chain".to_owned()
        } else {
            format!("archive {}", anchor.file)
        };
        if seq < anchor.first_sequence || seq > anchor.last_sequence {
            return fail(
                CheckCode::RowOutsideAnchor,
                Some(seq),
                format!(
                    "it is not within {part} (rows {} to {})",
                    anchor.first_sequence, anchor.last_sequence
                ),
            );
        }
        if seq == anchor.first_sequence && row.prev_hash != anchor.prev_hash {
            return fail(
                CheckCode::RowUnlinked,
                Some(seq),
                format!("it does not link to the hash {part} starts from"),
            );
        }
        if seq == anchor.last_sequence && row.row_hash != anchor.last_hash {
            return fail(
                CheckCode::RowUnlinked,
                Some(seq),
                format!("its hash is not the hash {part} ends at"),
            );
        }
        previous = Some(row);
    }
    let signer = check_signature(file, bytes, ca_der)?;

    // Against the archive files given: each verified, then each archived
    // row found in its file, identical.
    let archived = if archives.is_empty() {
        Vec::new()
    } else {
        verify_archives(archives, ca_der)?.files
    };
    let mut rows = Vec::with_capacity(evidence.rows.len());
    for entry in &evidence.rows {
        let row = entry.row.clone().unwrap_or_default();
        let anchor = &evidence.anchors[entry.anchor as usize];
        let mut matched_archive = false;
        if !anchor.file.is_empty()
            && let Some(archive) = archived.iter().find(|a| {
                a.sha256.as_slice() == anchor.file_sha256.as_ref() || a.file.ends_with(&anchor.file)
            })
        {
            let same_part = archive.sha256.as_slice() == anchor.file_sha256.as_ref()
                && archive.first_sequence == anchor.first_sequence
                && archive.last_sequence == anchor.last_sequence
                && archive.prev_hash == anchor.prev_hash.as_ref()
                && archive.last_hash == anchor.last_hash.as_ref();
            if !same_part {
                return Err(Problem::new(
                    CheckCode::RowNotInArchive,
                    file,
                    Some(row.sequence),
                    format!(
                        "the evidence's statement of archive {} (its rows, hashes and SHA-256) is not the file {}",
                        anchor.file, archive.file
                    ),
                ));
            }
            let index = (row.sequence - archive.first_sequence) as usize;
            if archive.archive.rows.get(index) != Some(&row) {
                return Err(Problem::new(
                    CheckCode::RowNotInArchive,
                    file,
                    Some(row.sequence),
                    format!(
                        "archive {} holds another row {}",
                        archive.file, row.sequence
                    ),
                ));
            }
            matched_archive = true;
        }
        rows.push(EvidenceRowChecked {
            row,
            archive: anchor.file.clone(),
            matched_archive,
        });
    }
    Ok(EvidenceChecked {
        file: file.to_owned(),
        conversation_id: evidence.conversation_id,
        exported_at: format::from_micros(evidence.exported_at_micros),
        rows,
        anchors: evidence.anchors,
        signer,
    })
}
