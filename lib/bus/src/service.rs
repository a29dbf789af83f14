//! A service whose work comes through its inbox (every system but the
//! gateway): its bus and the one runner (`egov_runtime::service::Runner`)
//! together — health follows the broker and the database, "ready" is the
//! bus connected, and at shutdown the bus finishes what it holds last.

use crate::client::Bus;
use crate::error::BusError;
use egov_runtime::metrics::MetricsSettings;
use egov_runtime::service::{GrpcSettings, Runner};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct BusService {
    bus: Bus,
    runner: Runner,
}

impl BusService {
    /// Binds `name`'s listeners, gRPC and metrics (port 0 allowed), beside
    /// `bus`, with the broker and `pool`'s database as its health and the
    /// inbox's metrics registered.
    pub async fn bind(
        name: &'static str,
        grpc: &GrpcSettings,
        metrics: &MetricsSettings,
        bus: Bus,
        pool: &sqlx::PgPool,
    ) -> std::io::Result<BusService> {
        let mut runner = Runner::bind(name, grpc, metrics, bus.trust()).await?;
        runner
            .probe_database(pool)
            .probe("broker", bus.connected_probe());
        bus.register_metrics(runner.registry());
        Ok(BusService { bus, runner })
    }

    /// To add the service's gRPC APIs and background tasks.
    pub fn runner(&mut self) -> &mut Runner {
        &mut self.runner
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The address its gRPC port listens on.
    pub fn address(&self) -> SocketAddr {
        self.runner.address()
    }

    /// The address its metrics are served on (`GET /metrics`).
    pub fn metrics_address(&self) -> SocketAddr {
        self.runner.metrics_address()
    }

    /// How long each step of its shutdown may take.
    pub fn grace(&self) -> Duration {
        self.runner.grace()
    }

    /// Waits until the broker connection is up.
    pub async fn wait_ready(&self, wait: Duration) -> Result<(), BusError> {
        self.bus.wait_connected(wait).await
    }

    /// Serves until `shutdown` is cancelled; then `drain` (the service's own
    /// last work), then the bus: messages in hand finished and acknowledged,
    /// receipts and the outbox sent.
    pub async fn run_until_stopped<D>(self, shutdown: CancellationToken, drain: D)
    where
        D: Future<Output = ()>,
    {
        let BusService { bus, runner } = self;
        runner
            .run(shutdown, async move {
                drain.await;
                bus.shutdown().await;
            })
            .await;
    }
}
