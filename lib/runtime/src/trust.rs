//! A service's identity and trust store, from its settings.

use crate::settings::{FieldErrors, Validate};
use egov_trust::{CrlSettings, Identity, TrustStore};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSettings {
    /// The mesh CA's certificate (PEM).
    pub ca_certificate: PathBuf,
    /// This system's certificate and PKCS#8 private key (PEM).
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    /// The CA's revocation list distribution point.
    pub crl_url: String,
    #[serde(with = "crate::settings::duration", default = "default_crl_ttl")]
    pub crl_ttl: Duration,
    #[serde(with = "crate::settings::duration", default = "default_crl_max_stale")]
    pub crl_max_stale: Duration,
    #[serde(with = "crate::settings::duration", default = "default_crl_timeout")]
    pub crl_fetch_timeout: Duration,
}

fn default_crl_ttl() -> Duration {
    Duration::from_secs(60)
}
fn default_crl_max_stale() -> Duration {
    Duration::from_secs(3600)
}
fn default_crl_timeout() -> Duration {
    Duration::from_secs(5)
}

impl Validate for TrustSettings {
    fn validate(&self, errors: &mut FieldErrors) {
        for (field, path) in [
            ("trust.ca_certificate", &self.ca_certificate),
            ("trust.certificate", &self.certificate),
            ("trust.private_key", &self.private_key),
        ] {
            errors.check(
                path.is_file(),
                field,
                format!("{} is not a readable file", path.display()),
            );
        }
        errors.check(
            self.crl_url.starts_with("http://") || self.crl_url.starts_with("https://"),
            "trust.crl_url",
            "must be an http:// URL",
        );
        errors.check(
            self.crl_max_stale >= self.crl_ttl,
            "trust.crl_max_stale",
            "must be at least crl_ttl",
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrustLoadError {
    #[error(transparent)]
    Identity(#[from] egov_trust::identity::IdentityError),
    #[error("{path}: {problem}")]
    Ca { path: String, problem: String },
}

impl TrustSettings {
    pub fn crl(&self) -> CrlSettings {
        CrlSettings {
            url: self.crl_url.clone(),
            ttl: self.crl_ttl,
            max_stale: self.crl_max_stale,
            fetch_timeout: self.crl_fetch_timeout,
        }
    }

    /// Loads this system's identity and the trust store.
    pub fn load(&self) -> Result<(Arc<Identity>, Arc<TrustStore>), TrustLoadError> {
        let identity = Identity::load(&self.certificate, &self.private_key)?;
        let ca_error = |problem: String| TrustLoadError::Ca {
            path: self.ca_certificate.display().to_string(),
            problem,
        };
        let pem =
            std::fs::read_to_string(&self.ca_certificate).map_err(|e| ca_error(e.to_string()))?;
        let der = egov_trust::signing::pem_block(&pem, "CERTIFICATE").map_err(ca_error)?;
        let trust = TrustStore::new(der, self.crl()).map_err(|e| ca_error(e.to_string()))?;
        Ok((Arc::new(identity), Arc::new(trust)))
    }
}
