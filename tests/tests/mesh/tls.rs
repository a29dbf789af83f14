//! Mutual TLS on every gRPC port of the mesh (issue 14 point 1), every
//! system its own process: each of the six ports refuses a client without a
//! certificate and one whose certificate the CA has revoked, and serves one
//! with a valid certificate; egovctl presents its operator certificate; a
//! portal application goes through to its signed result (the systems talk
//! through RabbitMQ, so only the gRPC ports change).

use crate::mesh::{Mesh, Options, PATIENCE, SYSTEMS};
use chrono::{Duration as Days, Utc};
use egov_proto::portal::Stage;
use egov_runtime::tls::ClientTls;
use egov_testkit::tls::{anonymous_health, health_over};
use egov_testkit::wait;
use egov_trust::TlsSubject;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn mutual_tls_on_every_port_and_a_portal_application_reaches_its_result() {
    let mesh = Mesh::start(Options {
        tls: true,
        ..Options::default()
    })
    .await;
    let ca_pem = std::fs::read_to_string(mesh.ca_certificate()).expect("the CA certificate");

    // An operator's certificate of the mesh CA, good on every port until
    // `egovctl pki revoke` revokes it.
    let now = Utc::now();
    let operator = TlsSubject::operator("tls-tester").expect("a name");
    let (issued, certificate, key) = mesh
        .ca
        .issue_tls(&operator, now - Days::hours(1), now + Days::days(1))
        .expect("an operator's TLS certificate");
    let tester = ClientTls::load(&mesh.ca_certificate(), &certificate, &key).expect("TLS files");
    for system in SYSTEMS {
        let address = mesh.address(system);
        assert_eq!(
            health_over(address, system, Some(&tester)).await,
            Ok(ServingStatus::Serving),
            "{system}: a valid certificate"
        );
        let anonymous = anonymous_health(address, system, &ca_pem).await;
        assert!(
            anonymous.is_err(),
            "{system}: no certificate: {anonymous:?}"
        );
        let plaintext = health_over(address, system, None).await;
        assert!(plaintext.is_err(), "{system}: plaintext: {plaintext:?}");
    }
    let pki = mesh.ca.root().display().to_string();
    let certificate = certificate.display().to_string();
    mesh.egovctl(&[
        "pki",
        "--dir",
        &pki,
        "revoke",
        &certificate,
        "--reason",
        "key_compromise",
    ])
    .await;
    for system in SYSTEMS {
        let address = mesh.address(system);
        // crl_ttl is 0 in the scenarios: the next connection is refused.
        wait::until(
            PATIENCE,
            &format!("{system} refuses the revoked certificate"),
            || {
                let tester = tester.clone();
                async move {
                    match health_over(address, system, Some(&tester)).await {
                        Err(refused) => Ok(refused),
                        Ok(status) => Err(format!("still served: {status:?}")),
                    }
                }
            },
        )
        .await;
    }
    assert!(!issued.info.serial_hex().is_empty());

    // egovctl over mutual TLS (EGOV_TLS_CERT/EGOV_TLS_KEY/EGOV_TLS_CA).
    let (ok, status) = mesh.egovctl_json(&["status"]).await;
    assert!(ok, "{status}");
    for s in status["systems"].as_array().expect("systems") {
        assert_eq!(s["health"], "serving", "{s}");
    }

    // A citizen's application through the portal, as in diagram 2, with
    // the scenario's clients presenting their certificate.
    let citizen = mesh.citizen().await;
    let sent = mesh.apply(&citizen, "003").await;
    let issued = mesh
        .wait_cabinet(&citizen, &sent.reference, &[Stage::Issued, Stage::Refused])
        .await;
    assert_eq!(issued.stage(), Stage::Issued, "{issued:?}");
    let log = mesh.verify_log().await;
    assert!(log.intact, "{}", log.problem);
}
