//! The acceptor and the accessor on real connections: a CA of the test's
//! own, its CRL served over HTTP on a free port, rustls on both ends.

use super::*;
use chrono::Utc;
use egov_trust::{CertificateAuthority, CrlSettings, CrlSource, Issued, SubjectSpec, TlsSubject};
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

struct Fixture {
    ca: Arc<CertificateAuthority>,
    tls: Arc<ServerTls>,
    stop: CancellationToken,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn day() -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    (
        Utc::now() - chrono::Duration::hours(1),
        Utc::now() + chrono::Duration::days(1),
    )
}

/// The gateway's port, as a fixture: its TLS certificate from a fresh CA,
/// the CA's revocation list fetched on every check.
async fn fixture() -> Fixture {
    let ca = Arc::new(
        CertificateAuthority::create("tls test CA", Utc::now(), chrono::Duration::days(1)).unwrap(),
    );
    let stop = CancellationToken::new();
    let crl = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/crl", crl.local_addr().unwrap());
    let source: Arc<dyn CrlSource> = ca.clone();
    tokio::spawn(egov_trust::crl::serve_crl(
        crl,
        source,
        ca.certificate_pem(),
        stop.clone().cancelled_owned(),
    ));
    let trust = Arc::new(
        TrustStore::new(
            ca.certificate_der().to_vec(),
            CrlSettings {
                url,
                ttl: Duration::ZERO,
                max_stale: Duration::from_secs(60),
                fetch_timeout: Duration::from_secs(5),
            },
        )
        .unwrap(),
    );
    let (from, until) = day();
    let server = ca
        .issue_tls(&TlsSubject::System(SystemId::Gateway), from, until)
        .unwrap();
    let tls = Arc::new(
        ServerTls::new(
            server.certificate_der.clone(),
            server.private_key_der.clone(),
            trust,
        )
        .unwrap(),
    );
    Fixture { ca, tls, stop }
}

fn client(ca: &CertificateAuthority, issued: &Issued) -> ClientTls {
    ClientTls::from_pem(
        ca.certificate_pem(),
        issued.certificate_pem(),
        issued.private_key_pem(),
    )
}

fn tls_client(fixture: &Fixture, subject: TlsSubject) -> (ClientTls, Issued) {
    let (from, until) = day();
    let issued = fixture.ca.issue_tls(&subject, from, until).unwrap();
    (client(&fixture.ca, &issued), issued)
}

/// One connection: the server side's verdict (who, or the refusal's code)
/// while a tonic client with `config` connects.
async fn verdict(fixture: &Fixture, config: ClientTlsConfig) -> Result<PeerIdentity, &'static str> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = async {
        let (tcp, _) = listener.accept().await.unwrap();
        let verdict = fixture.tls.accept(tcp).await;
        verdict
            .map(|stream| stream.peer().clone())
            .map_err(|r| r.code())
    };
    let client = async {
        let endpoint = Endpoint::from_shared(format!("https://{address}"))
            .unwrap()
            .tls_config(config)
            .unwrap();
        // Refused, or served by nobody once the verdict is in: either way
        // the connection ends; only the server's verdict is asserted.
        let _ = tokio::time::timeout(Duration::from_secs(5), endpoint.connect()).await;
    };
    tokio::join!(server, client).0
}

#[tokio::test]
async fn a_client_with_a_mesh_tls_certificate_is_accepted_and_named() {
    let fixture = fixture().await;
    let (portal, issued) = tls_client(&fixture, TlsSubject::System(SystemId::Portal));
    let peer = verdict(&fixture, portal.config(SystemId::Gateway))
        .await
        .unwrap();
    assert_eq!(peer.system(), Some(SystemId::Portal));
    assert_eq!(peer.subject(), &Subject::System(SystemId::Portal));
    assert_eq!(peer.certificate().serial, issued.info.serial);
    assert!(peer.remote_address().is_some_and(|a| a.ip().is_loopback()));

    let (egovctl, _) = tls_client(&fixture, TlsSubject::operator("egovctl").unwrap());
    let peer = verdict(&fixture, egovctl.config(SystemId::Gateway))
        .await
        .unwrap();
    assert_eq!(peer.operator(), Some("egovctl"));
    assert_eq!(peer.system(), None);
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_in_the_handshake() {
    let fixture = fixture().await;
    let anonymous = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(fixture.ca.certificate_pem()))
        .domain_name("gateway");
    assert_eq!(
        verdict(&fixture, anonymous).await.unwrap_err(),
        "client_certificate_required"
    );
}

