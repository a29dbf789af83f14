//! Mutual TLS for a test's services (issue 14 point 1): TLS certificates
//! from the test's CA, the settings that turn a port's TLS on, clients that
//! present a certificate, and the checks every TLS port must pass —
//! [`check_mutual_tls_port`]: a client with a valid certificate of the mesh
//! CA is served; one without a certificate, with one of another CA, with a
//! revoked one, with a signing (not TLS) certificate, or speaking plaintext,
//! is not.

use crate::mesh::TestMesh;
use crate::pki::TestPki;
use chrono::{Duration, Utc};
use egov_runtime::tls::ClientTls;
use egov_trust::{CertificateAuthority, Issued, SubjectSpec, SystemId, TlsSubject};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

impl TestPki {
    /// A TLS certificate (valid for a day), written beside the others as
    /// `tls-<system>` or `tls-operator-<name>` `.crt.pem`/`.key.pem`.
    pub fn tls(&self, subject: &TlsSubject) -> (Issued, PathBuf, PathBuf) {
        let issued = self
            .ca
            .issue_tls(
                subject,
                Utc::now() - Duration::hours(1),
                Utc::now() + Duration::days(1),
            )
            .expect("issue a TLS certificate");
        let stem = match subject {
            TlsSubject::System(id) => format!("tls-{id}"),
            TlsSubject::Operator(name) => format!("tls-operator-{name}"),
        };
        let certificate = self.dir().join(format!("{stem}.crt.pem"));
        let key = self.dir().join(format!("{stem}.key.pem"));
        std::fs::write(&certificate, issued.certificate_pem()).expect("write the certificate");
        std::fs::write(&key, issued.private_key_pem()).expect("write the key");
        (issued, certificate, key)
    }

    /// A client presenting a fresh TLS certificate of `subject`, trusting
    /// the test's CA; and the certificate's serial (to revoke it).
    pub fn client_tls(&self, subject: &TlsSubject) -> (ClientTls, String) {
        let (issued, _, _) = self.tls(subject);
        (
            ClientTls::from_pem(
                self.ca.certificate_pem(),
                issued.certificate_pem(),
                issued.private_key_pem(),
            ),
            issued.info.serial_hex(),
        )
    }
}

