//! End-to-end checks of the trust chain: issue, sign, verify, revoke, and the
//! revocation list fetched over real HTTP.

use crate::ca::{CertificateAuthority, SubjectSpec};
use crate::certificate::{CertError, Subject};
use crate::crl::{CrlSettings, CrlSource, serve_crl};
use crate::identity::Identity;
use crate::iin::{Bin, Iin};
use crate::system::SystemId;
use crate::trust_store::TrustStore;
use chrono::{Duration, Utc};
use std::sync::Arc;

pub(crate) fn ca() -> Arc<CertificateAuthority> {
    Arc::new(CertificateAuthority::create("test CA", Utc::now(), Duration::days(365)).unwrap())
}

pub(crate) fn year() -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    (
        Utc::now() - Duration::hours(1),
        Utc::now() + Duration::days(365),
    )
}

/// Starts a CRL distribution point on a free port; returns its URL.
pub(crate) async fn distribution_point(source: Arc<CertificateAuthority>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/crl", listener.local_addr().unwrap());
    let pem = source.certificate_pem();
    let source: Arc<dyn CrlSource> = source;
    tokio::spawn(serve_crl(listener, source, pem, std::future::pending()));
    url
}

pub(crate) fn settings(url: String, ttl_ms: u64) -> CrlSettings {
    CrlSettings {
        url,
        ttl: std::time::Duration::from_millis(ttl_ms),
        max_stale: std::time::Duration::from_secs(60),
        fetch_timeout: std::time::Duration::from_secs(5),
    }
}

#[test]
fn a_system_certificate_names_the_system_and_signs_verifiably() {
    let ca = ca();
    let (from, to) = year();
    let issued = ca
        .issue(&SubjectSpec::System(SystemId::Intake), from, to)
        .unwrap();
    assert_eq!(issued.info.subject, Subject::System(SystemId::Intake));
    let identity =
        Identity::from_der(issued.certificate_der.clone(), issued.signing_key()).unwrap();
    let signature = identity.key.sign(b"exact bytes");
    assert!(identity.certificate.verifies(b"exact bytes", &signature));
    assert!(!identity.certificate.verifies(b"exact bytez", &signature));
}

#[test]
fn citizen_and_employee_certificates_carry_iin_and_bin_as_nca_does() {
    let ca = ca();
    let (from, to) = year();
    let iin = Iin::parse("900101300017").unwrap();
    let citizen = ca
        .issue(
            &SubjectSpec::Citizen {
                iin,
                surname: "Абаев".into(),
                given_name: "Серік".into(),
            },
            from,
            to,
        )
        .unwrap();
    assert_eq!(
        citizen.info.subject,
        Subject::Citizen {
            iin,
            name: "Абаев Серік".into()
        }
    );
    let bin = Bin::parse("123456789012").unwrap();
    let employee = ca
        .issue(
            &SubjectSpec::Employee {
                iin,
                bin: bin.clone(),
                surname: "Абаев".into(),
                given_name: "Серік".into(),
                organisation: "Білім бөлімі".into(),
            },
            from,
            to,
        )
        .unwrap();
    assert!(matches!(employee.info.subject, Subject::Employee { bin: b, .. } if b == bin));
    // A person's certificate is not a system identity.
    assert!(Identity::from_der(citizen.certificate_der.clone(), citizen.signing_key()).is_err());
}

#[tokio::test]
async fn trust_store_tells_apart_foreign_expired_and_revoked_certificates() {
    let ca = ca();
    let url = distribution_point(ca.clone()).await;
    let trust = TrustStore::new(ca.certificate_der().to_vec(), settings(url, 0)).unwrap();
    let now = Utc::now();
    let (from, to) = year();

    let good = ca
        .issue(&SubjectSpec::System(SystemId::Portal), from, to)
        .unwrap();
    let cert = trust.parse(&good.certificate_der).unwrap();
    trust
        .check(&good.certificate_der, &cert, now)
        .await
        .unwrap();

    let other_ca = CertificateAuthority::create("rogue", now, Duration::days(1)).unwrap();
    let foreign = other_ca
        .issue(&SubjectSpec::System(SystemId::Portal), from, to)
        .unwrap();
    let cert = trust.parse(&foreign.certificate_der).unwrap();
    assert_eq!(
        trust.check(&foreign.certificate_der, &cert, now).await,
        Err(CertError::NotFromCa)
    );

    let expired = ca
        .issue(
            &SubjectSpec::System(SystemId::Portal),
            now - Duration::days(10),
            now - Duration::days(1),
        )
        .unwrap();
    let cert = trust.parse(&expired.certificate_der).unwrap();
    assert!(matches!(
        trust.check(&expired.certificate_der, &cert, now).await,
        Err(CertError::Expired(_))
    ));

    ca.revoke(&good.info.serial_hex(), "key_compromise", now)
        .unwrap();
    let cert = trust.parse(&good.certificate_der).unwrap();
    let revoked = trust.check(&good.certificate_der, &cert, Utc::now()).await;
    assert!(
        matches!(revoked, Err(CertError::Revoked { .. })),
        "{revoked:?}"
    );
    assert_eq!(revoked.unwrap_err().code(), "certificate_revoked");
}

