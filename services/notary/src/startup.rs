//! Building and running the notary system, as the gateway's startup does:
//! settings → identity and trust → pool → migrations → the bus serving the
//! inbox and the gRPC listener (admin API, health, reflection) → run until
//! cancelled → drain. The server is the registries' shared one
//! (`egov_registry::server`).

use crate::handler::PowerOfAttorneyLookup;
use crate::settings::Settings;
use crate::{SYSTEM, storage};
use anyhow::Context as _;
use egov_bus::Bus;
use egov_registry::fault::FaultSwitch;
use egov_registry::lookup::LookupHandler;
use egov_registry::server::{self, Parts, Server};
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Application {
    server: Server,
}

impl Application {
    /// Loads what the registry needs and binds its listener (port 0
    /// allowed; [`Application::address`] tells the port).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (identity, trust) = server::identity(&settings.trust, SystemId::Notary)?;
        let pool = settings
            .database
            .connect()
            .await
            .context("connecting to PostgreSQL")?;
        storage::migrate(&pool)
            .await
            .context("migrating the notary schema")?;
        let fault = Arc::new(FaultSwitch::new(SYSTEM, settings.fault.seed));
        let handler = Arc::new(LookupHandler::new(
            fault.clone(),
            PowerOfAttorneyLookup::new(settings.lookup.as_of),
        ));
        let server = Server::start(Parts {
            system: SystemId::Notary,
            listen: settings.grpc.listen,
            bus: settings.bus,
            identity,
            trust,
            pool,
            handler,
            fault,
        })
        .await?;
        Ok(Application { server })
    }

    /// The address of the admin API, health and reflection.
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// The fault switch (the admin API sets it).
    pub fn fault(&self) -> &Arc<FaultSwitch> {
        self.server.fault()
    }

    pub fn bus(&self) -> &Bus {
        self.server.bus()
    }

    /// Waits until the broker connection is up.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        self.server.wait_ready(wait).await
    }

    /// Serves until `shutdown` is cancelled, then drains.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.server.run_until_stopped(shutdown).await
    }
}
