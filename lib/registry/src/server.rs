//! The server both registries run: the bus serving the inbox, the gRPC
//! listener (admin API, health, reflection) and the fault switch, tied
//! together until shutdown.
//!
//! A registry answers only through the gateway: look-ups arrive in its inbox
//! (synchronous requests, DESIGN.md "The gateway over RabbitMQ") and are
//! answered there. Its gRPC port serves the admin API, health and
//! reflection, nothing else.
//!
//! The fault mode acts in two places (issue 3, item 4): the inbox's fault
//! gate ([`crate::lookup::admit`]), and this server's supervisor, which
//! pauses the inbox consumer while the mode is `down` (asynchronous messages
//! wait in the queue, synchronous calls expire there) and reports the
//! registry NOT_SERVING on gRPC health.

use crate::admin::AdminApi;
use crate::fault::{FaultMode, FaultSwitch};
use anyhow::Context as _;
use egov_bus::{Bus, BusSettings, Handler, Inbox};
use egov_proto::registry::registry_admin_server::RegistryAdminServer;
use egov_runtime::grpc;
use egov_runtime::trust::TrustSettings;
use egov_trust::{Identity, SystemId, TrustStore};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

/// How often the supervisor looks at the broker connection (for health).
const CONNECTION_CHECK: Duration = Duration::from_millis(200);

/// How long shutdown waits for look-ups in flight (a `slow` latency
/// included) before leaving them to be redelivered.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The registry's identity and the mesh's trust store, checked to be
/// `system`'s.
pub fn identity(
    settings: &TrustSettings,
    system: SystemId,
) -> anyhow::Result<(Arc<Identity>, Arc<TrustStore>)> {
    let (identity, trust) = settings
        .load()
        .with_context(|| format!("loading the {system} registry's identity"))?;
    anyhow::ensure!(
        identity.system == system,
        "trust.certificate names {}, not {system}",
        identity.system
    );
    Ok((identity, trust))
}

/// What a registry's server is made of; each registry's `startup` loads its
/// own settings, storage and handler and hands them over.
pub struct Parts {
    pub system: SystemId,
    pub listen: SocketAddr,
    pub bus: BusSettings,
    /// From [`identity`].
    pub identity: Arc<Identity>,
    pub trust: Arc<TrustStore>,
    /// The registry's pool: the bus keeps its tables beside the registry's.
    pub pool: sqlx::PgPool,
    pub handler: Arc<dyn Handler>,
    pub fault: Arc<FaultSwitch>,
}

/// A registry: its bus (serving the inbox), its gRPC listener (bound), its
/// fault switch.
pub struct Server {
    system: SystemId,
    bus: Bus,
    fault: Arc<FaultSwitch>,
    listener: TcpListener,
    address: SocketAddr,
}

impl Server {
    /// Starts the bus (it connects in the background, retrying) and binds
    /// the listener.
    pub async fn start(parts: Parts) -> anyhow::Result<Server> {
        let bus = Bus::start(
            parts.bus,
            parts.identity,
            parts.trust,
            Some(Inbox {
                handler: parts.handler,
                pool: parts.pool,
            }),
        )
        .await
        .context("starting the bus")?;
        let listener = grpc::bind(parts.listen)
            .await
            .with_context(|| format!("binding gRPC to {}", parts.listen))?;
        let address = listener.local_addr()?;
        Ok(Server {
            system: parts.system,
            bus,
            fault: parts.fault,
            listener,
            address,
        })
    }

    /// The address the admin API, health and reflection listen on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn fault(&self) -> &Arc<FaultSwitch> {
        &self.fault
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Waits until the broker connection is up and the inbox is set up.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        self.bus
            .wait_connected(wait)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Serves until `shutdown` is cancelled; then stops consuming, lets the
    /// look-ups in flight finish (at most [`SHUTDOWN_GRACE`]) and exits.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (health, health_service, reflection) = grpc::standard_services();
        health.set_serving::<RegistryAdminServer<AdminApi>>().await;
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        let admin = RegistryAdminServer::new(AdminApi {
            fault: self.fault.clone(),
        });
        let router = grpc::server()
            .trace_fn(egov_runtime::propagation::grpc_server_span)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(admin);
        let grpc_stop = CancellationToken::new();
        let server = tokio::spawn(grpc::serve(router, self.listener, grpc_stop.clone()));
        tracing::info!(system = %self.system, address = %self.address, "Registry gRPC listening; connecting to the broker.");
        let supervisor = tokio::spawn(supervise(
            self.system,
            self.bus.clone(),
            self.fault.clone(),
            health.clone(),
        ));

        shutdown.cancelled().await;
        tracing::info!(system = %self.system, "Shutting down: no new look-ups; finishing those in flight.");
        supervisor.abort();
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        if tokio::time::timeout(SHUTDOWN_GRACE, self.bus.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "Look-ups in flight did not finish in time; they will be redelivered.");
        }
        grpc_stop.cancel();
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "The gRPC server failed."),
            Err(error) => tracing::error!(%error, "The gRPC server's task failed."),
        }
        tracing::info!(system = %self.system, "Registry stopped.");
        Ok(())
    }
}

/// Keeps the inbox consumer and the health status in step with the fault
/// mode and the broker connection: `down` pauses the consumer (messages wait
/// in the queue) and reports NOT_SERVING; any other mode resumes it. Without
/// a broker connection (at start, or while the bus reconnects) the registry
/// also reports NOT_SERVING: it cannot answer.
async fn supervise(
    system: SystemId,
    bus: Bus,
    fault: Arc<FaultSwitch>,
    health: grpc::HealthReporter,
) {
    let mut modes = fault.subscribe();
    let mut tick = tokio::time::interval(CONNECTION_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut paused = None;
    let mut connected = false;
    let mut serving = None;
    loop {
        let mode = *modes.borrow_and_update();
        let down = mode == FaultMode::Down;
        if paused != Some(down) {
            if down {
                bus.pause_inbox();
                tracing::warn!(%system, "Fault mode down: stopped consuming the inbox.");
            } else {
                bus.resume_inbox();
                if paused == Some(true) {
                    tracing::info!(%system, %mode, "Consuming the inbox again.");
                }
            }
            paused = Some(down);
        }
        if bus.is_connected() != connected {
            connected = !connected;
            if connected {
                tracing::info!(%system, namespace = %bus.names().namespace(), "Registry ready.");
            } else {
                tracing::warn!(%system, "No broker connection: health NOT_SERVING until it is back.");
            }
        }
        let now_serving = connected && !down;
        if serving != Some(now_serving) {
            let status = if now_serving {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            health.set_service_status("", status).await;
            serving = Some(now_serving);
        }
        tokio::select! {
            changed = modes.changed() => if changed.is_err() { return },
            _ = tick.tick() => {}
        }
    }
}
