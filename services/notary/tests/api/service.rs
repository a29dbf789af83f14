//! What an operator relies on besides the look-ups, the same for every
//! service of the mesh: health that follows the broker connection,
//! reflection listing only what the port serves, and admin API errors that
//! carry their code in `google.rpc.ErrorInfo`.

use crate::helpers::*;

#[tokio::test]
async fn the_notary_systems_health_follows_the_broker_connection() {
    let notary = Notary::start_with(&[egov_testkit::service::SLOW_RECONNECT]).await;
    egov_testkit::service::health_follows_the_broker(notary.address, &notary.mesh).await;
    notary.stop().await;
}

#[tokio::test]
async fn reflection_v1alpha_lists_only_what_the_notary_systems_port_serves() {
    let notary = Notary::start().await;
    let names = egov_testkit::service::reflection_v1alpha(notary.address).await;
    assert_eq!(
        names,
        [
            "egov.registry.v1.RegistryAdmin",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );
    notary.stop().await;
}

#[tokio::test]
async fn every_error_of_the_admin_api_carries_its_code() {
    let notary = Notary::start().await;
    egov_testkit::service::registry_admin_errors_carry_their_codes(
        notary.address,
        "notary.egov-mesh",
        notary
            .mesh
            .registry_credential(egov_trust::SystemId::Notary, egov_trust::SystemId::Notary),
        notary
            .mesh
            .registry_credential(egov_trust::SystemId::Notary, egov_trust::SystemId::Portal),
    )
    .await;
    notary.stop().await;
}
