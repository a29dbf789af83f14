//! Building and running the individuals registry (ЖТ МДБ) on the one service runner
//! (`egov_runtime::service`): identity → pool and migrations → the bus
//! serving the inbox (fault gate, then "person-by-iin") → the runner (admin API,
//! health from the broker, the database and the fault mode) → run until
//! cancelled → drain. What both registries share is `egov_registry::server`.

use crate::handler::PersonByIin;
use crate::settings::Settings;
use crate::{SYSTEM, storage};
use anyhow::Context as _;
use egov_bus::{Bus, Inbox};
use egov_registry::fault::FaultSwitch;
use egov_registry::lookup::LookupHandler;
use egov_registry::server;
use egov_runtime::service::Runner;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Application {
    bus: Bus,
    fault: Arc<FaultSwitch>,
    runner: Runner,
}

impl Application {
    /// Loads what the registry needs and binds its listener (port 0
    /// allowed; [`Application::address`] tells the port).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (identity, trust) = server::identity(&settings.trust, SystemId::Individuals)?;
        let pool = settings
            .database
            .connect()
            .await
            .context("connecting to PostgreSQL")?;
        storage::migrate(&pool)
            .await
            .context("migrating the individuals schema")?;
        let fault = Arc::new(FaultSwitch::new(SYSTEM, settings.fault.seed));
        let handler = LookupHandler::new(
            fault.clone(),
            PersonByIin::new(settings.lookup.allowed_legal_bases),
        );
        let bus = Bus::start(
            settings.bus,
            identity,
            trust,
            Some(Inbox {
                handler: Arc::new(handler),
                pool: pool.clone(),
            }),
        )
        .await
        .context("starting the bus")?;
        let mut runner = Runner::bind("Individuals registry", &settings.grpc)
            .await
            .with_context(|| format!("binding gRPC to {}", settings.grpc.listen))?;
        server::serve(&mut runner, &bus, &pool, &fault);
        Ok(Application { bus, fault, runner })
    }

    /// The address of the admin API, health and reflection.
    pub fn address(&self) -> SocketAddr {
        self.runner.address()
    }

    /// The fault switch (the admin API sets it).
    pub fn fault(&self) -> &Arc<FaultSwitch> {
        &self.fault
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Waits until the broker connection is up.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        self.bus
            .wait_connected(wait)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Serves until `shutdown` is cancelled; then no new look-ups are taken
    /// and those in flight finish (within `grpc.shutdown_grace`).
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let bus = self.bus;
        self.runner
            .run(shutdown, async move { bus.shutdown().await })
            .await;
        Ok(())
    }
}
