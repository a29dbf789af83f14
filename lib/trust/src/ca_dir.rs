//! The CA kept on disk, as `egovctl pki` manages it:
//!
//! ```text
//! <dir>/ca.crt.pem, ca.key.pem       the root
//! <dir>/revoked.toml                  revocations (serial, time, reason)
//! <dir>/systems/<id>.crt.pem|.key.pem one per system id
//! <dir>/citizens/<iin>.crt.pem|.key.pem
//! <dir>/citizens/<iin>/auth.crt.pem|auth.key.pem   a citizen's EDS as NCA
//! <dir>/citizens/<iin>/sign.crt.pem|sign.key.pem   issues it (two key pairs)
//! <dir>/employees/<iin>-<bin>.crt.pem|.key.pem
//! <dir>/tls/<id>.crt.pem|.key.pem     a system's TLS certificate (its gRPC
//!                                     port, and its calls to others')
//! <dir>/tls/operators/<name>.crt.pem|.key.pem   an operator's TLS client
//!                                     certificate (egovctl's is "egovctl")
//! ```
//!
//! The distribution point reads `revoked.toml` on every request, so a
//! revocation made with `egovctl pki revoke` is served at once.

use crate::ca::{
    CaError, CertificateAuthority, CitizenEds, Issued, Revocation, SubjectSpec, TlsSubject,
};
use crate::crl::{CrlSource, SERVED_CRL_VALIDITY};
use crate::iin::Iin;
use crate::signing::pem_block;
use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CaDirError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} already holds a CA; pass --force to replace it")]
    Exists(String),
    #[error("{0} holds no CA (run `egovctl pki init` first)")]
    Missing(String),
    #[error("{path}: {problem}")]
    Format { path: String, problem: String },
    #[error(transparent)]
    Ca(#[from] CaError),
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct RevokedFile {
    #[serde(default)]
    revoked: Vec<Revocation>,
}

/// Where a citizen's two key pairs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenEdsPaths {
    pub authentication_certificate: PathBuf,
    pub authentication_key: PathBuf,
    pub signing_certificate: PathBuf,
    pub signing_key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct CaDirectory {
    root: PathBuf,
}

impl CaDirectory {
    /// Creates a new CA in `root`.
    pub fn init(
        root: &Path,
        name: &str,
        validity: Duration,
        force: bool,
    ) -> Result<CaDirectory, CaDirError> {
        let dir = CaDirectory {
            root: root.to_owned(),
        };
        if dir.ca_certificate_path().exists() && !force {
            return Err(CaDirError::Exists(root.display().to_string()));
        }
        let ca = CertificateAuthority::create(name, Utc::now(), validity)?;
        dir.write(&dir.root.join("ca.key.pem"), &ca.private_key_pem(), true)?;
        dir.write(&dir.ca_certificate_path(), &ca.certificate_pem(), false)?;
        dir.write(&dir.root.join("revoked.toml"), "revoked = []\n", false)?;
        Ok(dir)
    }

    pub fn open(root: &Path) -> Result<CaDirectory, CaDirError> {
        let dir = CaDirectory {
            root: root.to_owned(),
        };
        if !dir.ca_certificate_path().exists() {
            return Err(CaDirError::Missing(root.display().to_string()));
        }
        Ok(dir)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn ca_certificate_path(&self) -> PathBuf {
        self.root.join("ca.crt.pem")
    }

    pub fn ca_certificate_der(&self) -> Result<Vec<u8>, CaDirError> {
        let path = self.ca_certificate_path();
        pem_block(&self.read(&path)?, "CERTIFICATE").map_err(|problem| CaDirError::Format {
            path: path.display().to_string(),
            problem,
        })
    }

    pub fn load(&self) -> Result<CertificateAuthority, CaDirError> {
        let certificate = self.read(&self.ca_certificate_path())?;
        let key = self.read(&self.root.join("ca.key.pem"))?;
        Ok(CertificateAuthority::from_pem(
            &certificate,
            &key,
            self.revocations()?,
        )?)
    }

    pub fn revocations(&self) -> Result<Vec<Revocation>, CaDirError> {
        let path = self.root.join("revoked.toml");
        if !path.exists() {
            return Ok(Vec::new());
        }
        let file: RevokedFile =
            toml::from_str(&self.read(&path)?).map_err(|e| CaDirError::Format {
                path: path.display().to_string(),
                problem: e.to_string(),
            })?;
        Ok(file.revoked)
    }

    /// Where a subject's certificate and key live (certificate, key).
    pub fn paths_for(&self, subject: &SubjectSpec) -> (PathBuf, PathBuf) {
        let stem = match subject {
            SubjectSpec::System(id) => self.root.join("systems").join(id.as_str()),
            SubjectSpec::Citizen { iin, .. } => self.root.join("citizens").join(iin.to_string()),
            SubjectSpec::Employee { iin, bin, .. } => {
                self.root.join("employees").join(format!("{iin}-{bin}"))
            }
        };
        (
            stem.with_extension("crt.pem"),
            stem.with_extension("key.pem"),
        )
    }

    /// Issues a certificate and writes it and its key next to the others.
    pub fn issue(
        &self,
        subject: &SubjectSpec,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<(Issued, PathBuf, PathBuf), CaDirError> {
        let issued = self.load()?.issue(subject, not_before, not_after)?;
        let (cert_path, key_path) = self.paths_for(subject);
        self.write(&key_path, &issued.private_key_pem(), true)?;
        self.write(&cert_path, &issued.certificate_pem(), false)?;
        Ok((issued, cert_path, key_path))
    }

    /// Where a TLS certificate and its key live (certificate, key).
    pub fn tls_paths(&self, subject: &TlsSubject) -> (PathBuf, PathBuf) {
        let tls = self.root.join("tls");
        let stem = match subject {
            TlsSubject::System(id) => tls.join(id.as_str()),
            TlsSubject::Operator(name) => tls.join("operators").join(name),
        };
        (
            stem.with_extension("crt.pem"),
            stem.with_extension("key.pem"),
        )
    }

    /// Issues a TLS certificate and writes it and its key.
    pub fn issue_tls(
        &self,
        subject: &TlsSubject,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<(Issued, PathBuf, PathBuf), CaDirError> {
        let issued = self.load()?.issue_tls(subject, not_before, not_after)?;
        let (cert_path, key_path) = self.tls_paths(subject);
        self.write(&key_path, &issued.private_key_pem(), true)?;
        self.write(&cert_path, &issued.certificate_pem(), false)?;
        Ok((issued, cert_path, key_path))
    }

    /// Where a citizen's EDS (authentication and signing pairs) lives.
    pub fn citizen_eds_paths(&self, iin: &Iin) -> CitizenEdsPaths {
        let dir = self.root.join("citizens").join(iin.to_string());
        CitizenEdsPaths {
            authentication_certificate: dir.join("auth.crt.pem"),
            authentication_key: dir.join("auth.key.pem"),
            signing_certificate: dir.join("sign.crt.pem"),
            signing_key: dir.join("sign.key.pem"),
        }
    }

    /// Issues a citizen's EDS (both pairs) and writes it; a new issue
    /// replaces the files of an earlier one.
    pub fn issue_citizen_eds(
        &self,
        iin: Iin,
        surname: &str,
        given_name: &str,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<(CitizenEds, CitizenEdsPaths), CaDirError> {
        let eds = self
            .load()?
            .issue_citizen(iin, surname, given_name, not_before, not_after)?;
        let paths = self.citizen_eds_paths(&iin);
        let auth = &eds.authentication;
        self.write(&paths.authentication_key, &auth.private_key_pem(), true)?;
        self.write(
            &paths.authentication_certificate,
            &auth.certificate_pem(),
            false,
        )?;
        self.write(&paths.signing_key, &eds.signing.private_key_pem(), true)?;
        self.write(
            &paths.signing_certificate,
            &eds.signing.certificate_pem(),
            false,
        )?;
        Ok((eds, paths))
    }

    /// Revokes by serial (hex) and records it in revoked.toml.
    pub fn revoke(&self, serial_hex: &str, reason: &str) -> Result<Revocation, CaDirError> {
        let ca = self.load()?;
        let revocation = ca.revoke(serial_hex, reason, Utc::now())?;
        let file = RevokedFile {
            revoked: ca.revocations(),
        };
        let text = toml::to_string(&file).map_err(|e| CaDirError::Format {
            path: "revoked.toml".into(),
            problem: e.to_string(),
        })?;
        self.write(&self.root.join("revoked.toml"), &text, false)?;
        Ok(revocation)
    }

    fn read(&self, path: &Path) -> Result<String, CaDirError> {
        std::fs::read_to_string(path).map_err(|source| CaDirError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes through a temporary file and a rename, so readers never see
    /// half a file; private keys are readable by the owner only.
    fn write(&self, path: &Path, contents: &str, private: bool) -> Result<(), CaDirError> {
        let io = |source| CaDirError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, contents).map_err(io)?;
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        #[cfg(not(unix))]
        let _ = private;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

impl CrlSource for CaDirectory {
    fn current_crl(&self) -> Result<Vec<u8>, String> {
        self.load()
            .map_err(|e| e.to_string())?
            .crl(Utc::now(), SERVED_CRL_VALIDITY)
            .map_err(|e| e.to_string())
    }
}
