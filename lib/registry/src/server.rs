//! What both registries add to the one service runner
//! (`egov_runtime::service::Runner`): the admin API, health that also
//! follows the fault mode, and the inbox paused while the mode is `down`.
//!
//! A registry answers only through the gateway: look-ups arrive in its inbox
//! (synchronous requests, DESIGN.md "The gateway over RabbitMQ") and are
//! answered there. Its gRPC port serves the admin API, health and
//! reflection, nothing else.
//!
//! The fault mode acts in two places (issue 3, item 4): the inbox's fault
//! gate ([`crate::lookup::admit`]), and here: while the mode is `down` the
//! inbox consumer is paused (asynchronous messages wait in the queue,
//! synchronous calls expire there) and health is NOT_SERVING.

use crate::admin::AdminApi;
use crate::fault::{FaultMode, FaultSwitch};
use crate::metrics::RegistryMetrics;
use anyhow::Context as _;
use egov_bus::{Bus, BusService};
use egov_proto::registry::registry_admin_server::RegistryAdminServer;
use egov_runtime::trust::TrustSettings;
use egov_trust::SystemId;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Serves the admin API on the service's runner, with health SERVING only
/// while (besides the broker and the database) the mode is not `down`; and
/// pauses the inbox while it is `down`.
fn serve(service: &mut BusService, fault: &Arc<FaultSwitch>, metrics: RegistryMetrics) {
    let bus = service.bus().clone();
    let runner = service.runner();
    metrics.register(runner.registry());
    let api = RegistryAdminServer::new(AdminApi {
        fault: fault.clone(),
        trust: bus.trust().clone(),
        system: bus.system(),
    })
    .max_decoding_message_size(runner.max_message_bytes());
    runner.serve(api);
    let mode = fault.clone();
    runner.probe("fault mode not down", move || {
        let up = mode.get() != FaultMode::Down;
        async move { up }
    });
    let fault = fault.clone();
    runner.task(move |stop| follow_the_fault_mode(bus, fault, metrics, stop));
}

/// `down` pauses the inbox consumer (messages wait in the queue); any other
/// mode resumes it.
async fn follow_the_fault_mode(
    bus: Bus,
    fault: Arc<FaultSwitch>,
    metrics: RegistryMetrics,
    stop: CancellationToken,
) {
    let mut modes = fault.subscribe();
    let mut paused = None;
    loop {
        let mode = *modes.borrow_and_update();
        metrics.mode_is(mode);
        let down = mode == FaultMode::Down;
        if paused != Some(down) {
            if down {
                bus.pause_inbox();
                tracing::warn!(
                    system = fault.system(),
                    "Fault mode down: stopped consuming the inbox."
                );
            } else {
                bus.resume_inbox();
                if paused == Some(true) {
                    tracing::info!(system = fault.system(), %mode, "Consuming the inbox again.");
                }
            }
            paused = Some(down);
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = modes.changed() => if changed.is_err() { return },
        }
    }
}

/// What a registry service is built from: its settings' common parts.
pub struct Spec<'a> {
    /// How logs name it ("Individuals registry").
    pub name: &'static str,
    pub system: SystemId,
    pub grpc: &'a egov_runtime::service::GrpcSettings,
    pub metrics: &'a egov_runtime::metrics::MetricsSettings,
    pub bus: egov_bus::BusSettings,
    pub database: &'a egov_runtime::database::DatabaseSettings,
    pub trust: &'a TrustSettings,
    pub fault_seed: u64,
    pub migrator: &'static sqlx::migrate::Migrator,
}

/// A registry, built and ready to run: each registry service is this with
/// its own look-up (`L`), model and storage.
pub struct Registry {
    service: BusService,
    fault: Arc<FaultSwitch>,
}

impl Registry {
    /// Identity, pool and migrations, the bus serving the look-up (fault
    /// gate first), the runner with the admin API: the listener is bound
    /// (port 0 allowed; [`Registry::address`] tells the port).
    pub async fn build<L: crate::lookup::Lookup>(
        spec: Spec<'_>,
        lookup: L,
    ) -> anyhow::Result<Self> {
        let opened =
            egov_runtime::service::open(spec.system, spec.trust, spec.database, spec.migrator)
                .await?;
        let fault = Arc::new(FaultSwitch::new(spec.system.as_str(), spec.fault_seed));
        let handler = crate::lookup::LookupHandler::new(fault.clone(), lookup);
        let metrics = handler.metrics().clone();
        let bus = Bus::start(
            spec.bus,
            opened.identity,
            opened.trust,
            Some(egov_bus::Inbox {
                handler: Arc::new(handler),
                pool: opened.pool.clone(),
            }),
        )
        .await
        .context("starting the bus")?;
        let mut service = BusService::bind(spec.name, spec.grpc, spec.metrics, bus, &opened.pool)
            .await
            .with_context(|| {
                format!(
                    "binding gRPC to {} and metrics to {}",
                    spec.grpc.listen, spec.metrics.listen
                )
            })?;
        serve(&mut service, &fault, metrics);
        Ok(Registry { service, fault })
    }

    /// The address of the admin API, health and reflection.
    pub fn address(&self) -> std::net::SocketAddr {
        self.service.address()
    }

    /// The address its metrics are served on (`GET /metrics`).
    pub fn metrics_address(&self) -> std::net::SocketAddr {
        self.service.metrics_address()
    }

    /// The fault switch (the admin API sets it).
    pub fn fault(&self) -> &Arc<FaultSwitch> {
        &self.fault
    }

    pub fn bus(&self) -> &Bus {
        self.service.bus()
    }

    /// Waits until the broker connection is up.
    pub async fn wait_ready(&self, wait: std::time::Duration) -> anyhow::Result<()> {
        Ok(self.service.wait_ready(wait).await?)
    }

    /// Serves until `shutdown` is cancelled; then no new look-ups are taken
    /// and those in flight finish (within `grpc.shutdown_grace`).
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.service.run_until_stopped(shutdown, async {}).await;
        Ok(())
    }
}
