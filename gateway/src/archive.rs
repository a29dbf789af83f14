//! The message log outside the database (issue 13 point 5, as X-Road's
//! archiver): signed archive files that continue the hash chain, and
//! evidence files of one conversation, both verifiable offline with only
//! the mesh CA's certificate.
//!
//! - [`format`]: the rows as the chain hashes them (archive.proto), file
//!   names;
//! - [`offline`]: verifying archives and evidence with the CA certificate
//!   alone (what `egovctl gateway verify-archive` / `verify-evidence` run);
//! - [`writer`]: the gateway moving rows into archive files (ArchiveLog,
//!   the retention task);
//! - [`evidence`]: the gateway exporting one conversation's evidence.
//!
//! An archive or evidence file is a CMS SignedData (DER, content attached)
//! signed with the gateway's own certificate, as the intake signs its
//! receipts, so `openssl cms -verify -inform DER -CAfile ca.pem -in <file>`
//! checks the signature and prints the content (a protobuf `LogArchive` or
//! `LogEvidence`).

pub mod evidence;
pub mod format;
pub mod offline;
pub mod writer;
