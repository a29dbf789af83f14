//! Trust in the mesh: who signed a message, and whether to believe it.
//!
//! # Layout
//! - [`iin`]: IIN and BIN, parsed with the check digit, century digit and
//!   birth date (gateway-anchors.md §3.6);
//! - [`system`]: the system ids of the mesh;
//! - [`signing`]: ECDSA P-256 / SHA-256 over exact bytes, SHA-256, PEM;
//! - [`certificate`]: what a certificate names (system, citizen, employee);
//! - [`ca`] and [`ca_dir`]: the mesh CA (a stand-in for НУЦ РК), in memory
//!   and on disk, issuing, revoking and signing CRLs;
//! - [`cms`]: CMS SignedData in the CAdES-BES profile, as NCALayer signs
//!   documents: sign, and verify against the mesh CA;
//! - [`crl`]: the CRL distribution point and the client-side cache;
//! - [`trust_store`]: the checks made on every signer's certificate;
//! - [`identity`]: a system's own key and certificate.

pub mod ca;
pub mod ca_dir;
pub mod certificate;
pub mod cms;
pub mod crl;
pub mod identity;
pub mod iin;
pub mod signing;
pub mod system;
pub mod trust_store;

pub use ca::{CertificateAuthority, CitizenEds, Issued, SubjectSpec, TlsSubject};
pub use certificate::{CertError, CertificateInfo, KeyPurpose, Subject};
pub use crl::{CrlSettings, CrlSource};
pub use identity::Identity;
pub use iin::{Bin, Iin};
pub use signing::{SigningKey, sha256, sha256_parts};
pub use system::SystemId;
pub use trust_store::TrustStore;

#[cfg(test)]
mod tests;