#[tokio::test]
async fn a_cached_crl_is_used_until_its_ttl_then_refetched() {
    let ca = ca();
    let url = distribution_point(ca.clone()).await;
    let trust = TrustStore::new(ca.certificate_der().to_vec(), settings(url, 3_600_000)).unwrap();
    let (from, to) = year();
    let issued = ca
        .issue(&SubjectSpec::System(SystemId::Notary), from, to)
        .unwrap();
    let cert = trust.parse(&issued.certificate_der).unwrap();
    trust
        .check(&issued.certificate_der, &cert, Utc::now())
        .await
        .unwrap();

    ca.revoke(&issued.info.serial_hex(), "superseded", Utc::now())
        .unwrap();
    // Within the TTL the cached list still says "not revoked"...
    trust
        .check(&issued.certificate_der, &cert, Utc::now())
        .await
        .unwrap();
    // ...and a refresh (what the TTL's expiry triggers) brings the revocation.
    trust.revocation().refresh().await.unwrap();
    assert!(matches!(
        trust
            .check(&issued.certificate_der, &cert, Utc::now())
            .await,
        Err(CertError::Revoked { .. })
    ));
}

#[tokio::test]
async fn an_unreachable_distribution_point_fails_closed_without_a_cached_list() {
    let ca = ca();
    // A port nobody listens on: bind, read the port, drop the listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let trust = TrustStore::new(
        ca.certificate_der().to_vec(),
        settings(format!("http://127.0.0.1:{port}/crl"), 0),
    )
    .unwrap();
    let (from, to) = year();
    let issued = ca
        .issue(&SubjectSpec::System(SystemId::Notary), from, to)
        .unwrap();
    let cert = trust.parse(&issued.certificate_der).unwrap();
    let result = trust
        .check(&issued.certificate_der, &cert, Utc::now())
        .await;
    assert!(
        matches!(result, Err(CertError::RevocationUnknown(_))),
        "{result:?}"
    );
}

#[test]
fn a_crl_signed_by_another_ca_is_refused() {
    let ca = ca();
    let rogue = CertificateAuthority::create("rogue", Utc::now(), Duration::days(1)).unwrap();
    let crl = rogue.crl(Utc::now(), Duration::hours(1)).unwrap();
    let result = crate::crl::parse_verified_crl(&crl, ca.certificate_der(), Utc::now());
    assert!(result.is_err());
}

