//! Building and running the individuals registry (ЖТ МДБ): a registry as
//! `egov_registry::server::Registry` builds every registry (identity, pool
//! and migrations, the bus serving the look-up behind the fault gate, the
//! one service runner with the admin API), with this registry's look-up.

use crate::handler::PersonByIin;
use crate::settings::Settings;
use crate::storage;
use egov_registry::fault::FaultSwitch;
use egov_registry::server::{Registry, Spec};
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Application(Registry);

impl Application {
    /// Loads what the registry needs and binds its listener (port 0
    /// allowed; [`Application::address`] tells the port).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let spec = Spec {
            name: "Individuals registry",
            system: SystemId::Individuals,
            grpc: &settings.grpc,
            metrics: &settings.metrics,
            bus: settings.bus.clone(),
            database: &settings.database,
            trust: &settings.trust,
            fault_seed: settings.fault.seed,
            migrator: &storage::MIGRATOR,
        };
        Ok(Application(
            Registry::build(spec, PersonByIin::new(settings.lookup.allowed_legal_bases)).await?,
        ))
    }

    /// The address of the admin API, health and reflection.
    pub fn address(&self) -> SocketAddr {
        self.0.address()
    }

    /// The address its metrics are served on (`GET /metrics`).
    pub fn metrics_address(&self) -> SocketAddr {
        self.0.metrics_address()
    }

    /// The fault switch (the admin API sets it).
    pub fn fault(&self) -> &Arc<FaultSwitch> {
        self.0.fault()
    }

    pub fn bus(&self) -> &egov_bus::Bus {
        self.0.bus()
    }

    /// Waits until the broker connection is up.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        self.0.wait_ready(wait).await
    }

    /// Serves until `shutdown` is cancelled, then drains.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.0.run_until_stopped(shutdown).await
    }
}
