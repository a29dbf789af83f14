//! Certificate revocation over HTTP: the CA's distribution point (a small
//! axum server) and the client-side cache every system keeps.
//!
//! A cached list is used for `ttl`; after that the next check fetches a new
//! one. If the distribution point cannot be reached, a stale list is still
//! used up to `max_stale`, and after that checks fail closed with
//! `revocation_status_unavailable` (as X-Road stops accepting messages when
//! its OCSP/timestamp data is too old, gateway-anchors.md §1.5).

use crate::ca::CertificateAuthority;
use crate::certificate::CertError;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::time::Instant;
use x509_parser::prelude::*;

/// Where the distribution point gets the current CRL from.
pub trait CrlSource: Send + Sync + 'static {
    /// The current CRL, DER.
    fn current_crl(&self) -> Result<Vec<u8>, String>;
}

/// How long a CRL served by the distribution point says it is valid.
pub const SERVED_CRL_VALIDITY: chrono::Duration = chrono::Duration::hours(1);

impl CrlSource for CertificateAuthority {
    fn current_crl(&self) -> Result<Vec<u8>, String> {
        self.crl(Utc::now(), SERVED_CRL_VALIDITY)
            .map_err(|e| e.to_string())
    }
}

impl<T: CrlSource> CrlSource for Arc<T> {
    fn current_crl(&self) -> Result<Vec<u8>, String> {
        (**self).current_crl()
    }
}

/// The CRL distribution point: `GET /crl` returns the current CRL
/// (`application/pkix-crl`), `GET /ca.crt` the CA certificate (PEM).
pub fn crl_router(source: Arc<dyn CrlSource>, ca_certificate_pem: String) -> axum::Router {
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/crl",
            get(move || {
                let source = source.clone();
                async move {
                    match source.current_crl() {
                        Ok(der) => Ok(([(header::CONTENT_TYPE, "application/pkix-crl")], der)),
                        Err(error) => {
                            tracing::error!(%error, "Failed to produce the CRL.");
                            Err((StatusCode::INTERNAL_SERVER_ERROR, error))
                        }
                    }
                }
            }),
        )
        .route(
            "/ca.crt",
            get(move || {
                let pem = ca_certificate_pem.clone();
                async move { ([(header::CONTENT_TYPE, "application/x-pem-file")], pem) }
            }),
        )
}

/// Serves the distribution point on `listener` until `shutdown` completes.
pub async fn serve_crl(
    listener: tokio::net::TcpListener,
    source: Arc<dyn CrlSource>,
    ca_certificate_pem: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, crl_router(source, ca_certificate_pem))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Settings of the client-side cache.
#[derive(Debug, Clone)]
pub struct CrlSettings {
    pub url: String,
    /// How long a fetched list is used before fetching again.
    pub ttl: Duration,
    /// How long a stale list may still be used while the distribution point
    /// is unreachable.
    pub max_stale: Duration,
    /// Timeout of one fetch.
    pub fetch_timeout: Duration,
}

struct Fetched {
    revoked: HashMap<Vec<u8>, DateTime<Utc>>,
    fetched_at: Instant,
}

/// The revocation list as this system last fetched it.
pub struct CrlCache {
    settings: CrlSettings,
    client: reqwest::Client,
    ca_der: Vec<u8>,
    current: RwLock<Option<Arc<Fetched>>>,
    /// One fetch at a time; others wait for its result.
    refreshing: tokio::sync::Mutex<()>,
}

impl CrlCache {
    pub fn new(settings: CrlSettings, ca_der: Vec<u8>) -> CrlCache {
        let client = reqwest::Client::builder()
            .timeout(settings.fetch_timeout)
            .build()
            .expect("HTTP client without TLS always builds");
        CrlCache {
            settings,
            client,
            ca_der,
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// When the certificate with this serial was revoked, if it was.
    pub async fn revoked_at(&self, serial: &[u8]) -> Result<Option<DateTime<Utc>>, CertError> {
        let list = self.list().await?;
        Ok(list.revoked.get(strip_leading_zeros(serial)).copied())
    }

    /// Fetches the list now, whatever the cache holds.
    pub async fn refresh(&self) -> Result<(), CertError> {
        let _guard = self.refreshing.lock().await;
        self.fetch_and_store().await.map(|_| ())
    }

    async fn list(&self) -> Result<Arc<Fetched>, CertError> {
        if let Some(fresh) = self.fresh() {
            return Ok(fresh);
        }
        let _guard = self.refreshing.lock().await;
        // Someone else may have fetched while we waited for the lock.
        if let Some(fresh) = self.fresh() {
            return Ok(fresh);
        }
        match self.fetch_and_store().await {
            Ok(list) => Ok(list),
            Err(error) => {
                let stale = self.current.read().expect("crl lock").clone();
                match stale {
                    Some(list) if list.fetched_at.elapsed() < self.settings.max_stale => {
                        tracing::warn!(%error, url = %self.settings.url, "Using a stale CRL: the distribution point is unreachable.");
                        Ok(list)
                    }
                    _ => Err(error),
                }
            }
        }
    }

    fn fresh(&self) -> Option<Arc<Fetched>> {
        let current = self.current.read().expect("crl lock");
        current
            .as_ref()
            .filter(|list| list.fetched_at.elapsed() < self.settings.ttl)
            .cloned()
    }

    async fn fetch_and_store(&self) -> Result<Arc<Fetched>, CertError> {
        let unavailable = |what: String| CertError::RevocationUnknown(what);
        let response = self
            .client
            .get(&self.settings.url)
            .send()
            .await
            .map_err(|e| unavailable(format!("fetching {}: {e}", self.settings.url)))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "{} answered {}",
                self.settings.url,
                response.status()
            )));
        }
        let der = response
            .bytes()
            .await
            .map_err(|e| unavailable(format!("reading {}: {e}", self.settings.url)))?;
        let revoked = parse_verified_crl(&der, &self.ca_der, Utc::now()).map_err(unavailable)?;
        let list = Arc::new(Fetched {
            revoked,
            fetched_at: Instant::now(),
        });
        *self.current.write().expect("crl lock") = Some(list.clone());
        tracing::debug!(url = %self.settings.url, revoked = list.revoked.len(), "Fetched the CRL.");
        Ok(list)
    }
}

/// Parses a CRL, checks it is signed by the CA and still current, and
/// returns the revoked serials with their revocation times.
pub fn parse_verified_crl(
    der: &[u8],
    ca_der: &[u8],
    now: DateTime<Utc>,
) -> Result<HashMap<Vec<u8>, DateTime<Utc>>, String> {
    let (_, ca) = X509Certificate::from_der(ca_der).map_err(|e| format!("CA certificate: {e}"))?;
    let (_, crl) = parse_x509_crl(der).map_err(|e| format!("CRL does not parse: {e}"))?;
    crl.verify_signature(ca.public_key())
        .map_err(|_| "CRL is not signed by the mesh CA".to_owned())?;
    if let Some(next) = crl.next_update()
        && next.timestamp() < now.timestamp()
    {
        return Err(format!("CRL expired at {next}"));
    }
    Ok(crl
        .iter_revoked_certificates()
        .map(|r| {
            let at = DateTime::from_timestamp(r.revocation_date.timestamp(), 0)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            (strip_leading_zeros(r.raw_serial()).to_vec(), at)
        })
        .collect())
}

/// DER integers may carry a leading zero byte; compare serials without it.
fn strip_leading_zeros(serial: &[u8]) -> &[u8] {
    let first = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    &serial[first..]
}
