//! A system's own identity: its id, private key and certificate.

use crate::certificate::{CertError, CertificateInfo, Subject};
use crate::signing::{KeyError, SigningKey, pem_block};
use crate::system::SystemId;
use std::path::Path;

pub struct Identity {
    pub system: SystemId,
    pub key: SigningKey,
    pub certificate_der: Vec<u8>,
    pub certificate: CertificateInfo,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Pem(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Certificate(#[from] CertError),
    #[error("the certificate names {0}, not a system of the mesh")]
    NotASystem(String),
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
}

impl Identity {
    pub fn from_der(certificate_der: Vec<u8>, key: SigningKey) -> Result<Identity, IdentityError> {
        let certificate = CertificateInfo::parse(&certificate_der)?;
        let system = match &certificate.subject {
            Subject::System(id) => *id,
            other => return Err(IdentityError::NotASystem(other.to_string())),
        };
        if certificate.public_key() != key.public_key() {
            return Err(IdentityError::KeyMismatch);
        }
        Ok(Identity {
            system,
            key,
            certificate_der,
            certificate,
        })
    }

    pub fn from_pem(certificate_pem: &str, key_pem: &str) -> Result<Identity, IdentityError> {
        let der = pem_block(certificate_pem, "CERTIFICATE").map_err(IdentityError::Pem)?;
        Identity::from_der(der, SigningKey::from_pem(key_pem)?)
    }

    pub fn load(certificate: &Path, key: &Path) -> Result<Identity, IdentityError> {
        Identity::from_pem(&read(certificate)?, &read(key)?)
    }
}

pub(crate) fn read(path: &Path) -> Result<String, IdentityError> {
    std::fs::read_to_string(path).map_err(|source| IdentityError::Read {
        path: path.display().to_string(),
        source,
    })
}
