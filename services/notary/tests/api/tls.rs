//! Mutual TLS on a system's port (issue 14 point 1), the path every system
//! but the gateway takes (egov_bus::BusService): БНАЖ with `grpc.tls =
//! "mutual"` serves its admin API and health only to clients with a valid
//! TLS certificate of the mesh CA, and refuses the rest
//! (egov_testkit::tls::check_mutual_tls_port).

use egov_proto::registry::GetFaultRequest;
use egov_proto::registry::registry_admin_client::RegistryAdminClient;
use egov_testkit::TestMesh;
use egov_testkit::tls::check_mutual_tls_port;
use egov_trust::{SystemId, TlsSubject};

#[tokio::test]
async fn with_mutual_tls_the_notary_serves_only_valid_certificates_of_the_mesh_ca() {
    let mesh = TestMesh::new().await;
    let gateway = egov_harness::start_gateway(&mesh).await;
    let tls = mesh.tls_env(SystemId::Notary);
    let overrides: Vec<(&str, &str)> = tls.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let notary = egov_harness::start_notary_with(&mesh, &overrides).await;
    check_mutual_tls_port(notary.address, SystemId::Notary, &mesh).await;

    let (operator, _) = mesh
        .pki
        .client_tls(&TlsSubject::operator("fault-reader").expect("a name"));
    let channel = egov_runtime::tls::endpoint(
        &notary.address.to_string(),
        SystemId::Notary,
        Some(&operator),
    )
    .expect("an endpoint")
    .connect()
    .await
    .expect("connect over mutual TLS");
    let state = RegistryAdminClient::new(channel)
        .get_fault(GetFaultRequest {})
        .await
        .expect("GetFault over mutual TLS")
        .into_inner();
    assert!(state.mode.is_some(), "{state:?}");
    notary.stop_cleanly().await;
    gateway.stop_cleanly().await;
}