#[test]
fn the_ca_directory_round_trips_certificates_and_revocations() {
    let dir = std::env::temp_dir().join(format!("egov-ca-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cadir = crate::ca_dir::CaDirectory::init(&dir, "test", Duration::days(30), false).unwrap();
    assert!(crate::ca_dir::CaDirectory::init(&dir, "again", Duration::days(30), false).is_err());
    let (from, to) = year();
    let (issued, cert_path, key_path) = cadir
        .issue(&SubjectSpec::System(SystemId::Workstation), from, to)
        .unwrap();
    let identity = Identity::load(&cert_path, &key_path).unwrap();
    assert_eq!(identity.system, SystemId::Workstation);
    cadir
        .revoke(&issued.info.serial_hex(), "cessation_of_operation")
        .unwrap();
    let crl = cadir.current_crl().unwrap();
    let revoked =
        crate::crl::parse_verified_crl(&crl, &cadir.ca_certificate_der().unwrap(), Utc::now())
            .unwrap();
    assert!(revoked.contains_key(&issued.info.serial));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The OIDs of a certificate's extendedKeyUsage and certificatePolicies.
fn usage_oids(der: &[u8]) -> (Vec<String>, Vec<String>) {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    let mut ekus = Vec::new();
    let mut policies = Vec::new();
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::ExtendedKeyUsage(eku) => {
                if eku.client_auth {
                    ekus.push("clientAuth".to_owned());
                }
                if eku.email_protection {
                    ekus.push("emailProtection".to_owned());
                }
                ekus.extend(eku.other.iter().map(|oid| oid.to_id_string()));
            }
            ParsedExtension::CertificatePolicies(list) => {
                policies.extend(list.iter().map(|p| p.policy_id.to_id_string()));
            }
            _ => {}
        }
    }
    (ekus, policies)
}

#[test]
fn a_citizen_gets_an_authentication_and_a_signing_key_as_nca_issues_them() {
    use crate::certificate::KeyPurpose;
    let ca = ca();
    let (from, to) = year();
    let iin = Iin::parse("900101300017").unwrap();
    let eds = ca.issue_citizen(iin, "Абаев", "Серік", from, to).unwrap();
    let person = Subject::Citizen {
        iin,
        name: "Абаев Серік".into(),
    };
    assert_eq!(eds.authentication.info.subject, person);
    assert_eq!(eds.signing.info.subject, person);
    assert_ne!(eds.authentication.info.serial, eds.signing.info.serial);
    assert_ne!(
        eds.authentication.info.public_key(),
        eds.signing.info.public_key(),
        "two key pairs, not one key in two certificates"
    );

    let auth = &eds.authentication.info;
    assert!(auth.allows(KeyPurpose::Authentication));
    assert!(!auth.allows(KeyPurpose::Signing));
    let sign = &eds.signing.info;
    assert!(sign.allows(KeyPurpose::Signing));
    assert!(!sign.allows(KeyPurpose::Authentication));

    let (ekus, policies) = usage_oids(&eds.authentication.certificate_der);
    assert_eq!(ekus, ["clientAuth", "1.2.398.3.3.4.1.1"]);
    assert_eq!(policies, ["1.2.398.3.3.2.4"]);
    let (ekus, policies) = usage_oids(&eds.signing.certificate_der);
    assert_eq!(ekus, ["emailProtection", "1.2.398.3.3.4.1.1"]);
    assert_eq!(policies, ["1.2.398.3.3.2.3"]);

    // System certificates keep their single signing usage.
    let system = ca
        .issue(&SubjectSpec::System(SystemId::Portal), from, to)
        .unwrap();
    assert!(system.info.allows(KeyPurpose::Signing));
    assert!(!system.info.allows(KeyPurpose::Authentication));
}

#[test]
fn the_ca_directory_writes_a_citizens_two_key_pairs() {
    use crate::signing::{SigningKey, pem_block};
    let dir = std::env::temp_dir().join(format!("egov-ca-citizen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cadir = crate::ca_dir::CaDirectory::init(&dir, "test", Duration::days(30), false).unwrap();
    let iin = Iin::parse("900101300017").unwrap();
    let (from, to) = year();
    let (eds, paths) = cadir
        .issue_citizen_eds(iin, "Абаев", "Серік", from, to)
        .unwrap();
    assert_eq!(paths, cadir.citizen_eds_paths(&iin));
    assert_eq!(
        paths.signing_certificate,
        dir.join("citizens/900101300017/sign.crt.pem")
    );
    for (certificate, key, issued) in [
        (
            &paths.authentication_certificate,
            &paths.authentication_key,
            &eds.authentication,
        ),
        (&paths.signing_certificate, &paths.signing_key, &eds.signing),
    ] {
        let pem = std::fs::read_to_string(certificate).unwrap();
        assert_eq!(
            pem_block(&pem, "CERTIFICATE").unwrap(),
            issued.certificate_der
        );
        let key = SigningKey::from_pem(&std::fs::read_to_string(key).unwrap()).unwrap();
        assert_eq!(key.public_key(), issued.info.public_key());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_certificates_name_their_system_or_operator_and_sign_nothing() {
    use crate::ca::{TlsSubject, tls_server_names};
    use crate::certificate::KeyPurpose;
    use x509_parser::prelude::*;
    let ca = ca();
    let (from, to) = year();
    let system = ca
        .issue_tls(&TlsSubject::System(SystemId::Gateway), from, to)
        .unwrap();
    assert_eq!(system.info.subject, Subject::System(SystemId::Gateway));
    assert!(system.info.allows(KeyPurpose::Authentication));
    assert!(!system.info.allows(KeyPurpose::Signing));
    let (_, parsed) = X509Certificate::from_der(&system.certificate_der).unwrap();
    let eku = parsed.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth);
    let san = parsed.subject_alternative_name().unwrap().unwrap().value;
    let names: Vec<String> = san
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(ip) if ip.len() == 4 => {
                Some(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string())
            }
            GeneralName::IPAddress(ip) if ip.len() == 16 => {
                let bytes: [u8; 16] = (*ip).try_into().unwrap();
                Some(std::net::Ipv6Addr::from(bytes).to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(names, tls_server_names(SystemId::Gateway));

    let operator = ca
        .issue_tls(&TlsSubject::operator("egovctl").unwrap(), from, to)
        .unwrap();
    assert_eq!(
        operator.info.subject,
        Subject::Operator {
            name: "egovctl".into()
        }
    );
    assert!(operator.info.allows(KeyPurpose::Authentication));
    assert!(!operator.info.allows(KeyPurpose::Signing));
    let (_, parsed) = X509Certificate::from_der(&operator.certificate_der).unwrap();
    let eku = parsed.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);

    for bad in ["", "a b", "a/b", "a.b", &"x".repeat(65)] {
        assert!(TlsSubject::operator(bad).is_err(), "{bad:?}");
    }
}
