//! What the mesh reads out of an X.509 certificate: who it names, for how
//! long, and the key it certifies.
//!
//! Subjects follow the NCA RK conventions (gateway-anchors.md §3.4): a person's
//! IIN in `SERIALNUMBER=IIN…`, an employee's employer BIN in `OU=BIN…`. A
//! system's certificate names it in a URI subject alternative name
//! `urn:egov-mesh:system:<id>` and in its common name.

use crate::iin::{Bin, Iin};
use crate::signing::{sha256, verify};
use crate::system::SystemId;
use chrono::{DateTime, Utc};
use std::fmt;
use x509_parser::prelude::*;

pub const SYSTEM_URI_PREFIX: &str = "urn:egov-mesh:system:";
/// An operator's TLS certificate names them in a URI subject alternative
/// name `urn:egov-mesh:operator:<name>` (and its common name).
pub const OPERATOR_URI_PREFIX: &str = "urn:egov-mesh:operator:";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_PRIME256V1: &str = "1.2.840.10045.3.1.7";

/// Whom a certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An information system of the mesh.
    System(SystemId),
    /// A citizen (IIN in SERIALNUMBER).
    Citizen { iin: Iin, name: String },
    /// An employee of a legal entity (IIN, and the employer's BIN in OU).
    Employee { iin: Iin, bin: Bin, name: String },
    /// An operator of the mesh (a person or a tool such as egovctl), named
    /// by a TLS client certificate only.
    Operator { name: String },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::System(id) => write!(f, "system {id}"),
            Subject::Citizen { iin, name } => write!(f, "citizen {name} (IIN {iin})"),
            Subject::Employee { iin, bin, name } => {
                write!(f, "employee {name} (IIN {iin}) of BIN {bin}")
            }
            Subject::Operator { name } => write!(f, "operator {name}"),
        }
    }
}

/// What a person's key is for. NCA RK gives every person two keys and tells
/// them apart by key usage (anchors-part2.md §4.3): the authentication key
/// (`AUTH_…`, keyUsage digitalSignature, extendedKeyUsage clientAuth) logs in;
/// the signing key (`RSA_…`/`GOST_…`, keyUsage nonRepudiation) signs documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Signing documents: keyUsage nonRepudiation (contentCommitment) and
    /// digitalSignature.
    Signing,
    /// Logging in: keyUsage digitalSignature and extendedKeyUsage clientAuth.
    Authentication,
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyPurpose::Signing => "signing",
            KeyPurpose::Authentication => "authentication",
        })
    }
}

/// The facts of a parsed certificate, owned so they can be cached.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    pub serial: Vec<u8>,
    pub subject: Subject,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER; the cache key.
    pub fingerprint: [u8; 32],
    public_key: Vec<u8>,
    /// Key purposes the certificate's keyUsage and extendedKeyUsage allow.
    purposes: Vec<KeyPurpose>,
}

/// Why a certificate is not acceptable. Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("the certificate cannot be parsed: {0}")]
    Malformed(String),
    #[error("the certificate's key is not ECDSA P-256")]
    UnsupportedKey,
    #[error("the certificate names no system, citizen or employee: {0}")]
    UnknownSubject(String),
    #[error("the certificate was not issued by the mesh certification authority")]
    NotFromCa,
    #[error("the certificate is not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    #[error("the certificate expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the certificate (serial {serial}) was revoked at {at}")]
    Revoked { serial: String, at: DateTime<Utc> },
    #[error("the revocation status cannot be established: {0}")]
    RevocationUnknown(String),
    /// A TLS or authentication certificate (no nonRepudiation): its key
    /// opens connections or logs in, and signs no message.
    #[error(
        "the certificate is not for signing messages (keyUsage without nonRepudiation: a TLS or log-in certificate)"
    )]
    NotForSigning,
}

impl CertError {
    pub fn code(&self) -> &'static str {
        match self {
            CertError::Malformed(_) | CertError::UnsupportedKey | CertError::UnknownSubject(_) => {
                "malformed_certificate"
            }
            CertError::NotFromCa => "untrusted_certificate",
            CertError::NotYetValid(_) | CertError::Expired(_) => "certificate_expired",
            CertError::Revoked { .. } => "certificate_revoked",
            CertError::RevocationUnknown(_) => "revocation_status_unavailable",
            CertError::NotForSigning => "certificate_not_for_signing",
        }
    }
}

