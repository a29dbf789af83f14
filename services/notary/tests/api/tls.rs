//! Mutual TLS on a system's port (issue 14 point 1), the path every system
//! but the gateway takes (egov_bus::BusService): БНАЖ with `grpc.tls =
//! "mutual"` serves its admin API and health only to clients with a valid
//! TLS certificate of the mesh CA, and refuses the rest
//! (egov_testkit::tls::check_mutual_tls_port).

use egov_proto::registry::registry_admin_client::RegistryAdminClient;
use egov_proto::registry::{FaultKind, FaultMode, GetFaultRequest, SetFaultRequest};
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
    let admin = |tls| async move {
        let channel =
            egov_runtime::tls::endpoint(&notary.address.to_string(), SystemId::Notary, Some(&tls))
                .expect("an endpoint")
                .connect()
                .await
                .expect("connect over mutual TLS");
        RegistryAdminClient::new(channel)
    };
    let mut as_operator = admin(operator).await;
    let state = as_operator
        .get_fault(GetFaultRequest {})
        .await
        .expect("GetFault over mutual TLS")
        .into_inner();
    assert!(state.mode.is_some(), "{state:?}");

    // On a TLS port the client certificate says who operates: an operator's
    // sets a fault without a credential, the portal's is refused.
    let down = SetFaultRequest {
        mode: Some(FaultMode {
            kind: FaultKind::Down as i32,
            ..FaultMode::default()
        }),
        credential: None,
    };
    let state = as_operator
        .set_fault(down.clone())
        .await
        .expect("an operator's certificate sets a fault")
        .into_inner();
    assert_eq!(
        state.mode.map(|m| m.kind()),
        Some(FaultKind::Down),
        "the notary is down"
    );
    let (portal, _) = mesh.pki.client_tls(&TlsSubject::System(SystemId::Portal));
    let refused = admin(portal)
        .await
        .set_fault(down)
        .await
        .expect_err("the portal operates no registry");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(
        refused.message().contains("no operator"),
        "{}",
        refused.message()
    );
    notary.stop_cleanly().await;
    gateway.stop_cleanly().await;
}
