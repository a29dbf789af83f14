//! gRPC serving shared by every service: health and reflection beside the
//! service's own API, a span per request that continues the caller's trace,
//! and graceful shutdown.

use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

pub use tonic_health::server::HealthReporter;

/// Binds a listener; port 0 picks a free port, readable from `local_addr`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// The health service (with its reporter) and the reflection service, which
/// knows every file of `proto/` and the health protocol.
pub fn standard_services() -> (
    HealthReporter,
    tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
) {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(egov_proto::DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the descriptor sets are generated at build time and valid");
    (reporter, health, reflection)
}

/// A server builder with the request span that joins the caller's trace.
pub fn server() -> tonic::transport::Server {
    tonic::transport::Server::builder()
}

/// Serves `router` on `listener` until `shutdown` is cancelled; in-flight
/// calls finish first.
pub async fn serve(
    router: tonic::transport::server::Router,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    router
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
}
