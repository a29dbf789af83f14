//! What every service's tests check the same way: its health (watched, not
//! polled), that health follows the broker connection, and what reflection
//! lists on its port, as an outside client (v1 or v1alpha) sees it.

use futures_util::StreamExt;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// Long enough for a loaded machine; never a sleep, only a bound.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The environment override that keeps a service away from the broker for
/// a second after a drop, so a test can see it NOT_SERVING meanwhile.
pub const SLOW_RECONNECT: (&str, &str) = ("EGOV__BUS__RECONNECT_MIN", "1s");

pub async fn channel(address: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .expect("an endpoint")
        .connect()
        .await
        .expect("connect to the service's gRPC port")
}

/// Watches the overall health ("") of the service at `address`.
pub struct HealthWatch {
    updates: tonic::Streaming<tonic_health::pb::HealthCheckResponse>,
}

impl HealthWatch {
    pub async fn start(address: SocketAddr) -> HealthWatch {
        let updates = HealthClient::new(channel(address).await)
            .watch(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health Watch")
            .into_inner();
        HealthWatch { updates }
    }

    /// Waits until the service reports `status`.
    pub async fn until(&mut self, status: ServingStatus) {
        let reached = tokio::time::timeout(PATIENCE, async {
            while let Some(Ok(update)) = self.updates.next().await {
                if update.status == status as i32 {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        assert!(reached, "the service never reported {status:?}");
    }
}

/// The runner's one meaning of health, checked for the service at `address`
/// (started with [`SLOW_RECONNECT`]): SERVING, NOT_SERVING once the broker
/// drops its connection, SERVING again when it is back.
pub async fn health_follows_the_broker(address: SocketAddr, mesh: &crate::mesh::TestMesh) {
    let mut watch = HealthWatch::start(address).await;
    watch.until(ServingStatus::Serving).await;
    // The broker lists a connection a moment after it is made: a service
    // ready within milliseconds may not be listed yet.
    crate::wait::until(
        PATIENCE,
        "the service's connection listed by the broker",
        || async {
            match mesh.close_broker_connections().await {
                0 => Err("none yet".to_owned()),
                closed => Ok(closed),
            }
        },
    )
    .await;
    watch.until(ServingStatus::NotServing).await;
    watch.until(ServingStatus::Serving).await;
}

/// The services reflection lists on `address`, asked with v1alpha (the
/// older protocol that grpcurl, Postman and Python's grpcio-reflection speak).
pub async fn reflection_v1alpha(address: SocketAddr) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel(address).await)
        .server_reflection_info(futures_util::stream::iter([request]))
        .await
        .expect("reflection v1alpha answers")
        .into_inner();
    let Some(Ok(answer)) = answers.next().await else {
        panic!("a reflection answer")
    };
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("a service list")
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

/// A registry's admin API (lib/registry, the same for ЖТ МДБ and БНАЖ):
/// every refusal carries its code in ErrorInfo, in `domain`; a SetFault
/// without `operator`'s credential (none, or `outsider`'s) is
/// `credential_refused` (issue 14 point 2: only an operator sets faults).
pub async fn registry_admin_errors_carry_their_codes(
    address: SocketAddr,
    domain: &str,
    operator: egov_proto::envelope::Envelope,
    outsider: egov_proto::envelope::Envelope,
) {
    use egov_proto::registry::registry_admin_client::RegistryAdminClient;
    use egov_proto::registry::{FaultKind, FaultMode, SetFaultRequest};
    use tonic_types::StatusExt;
    let mut admin = RegistryAdminClient::new(channel(address).await);
    let bad_mode = FaultMode {
        kind: FaultKind::Error as i32,
        latency_ms: 0,
        error_fraction: 1.5,
    };
    let down = FaultMode {
        kind: FaultKind::Down as i32,
        latency_ms: 0,
        error_fraction: 0.0,
    };
    for credential in [None, Some(outsider)] {
        let error = admin
            .set_fault(SetFaultRequest {
                mode: Some(down),
                credential,
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), tonic::Code::Unauthenticated, "{error:?}");
        assert!(
            error.message().starts_with("credential_refused: "),
            "{error:?}"
        );
    }
    for (mode, expected) in [
        (None, "fault_mode_missing"),
        (Some(bad_mode), "invalid_fault_mode"),
        (Some(FaultMode::default()), "invalid_fault_mode"),
    ] {
        let error = admin
            .set_fault(SetFaultRequest {
                mode,
                credential: Some(operator.clone()),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
        let info = error
            .get_error_details()
            .error_info()
            .cloned()
            .unwrap_or_else(|| panic!("no ErrorInfo on {error:?}"));
        assert_eq!(info.reason, expected, "{error:?}");
        assert_eq!(info.domain, domain);
        assert!(error.message().starts_with(&format!("{expected}: ")));
    }
}
