//! The checks every receiver of a signed message makes on the signer's
//! certificate: issued by the mesh CA, within its validity, not revoked.
//!
//! Parsing and the CA signature check are cached by certificate fingerprint
//! (a system signs every message with the same certificate); validity and
//! revocation are checked on every use.

use crate::certificate::{CertError, CertificateInfo, KeyPurpose};
use crate::crl::{CrlCache, CrlSettings};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use x509_parser::prelude::*;

/// Upper bound on cached certificates; the cache is cleared when reached
/// (the mesh has a handful of system certificates, so this only bounds abuse).
const MAX_CACHED: usize = 10_000;

pub struct TrustStore {
    ca_der: Vec<u8>,
    revocation: CrlCache,
    /// Certificates already parsed and found issued by the CA.
    issued_by_ca: Mutex<HashMap<[u8; 32], Arc<CertificateInfo>>>,
}

impl TrustStore {
    pub fn new(ca_der: Vec<u8>, crl: CrlSettings) -> Result<TrustStore, CertError> {
        X509Certificate::from_der(&ca_der)
            .map_err(|e| CertError::Malformed(format!("CA certificate: {e}")))?;
        Ok(TrustStore {
            revocation: CrlCache::new(crl, ca_der.clone()),
            ca_der,
            issued_by_ca: Mutex::new(HashMap::new()),
        })
    }

    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    pub fn revocation(&self) -> &CrlCache {
        &self.revocation
    }

    /// Parses a certificate (cached when already known to be the CA's).
    pub fn parse(&self, der: &[u8]) -> Result<Arc<CertificateInfo>, CertError> {
        let fingerprint = crate::signing::sha256(der);
        if let Some(known) = self.cached(&fingerprint) {
            return Ok(known);
        }
        CertificateInfo::parse(der).map(Arc::new)
    }

    /// Checks, in this order and each with its own error: issued by the mesh
    /// CA; valid at `now`; not revoked.
    pub async fn check(
        &self,
        der: &[u8],
        cert: &Arc<CertificateInfo>,
        now: DateTime<Utc>,
    ) -> Result<(), CertError> {
        self.check_issued_by_ca(der, cert)?;
        cert.check_validity(now)?;
        if let Some(at) = self.revocation.revoked_at(&cert.serial).await? {
            return Err(CertError::Revoked {
                serial: cert.serial_hex(),
                at,
            });
        }
        Ok(())
    }

    /// [`TrustStore::check`], and that the certificate is one for signing
    /// messages: what a message's or a credential's signer must pass, so a
    /// TLS key, which opens connections, signs nothing (issue 14).
    pub async fn check_signer(
        &self,
        der: &[u8],
        cert: &Arc<CertificateInfo>,
        now: DateTime<Utc>,
    ) -> Result<(), CertError> {
        self.check(der, cert, now).await?;
        if cert.allows(KeyPurpose::Signing) {
            Ok(())
        } else {
            Err(CertError::NotForSigning)
        }
    }

    /// Whether the CA signed this certificate (cached on success).
    pub fn check_issued_by_ca(
        &self,
        der: &[u8],
        cert: &Arc<CertificateInfo>,
    ) -> Result<(), CertError> {
        if self.cached(&cert.fingerprint).is_some() {
            return Ok(());
        }
        issued_by(&self.ca_der, der)?;
        let mut cache = self.issued_by_ca.lock().expect("certificate cache lock");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(cert.fingerprint, cert.clone());
        Ok(())
    }

    fn cached(&self, fingerprint: &[u8; 32]) -> Option<Arc<CertificateInfo>> {
        self.issued_by_ca
            .lock()
            .expect("certificate cache lock")
            .get(fingerprint)
            .cloned()
    }
}

/// Whether the CA (`ca_der`) signed this certificate, with nothing cached
/// and no revocation list: the check an offline verifier makes with only
/// the CA certificate in hand.
pub fn issued_by(ca_der: &[u8], der: &[u8]) -> Result<(), CertError> {
    let (_, ca) = X509Certificate::from_der(ca_der)
        .map_err(|e| CertError::Malformed(format!("CA certificate: {e}")))?;
    let (_, parsed) =
        X509Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
    // The CA's signature covers only the TBS part: the bytes around it
    // must be the one encoding of this certificate, or one certificate
    // travels as many byte strings (found by `make fuzz`, target
    // verify: a bit string claiming unused bits, a re-encoded outer
    // algorithm). Strict DER, the outer algorithm the inner one, the
    // signature whole bytes.
    use x509_cert::der::{Decode, Encode};
    let strict = x509_cert::Certificate::from_der(der)
        .map_err(|e| CertError::Malformed(format!("not DER: {e}")))?;
    if strict.to_der().ok().as_deref() != Some(der)
        || strict.signature_algorithm != strict.tbs_certificate.signature
        || parsed.signature_value.unused_bits != 0
    {
        return Err(CertError::Malformed(
            "not the one DER encoding of a certificate".into(),
        ));
    }
    if parsed.issuer() != ca.subject() || parsed.verify_signature(Some(ca.public_key())).is_err() {
        return Err(CertError::NotFromCa);
    }
    Ok(())
}

/// Whether `der` is a CA certificate (X.509 with basicConstraints cA): what
/// an offline verifier is given to trust. Says why not.
pub fn check_ca(der: &[u8]) -> Result<(), String> {
    let (_, ca) =
        X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    if !ca.is_ca() {
        return Err(format!("{} is not a certification authority", ca.subject()));
    }
    Ok(())
}
