//! Building and running the gateway: `build` loads what it needs and binds
//! its listener (port 0 allowed; the bound port is readable), `run` serves
//! until told to stop, then drains.

use crate::api::GatewayApi;
use crate::gateway::{Bridge, Gateway, Metrics};
use crate::ingress::GatewayHook;
use crate::notify::Notifier;
use crate::pipeline::Pipeline;
use crate::routes::RoutingTable;
use crate::settings::Settings;
use anyhow::Context as _;
use egov_bus::Names;
use egov_bus::connection::{Connector, ConnectorSettings};
use egov_proto::gateway::gateway_server::GatewayServer;
use egov_runtime::grpc;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    gateway: Arc<Gateway>,
    listener: TcpListener,
    address: SocketAddr,
    pipeline: tokio::task::JoinHandle<()>,
    notifier: tokio::task::JoinHandle<()>,
    stopping: CancellationToken,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let routes = match &settings.gateway.routes {
            Some(path) => RoutingTable::load(path)?,
            None => RoutingTable::embedded(),
        };
        let (identity, trust) = settings
            .trust
            .load()
            .context("loading the gateway's identity")?;
        anyhow::ensure!(
            identity.system == SystemId::Gateway,
            "trust.certificate names {}, not the gateway",
            identity.system
        );
        let pool = settings
            .database
            .connect()
            .await
            .context("connecting to PostgreSQL")?;
        MIGRATOR
            .run(&pool)
            .await
            .context("migrating the gateway's schema")?;
        let names = Names::new(&settings.bus.namespace)?;
        let instance = egov_bus::names::new_instance();
        let connector = Connector::new(ConnectorSettings {
            url: settings.bus.url.clone(),
            connection_name: format!("{}/gateway/{instance}", names.namespace()),
            reconnect_min: settings.bus.reconnect_min,
            reconnect_max: settings.bus.reconnect_max,
        });
        let (notifier, notifier_task) = Notifier::start(
            identity.clone(),
            connector.clone(),
            pool.clone(),
            settings.gateway.status_flush,
            settings.bus.publish_timeout,
        );
        let gateway = Arc::new(Gateway {
            bridge: Bridge::new(names.reply(SystemId::Gateway, &instance)),
            tuning: settings.gateway.clone(),
            names,
            identity,
            trust,
            routes: Arc::new(routes),
            pool,
            connector: connector.clone(),
            notifier,
            retry_delays: settings.bus.retry_delays.clone(),
            publish_timeout: settings.bus.publish_timeout,
            prefetch: settings.bus.prefetch,
            metrics: Metrics::default(),
            entrance: Mutex::new(None),
            drained: CancellationToken::new(),
        });
        let (pipeline, pipeline_task) = Pipeline::start(gateway.clone());
        *gateway.entrance.lock().expect("entrance lock") = Some(pipeline);
        let stopping = CancellationToken::new();
        connector.run(vec![Arc::new(GatewayHook {
            gateway: gateway.clone(),
            stopping: stopping.clone(),
        })]);
        let listener = grpc::bind(settings.grpc.listen)
            .await
            .with_context(|| format!("binding gRPC to {}", settings.grpc.listen))?;
        let address = listener.local_addr()?;
        Ok(Application {
            gateway,
            listener,
            address,
            pipeline: pipeline_task,
            notifier: notifier_task,
            stopping,
        })
    }

    /// The address the gRPC API listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }

    /// Waits until the broker connection is up and the queues are consumed.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        self.gateway
            .connector
            .session(wait)
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Serves until `shutdown` is cancelled, then stops taking messages,
    /// finishes those in flight (logged, delivered, acknowledged) and exits.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (health, health_service, reflection) = grpc::standard_services();
        health.set_not_serving::<GatewayServer<GatewayApi>>().await;
        let api = GatewayServer::new(GatewayApi {
            gateway: self.gateway.clone(),
        });
        let router = grpc::server()
            .trace_fn(egov_runtime::propagation::grpc_server_span)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(api);
        let grpc_stop = CancellationToken::new();
        let server = tokio::spawn(grpc::serve(router, self.listener, grpc_stop.clone()));
        tracing::info!(address = %self.address, "Gateway gRPC API listening; connecting to the broker.");
        // Serving (health SERVING, "Gateway ready.") once the broker connection
        // is up and the queues are consumed.
        let readiness = {
            let gateway = self.gateway.clone();
            let health = health.clone();
            let address = self.address;
            tokio::spawn(async move {
                while gateway
                    .connector
                    .session(Duration::from_secs(60))
                    .await
                    .is_err()
                {
                    tracing::warn!("Still no broker connection.");
                }
                health.set_serving::<GatewayServer<GatewayApi>>().await;
                tracing::info!(%address, namespace = %gateway.names.namespace(), "Gateway ready.");
            })
        };

        let counters = {
            let gateway = self.gateway.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(60));
                every.tick().await;
                loop {
                    every.tick().await;
                    gateway.metrics.log();
                }
            })
        };

        let resend = {
            let gateway = self.gateway.clone();
            let stopping = self.stopping.clone();
            tokio::spawn(async move { gateway.resend_unreported(stopping).await })
        };

        shutdown.cancelled().await;
        tracing::info!("Shutting down: no new messages; finishing those in flight.");
        health.set_not_serving::<GatewayServer<GatewayApi>>().await;
        self.stopping.cancel();
        grpc_stop.cancel();
        // Streams such as a health Watch never end by themselves: give the
        // server the grace period, then close what is left.
        let grace = self.gateway.tuning.shutdown_grace;
        let server_abort = server.abort_handle();
        if tokio::time::timeout(grace, server).await.is_err() {
            tracing::warn!(?grace, "gRPC streams still open at shutdown; closing them.");
            server_abort.abort();
        }
        self.gateway.close_entrance();
        if tokio::time::timeout(grace, self.pipeline).await.is_err() {
            tracing::warn!(
                ?grace,
                "In-flight messages did not finish in time; they will be redelivered."
            );
        }
        self.gateway.drained.cancel();
        // Let the last status notices go out.
        tokio::time::sleep(self.gateway.tuning.status_flush * 2).await;
        counters.abort();
        readiness.abort();
        let _ = resend.await;
        self.notifier.abort();
        self.gateway.metrics.log();
        self.gateway.connector.close().await;
        tracing::info!("Gateway stopped.");
        Ok(())
    }
}
