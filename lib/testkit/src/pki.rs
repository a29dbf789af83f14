//! A mesh CA for one test: its CRL distribution point serves on a free port,
//! and every certificate and key is also written to a temporary directory,
//! because services read them from files as in production.

use chrono::{Duration, Utc};
use egov_trust::{
    CertificateAuthority, CrlSettings, Identity, Issued, SubjectSpec, SystemId, TrustStore,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct TestPki {
    pub ca: Arc<CertificateAuthority>,
    pub crl_url: String,
    dir: PathBuf,
    issued: Mutex<HashMap<SystemId, Arc<Issued>>>,
    /// Stops the CRL server when the fixture is dropped.
    stop: tokio::sync::watch::Sender<bool>,
    /// The distribution point's state, switched by the test.
    distribution: Arc<Distribution>,
}

/// The test's CRL distribution point: the CA's current list, or, while
/// `down`, an error (HTTP 500) as from a distribution point that is away.
struct Distribution {
    ca: Arc<CertificateAuthority>,
    down: AtomicBool,
    /// Requests answered with an error while down.
    failed: AtomicU64,
}

impl egov_trust::CrlSource for Distribution {
    fn current_crl(&self) -> Result<Vec<u8>, String> {
        if self.down.load(Ordering::SeqCst) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err("test: the CRL distribution point is down".to_owned());
        }
        self.ca.current_crl()
    }
}

impl TestPki {
    pub async fn new() -> TestPki {
        let ca = Arc::new(
            CertificateAuthority::create("egov-mesh test CA", Utc::now(), Duration::days(30))
                .expect("create the test CA"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the CRL server");
        let crl_url = format!("http://{}/crl", listener.local_addr().expect("address"));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let distribution = Arc::new(Distribution {
            ca: ca.clone(),
            down: AtomicBool::new(false),
            failed: AtomicU64::new(0),
        });
        let source: Arc<dyn egov_trust::CrlSource> = distribution.clone();
        tokio::spawn(egov_trust::crl::serve_crl(
            listener,
            source,
            ca.certificate_pem(),
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            },
        ));
        let dir = std::env::temp_dir().join(crate::env::unique_name("egov-pki-"));
        std::fs::create_dir_all(&dir).expect("create the PKI directory");
        std::fs::write(dir.join("ca.crt.pem"), ca.certificate_pem()).expect("write CA certificate");
        TestPki {
            ca,
            crl_url,
            dir,
            issued: Mutex::new(HashMap::new()),
            stop,
            distribution,
        }
    }

    /// Takes the CRL distribution point down (every request for the list
    /// fails, as when it is unreachable) or brings it back.
    pub fn set_crl_down(&self, down: bool) {
        self.distribution.down.store(down, Ordering::SeqCst);
    }

    /// How many requests for the list failed because it was down: a test
    /// sees from it that a system kept asking.
    pub fn crl_requests_failed(&self) -> u64 {
        self.distribution.failed.load(Ordering::SeqCst)
    }

    pub fn ca_certificate_path(&self) -> PathBuf {
        self.dir.join("ca.crt.pem")
    }

    /// The system's certificate (issued once, valid for a day).
    pub fn issued(&self, system: SystemId) -> Arc<Issued> {
        let mut issued = self.issued.lock().expect("pki lock");
        issued
            .entry(system)
            .or_insert_with(|| {
                let made = self
                    .ca
                    .issue(
                        &SubjectSpec::System(system),
                        Utc::now() - Duration::hours(1),
                        Utc::now() + Duration::days(1),
                    )
                    .expect("issue a system certificate");
                std::fs::write(self.cert_path(system), made.certificate_pem())
                    .expect("write certificate");
                std::fs::write(self.key_path(system), made.private_key_pem()).expect("write key");
                Arc::new(made)
            })
            .clone()
    }

    pub fn identity(&self, system: SystemId) -> Arc<Identity> {
        let issued = self.issued(system);
        Arc::new(
            Identity::from_der(issued.certificate_der.clone(), issued.signing_key())
                .expect("a system identity"),
        )
    }

    /// An identity whose certificate is valid from/until the given times.
    pub fn identity_valid(
        &self,
        system: SystemId,
        from: chrono::DateTime<Utc>,
        until: chrono::DateTime<Utc>,
    ) -> Arc<Identity> {
        let issued = self
            .ca
            .issue(&SubjectSpec::System(system), from, until)
            .expect("issue");
        Arc::new(
            Identity::from_der(issued.certificate_der.clone(), issued.signing_key())
                .expect("identity"),
        )
    }

    /// A fresh identity for `system` that the test may revoke.
    pub fn revocable_identity(&self, system: SystemId) -> (Arc<Identity>, String) {
        let issued = self
            .ca
            .issue(
                &SubjectSpec::System(system),
                Utc::now() - Duration::hours(1),
                Utc::now() + Duration::days(1),
            )
            .expect("issue");
        let serial = issued.info.serial_hex();
        (
            Arc::new(
                Identity::from_der(issued.certificate_der.clone(), issued.signing_key())
                    .expect("identity"),
            ),
            serial,
        )
    }

    /// An identity holding `system`'s TLS certificate and key (its key opens
    /// connections; the mesh refuses what it signs).
    pub fn tls_identity(&self, system: SystemId) -> Arc<Identity> {
        let issued = self
            .ca
            .issue_tls(
                &egov_trust::TlsSubject::System(system),
                Utc::now() - Duration::hours(1),
                Utc::now() + Duration::days(1),
            )
            .expect("issue a TLS certificate");
        Arc::new(
            Identity::from_der(issued.certificate_der.clone(), issued.signing_key())
                .expect("identity"),
        )
    }

    pub fn revoke(&self, serial_hex: &str) {
        self.ca
            .revoke(serial_hex, "key_compromise", Utc::now())
            .expect("revoke");
    }

    /// A trust store as a system would build it (CRL fetched on every check,
    /// so revocations show at once).
    pub fn trust(&self) -> Arc<TrustStore> {
        Arc::new(
            TrustStore::new(
                self.ca.certificate_der().to_vec(),
                CrlSettings {
                    url: self.crl_url.clone(),
                    ttl: std::time::Duration::ZERO,
                    max_stale: std::time::Duration::from_secs(60),
                    fetch_timeout: std::time::Duration::from_secs(5),
                },
            )
            .expect("trust store"),
        )
    }

    pub fn cert_path(&self, system: SystemId) -> PathBuf {
        self.dir.join(format!("{system}.crt.pem"))
    }

    pub fn key_path(&self, system: SystemId) -> PathBuf {
        self.dir.join(format!("{system}.key.pem"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