#[tokio::test]
async fn a_certificate_of_another_ca_is_refused() {
    let fixture = fixture().await;
    let foreign =
        CertificateAuthority::create("foreign CA", Utc::now(), chrono::Duration::days(1)).unwrap();
    let (from, until) = day();
    let issued = foreign
        .issue_tls(&TlsSubject::System(SystemId::Portal), from, until)
        .unwrap();
    // It trusts the mesh CA for the server; its own certificate is foreign.
    let config = ClientTls::from_pem(
        fixture.ca.certificate_pem(),
        issued.certificate_pem(),
        issued.private_key_pem(),
    )
    .config(SystemId::Gateway);
    assert_eq!(
        verdict(&fixture, config).await.unwrap_err(),
        "untrusted_certificate"
    );
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_from_the_crl_of_the_trust_store() {
    let fixture = fixture().await;
    let (portal, issued) = tls_client(&fixture, TlsSubject::System(SystemId::Portal));
    assert!(
        verdict(&fixture, portal.config(SystemId::Gateway))
            .await
            .is_ok()
    );
    fixture
        .ca
        .revoke(&issued.info.serial_hex(), "key_compromise", Utc::now())
        .unwrap();
    assert_eq!(
        verdict(&fixture, portal.config(SystemId::Gateway))
            .await
            .unwrap_err(),
        "certificate_revoked"
    );
}

#[tokio::test]
async fn a_signing_certificate_opens_no_connection() {
    let fixture = fixture().await;
    let (from, until) = day();
    let signing = fixture
        .ca
        .issue(&SubjectSpec::System(SystemId::Portal), from, until)
        .unwrap();
    let config = client(&fixture.ca, &signing).config(SystemId::Gateway);
    assert_eq!(
        verdict(&fixture, config).await.unwrap_err(),
        "not_a_tls_certificate"
    );
}

#[tokio::test]
async fn the_client_checks_the_server_is_the_system_it_calls() {
    let fixture = fixture().await;
    let (portal, _) = tls_client(&fixture, TlsSubject::System(SystemId::Portal));
    // The port is the gateway's; a client that means to call the notary
    // system does not take it for one.
    assert!(
        verdict(&fixture, portal.config(SystemId::Notary))
            .await
            .is_err()
    );
}

/// What a handler sees: the whole path (the incoming stream, tonic's
/// connect info, the request extension) read back with `peer_identity`;
/// and the gate that looks the certificate up again on every call of the
/// open connection.
#[tokio::test]
async fn a_handler_reads_who_called_and_a_revocation_ends_an_open_connections_calls() {
    let fixture = fixture().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    async fn whoami(request: axum::extract::Request) -> String {
        let request = tonic::Request::from_http(request);
        // The address too, as on a plaintext port (the login limits).
        let from = request.remote_addr().map(|a| a.ip().to_string());
        match peer_identity(&request) {
            Some(peer) => format!("{} from {}", peer.subject(), from.unwrap_or_default()),
            None => "nobody".to_owned(),
        }
    }
    let router = axum::Router::new().route("/whoami", axum::routing::any(whoami));
    let gate = RevocationGate::new(
        tonic::service::Routes::from(router),
        Some(fixture.tls.trust().clone()),
        "test.egov-mesh",
    );
    tokio::spawn(
        tonic::transport::Server::builder().serve_with_incoming_shutdown(
            gate,
            incoming(listener, fixture.tls.clone(), "Test"),
            fixture.stop.clone().cancelled_owned(),
        ),
    );
    let (portal, issued) = tls_client(&fixture, TlsSubject::System(SystemId::Portal));
    let channel = endpoint(&address.to_string(), SystemId::Gateway, Some(&portal))
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(
        get(channel.clone(), "/whoami").await,
        (None, "system portal from 127.0.0.1".to_owned())
    );

    // Revoked while the connection is open: its next call is refused.
    fixture
        .ca
        .revoke(&issued.info.serial_hex(), "key_compromise", Utc::now())
        .unwrap();
    let (status, _) = get(channel, "/whoami").await;
    assert_eq!(status.as_deref(), Some("16"), "UNAUTHENTICATED");

    // Plaintext: nobody is authenticated.
    let request = tonic::Request::new(());
    assert!(peer_identity(&request).is_none());
}

/// The grpc-status header (if any) and the body of a GET.
async fn get(
    mut channel: tonic::transport::Channel,
    path: &'static str,
) -> (Option<String>, String) {
    use tonic::codegen::Service;
    futures_util::future::poll_fn(|cx| channel.poll_ready(cx))
        .await
        .unwrap();
    let request = tonic::codegen::http::Request::builder()
        .uri(path)
        .body(tonic::body::Body::empty())
        .unwrap();
    let response = channel.call(request).await.unwrap();
    let status = response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 1024)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[test]
fn endpoints_take_any_scheme_and_speak_tls_only_with_a_client_certificate() {
    let plain = endpoint("127.0.0.1:7100", SystemId::Gateway, None).unwrap();
    assert_eq!(plain.uri().to_string(), "http://127.0.0.1:7100/");
    let plain = endpoint("https://127.0.0.1:7100", SystemId::Gateway, None).unwrap();
    assert_eq!(plain.uri().scheme_str(), Some("http"));
    let ca = CertificateAuthority::create("CA", Utc::now(), chrono::Duration::days(1)).unwrap();
    let (from, until) = day();
    let issued = ca
        .issue_tls(&TlsSubject::operator("egovctl").unwrap(), from, until)
        .unwrap();
    let tls = client(&ca, &issued);
    let secure = endpoint("http://127.0.0.1:7100", SystemId::Gateway, Some(&tls)).unwrap();
    assert_eq!(secure.uri().scheme_str(), Some("https"));
}

#[test]
fn a_persons_iin_is_masked_in_what_logs_say_of_a_peer() {
    let ca = CertificateAuthority::create("CA", Utc::now(), chrono::Duration::days(1)).unwrap();
    let (from, until) = day();
    let citizen = ca
        .issue(
            &SubjectSpec::Citizen {
                iin: egov_trust::Iin::parse("900101300017").unwrap(),
                surname: "Абаев".into(),
                given_name: "Серік".into(),
            },
            from,
            until,
        )
        .unwrap();
    let peer = PeerIdentity::new(Arc::new(citizen.info.clone()), None);
    let said = peer.to_string();
    assert!(said.contains("900101****17"), "{said}");
    assert!(
        !said.contains("900101300017") && !said.contains("Абаев"),
        "{said}"
    );
}