impl CertificateInfo {
    pub fn parse(der: &[u8]) -> Result<CertificateInfo, CertError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
        let spki = cert.public_key();
        let is_p256 = spki.algorithm.algorithm.to_id_string() == OID_EC_PUBLIC_KEY
            && spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .is_some_and(|oid| oid.to_id_string() == OID_PRIME256V1);
        if !is_p256 {
            return Err(CertError::UnsupportedKey);
        }
        let validity = cert.validity();
        Ok(CertificateInfo {
            serial: cert.raw_serial().to_vec(),
            subject: subject_of(&cert)?,
            not_before: to_chrono(validity.not_before),
            not_after: to_chrono(validity.not_after),
            fingerprint: sha256(der),
            public_key: spki.subject_public_key.data.to_vec(),
            purposes: purposes_of(&cert)?,
        })
    }

    /// Whether the certificate's key usage allows this purpose.
    pub fn allows(&self, purpose: KeyPurpose) -> bool {
        self.purposes.contains(&purpose)
    }

    /// Whether `signature` over `message` was made with this certificate's key.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        verify(&self.public_key, message, signature)
    }

    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    pub fn serial_hex(&self) -> String {
        hex::encode(&self.serial)
    }

    pub fn system(&self) -> Option<SystemId> {
        match self.subject {
            Subject::System(id) => Some(id),
            _ => None,
        }
    }

    /// Checks the validity period at `now`.
    pub fn check_validity(&self, now: DateTime<Utc>) -> Result<(), CertError> {
        if now < self.not_before {
            Err(CertError::NotYetValid(self.not_before))
        } else if now > self.not_after {
            Err(CertError::Expired(self.not_after))
        } else {
            Ok(())
        }
    }
}

/// Reads keyUsage and extendedKeyUsage. A certificate without keyUsage is
/// allowed no purpose: every certificate of the mesh CA states its usage.
fn purposes_of(cert: &X509Certificate<'_>) -> Result<Vec<KeyPurpose>, CertError> {
    let malformed = |e: X509Error| CertError::Malformed(e.to_string());
    let Some(key_usage) = cert.key_usage().map_err(malformed)? else {
        return Ok(Vec::new());
    };
    let client_auth = cert
        .extended_key_usage()
        .map_err(malformed)?
        .is_some_and(|eku| eku.value.client_auth);
    let mut purposes = Vec::new();
    if key_usage.value.digital_signature() && key_usage.value.non_repudiation() {
        purposes.push(KeyPurpose::Signing);
    }
    if key_usage.value.digital_signature() && client_auth {
        purposes.push(KeyPurpose::Authentication);
    }
    Ok(purposes)
}

fn to_chrono(t: ASN1Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn subject_of(cert: &X509Certificate<'_>) -> Result<Subject, CertError> {
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::URI(uri) = name
                && let Some(id) = uri.strip_prefix(SYSTEM_URI_PREFIX)
            {
                return SystemId::parse(id)
                    .map(Subject::System)
                    .ok_or_else(|| CertError::UnknownSubject(format!("unknown system {id:?}")));
            }
            if let GeneralName::URI(uri) = name
                && let Some(name) = uri.strip_prefix(OPERATOR_URI_PREFIX)
            {
                return if name.is_empty() {
                    Err(CertError::UnknownSubject(
                        "an operator without a name".into(),
                    ))
                } else {
                    Ok(Subject::Operator {
                        name: name.to_owned(),
                    })
                };
            }
        }
    }
    let dn = cert.subject();
    let text = |oid: &x509_parser::der_parser::Oid<'_>| {
        dn.iter_attributes()
            .find(|a| a.attr_type() == oid)
            .and_then(|a| a.as_str().ok())
            .map(str::to_owned)
    };
    let serial_number = text(&x509_parser::oid_registry::OID_X509_SERIALNUMBER);
    let common_name = text(&x509_parser::oid_registry::OID_X509_COMMON_NAME).unwrap_or_default();
    let bin = dn
        .iter_organizational_unit()
        .filter_map(|a| a.as_str().ok())
        .find_map(|ou| ou.strip_prefix("BIN"))
        .map(str::to_owned);
    let Some(iin) = serial_number.as_deref().and_then(|s| s.strip_prefix("IIN")) else {
        return Err(CertError::UnknownSubject(dn.to_string()));
    };
    let iin = Iin::parse(iin)
        .map_err(|e| CertError::UnknownSubject(format!("SERIALNUMBER holds no valid IIN: {e}")))?;
    match bin {
        Some(bin) => {
            let bin = Bin::parse(&bin)
                .map_err(|e| CertError::UnknownSubject(format!("OU holds no valid BIN: {e}")))?;
            Ok(Subject::Employee {
                iin,
                bin,
                name: common_name,
            })
        }
        None => Ok(Subject::Citizen {
            iin,
            name: common_name,
        }),
    }
}