impl TestMesh {
    /// The settings that serve `system`'s gRPC port with mutual TLS (a
    /// fresh TLS certificate of the test's CA), to add to [`TestMesh::env`].
    pub fn tls_env(&self, system: SystemId) -> HashMap<String, String> {
        let (_, certificate, key) = self.pki.tls(&TlsSubject::System(system));
        [
            ("EGOV__GRPC__TLS", "mutual".to_owned()),
            (
                "EGOV__GRPC__TLS_CERTIFICATE",
                certificate.display().to_string(),
            ),
            ("EGOV__GRPC__TLS_PRIVATE_KEY", key.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// The health of `system` at `address` asked over `tls` (plaintext
/// without): the status, or why the call failed.
pub async fn health_over(
    address: SocketAddr,
    system: SystemId,
    tls: Option<&ClientTls>,
) -> Result<ServingStatus, String> {
    let ask = async {
        let channel = egov_runtime::tls::endpoint(&address.to_string(), system, tls)
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| format!("connect: {e:?}"))?;
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map_err(|e| format!("call: {e:?}"))?;
        Ok(answer.into_inner().status())
    };
    tokio::time::timeout(crate::service::PATIENCE, ask)
        .await
        .unwrap_or_else(|_| Err("no answer in time".to_owned()))
}

/// Waits until `system` at `address` answers SERVING to a client over
/// `tls` (plaintext without): the service may still be starting.
pub async fn wait_serving(address: SocketAddr, system: SystemId, tls: Option<&ClientTls>) {
    crate::wait::until(
        crate::service::PATIENCE,
        &format!(
            "{system} serves over {}",
            if tls.is_some() {
                "mutual TLS"
            } else {
                "plaintext"
            }
        ),
        || async {
            match health_over(address, system, tls).await {
                Ok(ServingStatus::Serving) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
}

/// A client of a CA the mesh does not trust (for the server it trusts the
/// mesh CA, so only its own certificate is foreign).
fn foreign_client(pki: &TestPki) -> ClientTls {
    let foreign = CertificateAuthority::create("foreign CA", Utc::now(), Duration::days(1))
        .expect("a foreign CA");
    let issued = foreign
        .issue_tls(
            &TlsSubject::System(SystemId::Portal),
            Utc::now() - Duration::hours(1),
            Utc::now() + Duration::days(1),
        )
        .expect("a foreign certificate");
    ClientTls::from_pem(
        pki.ca.certificate_pem(),
        issued.certificate_pem(),
        issued.private_key_pem(),
    )
}

/// A client presenting a system's signing certificate (no clientAuth).
fn signing_client(pki: &TestPki) -> ClientTls {
    let issued = pki
        .ca
        .issue(
            &SubjectSpec::System(SystemId::Portal),
            Utc::now() - Duration::hours(1),
            Utc::now() + Duration::days(1),
        )
        .expect("a signing certificate");
    ClientTls::from_pem(
        pki.ca.certificate_pem(),
        issued.certificate_pem(),
        issued.private_key_pem(),
    )
}

/// The health of `system` at `address` asked over TLS trusting the CA of
/// `ca_certificate_pem`, presenting no client certificate.
pub async fn anonymous_health(
    address: SocketAddr,
    system: SystemId,
    ca_certificate_pem: &str,
) -> Result<ServingStatus, String> {
    let config = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca_certificate_pem))
        .domain_name(system.as_str());
    let ask = async {
        let channel = tonic::transport::Endpoint::from_shared(format!("https://{address}"))
            .map_err(|e| e.to_string())?
            .tls_config(config)
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| format!("connect: {e:?}"))?;
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map_err(|e| format!("call: {e:?}"))?;
        Ok(answer.into_inner().status())
    };
    tokio::time::timeout(crate::service::PATIENCE, ask)
        .await
        .unwrap_or_else(|_| Err("no answer in time".to_owned()))
}

/// What every gRPC port with `grpc.tls = "mutual"` must do, checked on
/// `system`'s at `address` (a service of `mesh`, SERVING): serve a client
/// with a valid TLS certificate of the mesh CA (a system's and an
/// operator's), and refuse one without a certificate, one of another CA,
/// one whose certificate is revoked (refused from the next connection on,
/// the CRL fetched as the trust settings say), one presenting a signing
/// certificate, and a plaintext client.
pub async fn check_mutual_tls_port(address: SocketAddr, system: SystemId, mesh: &TestMesh) {
    let pki = &mesh.pki;
    let (portal, _) = pki.client_tls(&TlsSubject::System(SystemId::Portal));
    wait_serving(address, system, Some(&portal)).await;
    let (operator, serial) = pki.client_tls(&TlsSubject::operator("tester").expect("a name"));
    assert_eq!(
        health_over(address, system, Some(&operator)).await,
        Ok(ServingStatus::Serving),
        "{system}: an operator's valid certificate"
    );

    let anonymous = anonymous_health(address, system, &pki.ca.certificate_pem()).await;
    assert!(
        anonymous.is_err(),
        "{system}: no certificate: {anonymous:?}"
    );
    let foreign = health_over(address, system, Some(&foreign_client(pki))).await;
    assert!(foreign.is_err(), "{system}: another CA's: {foreign:?}");
    let signing = health_over(address, system, Some(&signing_client(pki))).await;
    assert!(
        signing.is_err(),
        "{system}: a signing certificate: {signing:?}"
    );
    let plaintext = health_over(address, system, None).await;
    assert!(plaintext.is_err(), "{system}: plaintext: {plaintext:?}");

    pki.revoke(&serial);
    // The service fetches the CRL as its trust settings say: at once with
    // the test's crl_ttl of 0, within the TTL otherwise.
    let refused = crate::wait::until(
        crate::service::PATIENCE,
        &format!("{system} refuses the revoked certificate"),
        || async {
            match health_over(address, system, Some(&operator)).await {
                Err(refused) => Ok(refused),
                Ok(status) => Err(format!("still served: {status:?}")),
            }
        },
    )
    .await;
    assert!(!refused.is_empty());
    // And a valid one is still served.
    assert_eq!(
        health_over(address, system, Some(&portal)).await,
        Ok(ServingStatus::Serving),
        "{system}: a valid certificate after a revocation"
    );
}
