//! What an operator relies on besides the look-ups, the same for every
//! service of the mesh: health that follows the broker connection,
//! reflection listing only what the port serves, and admin API errors that
//! carry their code in `google.rpc.ErrorInfo`.

use crate::helpers::*;

#[tokio::test]
async fn the_individuals_registrys_health_follows_the_broker_connection() {
    let registry = Registry::start_with(&[egov_testkit::service::SLOW_RECONNECT]).await;
    egov_testkit::service::health_follows_the_broker(registry.address, &registry.mesh).await;
    registry.stop().await;
}

#[tokio::test]
async fn reflection_v1alpha_lists_only_what_the_individuals_registrys_port_serves() {
    let registry = Registry::start().await;
    let names = egov_testkit::service::reflection_v1alpha(registry.address).await;
    assert_eq!(
        names,
        [
            "egov.registry.v1.RegistryAdmin",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );
    registry.stop().await;
}

#[tokio::test]
async fn every_error_of_the_admin_api_carries_its_code() {
    let registry = Registry::start().await;
    egov_testkit::service::registry_admin_errors_carry_their_codes(
        registry.address,
        "individuals.egov-mesh",
        registry.mesh.registry_credential(
            egov_trust::SystemId::Individuals,
            egov_trust::SystemId::Individuals,
        ),
        registry.mesh.registry_credential(
            egov_trust::SystemId::Individuals,
            egov_trust::SystemId::Portal,
        ),
    )
    .await;
    registry.stop().await;
}
