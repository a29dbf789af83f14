//! Mutual TLS on the gateway's port (issue 14 point 1): with `grpc.tls =
//! "mutual"` only clients with a valid TLS certificate of the mesh CA are
//! served (egov_testkit::tls::check_mutual_tls_port: no certificate,
//! another CA's, a revoked one, a signing one and plaintext refused); with
//! "off" the port stays plaintext.

use crate::helpers::PATIENCE;
use egov_gateway::Application;
use egov_proto::gateway::gateway_client::GatewayClient;
use egov_proto::gateway::{ListRoutesRequest, TraceRequest, VerifyLogRequest};
use egov_testkit::TestMesh;
use egov_testkit::tls::{check_mutual_tls_port, health_over, wait_serving};
use egov_trust::{SystemId, TlsSubject};
use tokio_util::sync::CancellationToken;

async fn start(mesh: &TestMesh, tls: bool) -> (std::net::SocketAddr, CancellationToken) {
    let mut source = mesh.source(SystemId::Gateway);
    if tls {
        source.env.extend(mesh.tls_env(SystemId::Gateway));
    } else {
        source
            .env
            .insert("EGOV__GRPC__TLS".to_owned(), "off".to_owned());
    }
    let settings: egov_gateway::Settings =
        egov_runtime::settings::load("gateway", &source).expect("gateway settings");
    let app = Application::build(settings)
        .await
        .expect("build the gateway");
    app.wait_ready(PATIENCE)
        .await
        .expect("the gateway connects");
    let address = app.address();
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(stop.clone()));
    (address, stop)
}

#[tokio::test]
async fn with_mutual_tls_the_gateway_serves_only_valid_certificates_of_the_mesh_ca() {
    let mesh = TestMesh::new().await;
    let (address, stop) = start(&mesh, true).await;
    check_mutual_tls_port(address, SystemId::Gateway, &mesh).await;

    // The API itself, not only health, as an operator calls it.
    let (operator, _) = mesh
        .pki
        .client_tls(&TlsSubject::operator("routes-reader").expect("a name"));
    let channel =
        egov_runtime::tls::endpoint(&address.to_string(), SystemId::Gateway, Some(&operator))
            .expect("an endpoint")
            .connect()
            .await
            .expect("connect over mutual TLS");
    let routes = GatewayClient::new(channel)
        .list_routes(ListRoutesRequest {})
        .await
        .expect("ListRoutes over mutual TLS")
        .into_inner();
    assert!(!routes.routes.is_empty());

    // Reads: the client certificate says who asks, no credential needed —
    // the operator verifies the log; a system may not.
    let mut client = GatewayClient::new(channel_as(address, &operator).await);
    let report = client
        .verify_log(VerifyLogRequest::default())
        .await
        .expect("the operator verifies the log over mutual TLS")
        .into_inner();
    assert!(report.intact, "{}", report.problem);
    let (portal, _) = mesh.pki.client_tls(&TlsSubject::System(SystemId::Portal));
    let mut client = GatewayClient::new(channel_as(address, &portal).await);
    let error = client
        .verify_log(VerifyLogRequest::default())
        .await
        .unwrap_err();
    assert!(
        error.message().starts_with("credential_refused: "),
        "{error:?}"
    );
    let trace = client
        .trace(TraceRequest {
            conversation_id: "nothing-yet".into(),
            ..Default::default()
        })
        .await
        .expect("the portal reads a trace by its certificate alone")
        .into_inner();
    assert!(trace.entries.is_empty());
    stop.cancel();
}

async fn channel_as(
    address: std::net::SocketAddr,
    identity: &egov_runtime::tls::ClientTls,
) -> tonic::transport::Channel {
    egov_runtime::tls::endpoint(&address.to_string(), SystemId::Gateway, Some(identity))
        .expect("an endpoint")
        .connect()
        .await
        .expect("connect over mutual TLS")
}

#[tokio::test]
async fn with_tls_off_the_gateways_port_is_plaintext() {
    let mesh = TestMesh::new().await;
    let (address, stop) = start(&mesh, false).await;
    wait_serving(address, SystemId::Gateway, None).await;
    let (portal, _) = mesh.pki.client_tls(&TlsSubject::System(SystemId::Portal));
    assert!(
        health_over(address, SystemId::Gateway, Some(&portal))
            .await
            .is_err(),
        "a TLS client finds no TLS on a plaintext port"
    );
    stop.cancel();
}
