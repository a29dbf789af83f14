//! Building and running the gateway on the one service runner
//! (`egov_runtime::service`): `build` loads what it needs and binds its
//! listener (port 0 allowed; the bound port is readable), `run_until_stopped`
//! serves until told to stop, then drains.

use crate::api::GatewayApi;
use crate::bridge::Bridge;
use crate::gateway::Gateway;
use crate::ingress::GatewayHook;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::pipeline::{Entrance, Pipeline};
use crate::routes::RoutingTable;
use crate::settings::Settings;
use anyhow::Context as _;
use egov_bus::connection::{Connector, ConnectorSettings};
use egov_proto::gateway::gateway_server::GatewayServer;
use egov_runtime::service::Runner;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    gateway: Arc<Gateway>,
    entrance: Arc<Entrance>,
    runner: Runner,
    pipeline: tokio::task::JoinHandle<()>,
    notifier: tokio::task::JoinHandle<()>,
    /// Stops the ingress consumers (the first step of the drain).
    stopping: CancellationToken,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let routes = match &settings.gateway.routes {
            Some(path) => RoutingTable::load(path)?,
            None => RoutingTable::embedded(),
        };
        let opened = egov_runtime::service::open(
            SystemId::Gateway,
            &settings.trust,
            &settings.database,
            &MIGRATOR,
        )
        .await?;
        let (identity, trust, pool) = (opened.identity, opened.trust, opened.pool);
        let names = settings.bus.names()?;
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
            limiter: (settings.gateway.rate_limit_per_second > 0.0).then(|| {
                egov_runtime::limit::RateLimiter::new(
                    settings.gateway.rate_limit_per_second,
                    settings.gateway.rate_limit_burst,
                )
            }),
        });
        let (pipeline, pipeline_task) = Pipeline::start(gateway.clone());
        let entrance = Arc::new(Entrance::new(pipeline));
        let stopping = CancellationToken::new();
        connector.run(vec![Arc::new(GatewayHook {
            gateway: gateway.clone(),
            entrance: entrance.clone(),
            stopping: stopping.clone(),
        })]);
        let mut runner = Runner::bind("Gateway", &settings.grpc, &settings.metrics, &gateway.trust)
            .await
            .with_context(|| {
                format!(
                    "binding gRPC to {} and metrics to {}",
                    settings.grpc.listen, settings.metrics.listen
                )
            })?;
        gateway.metrics.register(runner.registry());
        let api = GatewayServer::new(GatewayApi {
            gateway: gateway.clone(),
            entrance: entrance.clone(),
            mailboxes: crate::receive::Mailboxes::start(gateway.clone()),
        })
        .max_decoding_message_size(runner.max_message_bytes());
        runner.serve(api).probe_database(&gateway.pool);
        let broker = connector.clone();
        runner.probe("broker", move || {
            let connected = broker.is_connected();
            async move { connected }
        });
        let resend = gateway.clone();
        runner.task(move |stop| async move { resend.resend_unreported(stop).await });
        if let Some(dir) = &settings.gateway.archive_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating gateway.archive_dir {}", dir.display()))?;
        }
        let archiver = gateway.clone();
        runner.task(move |stop| crate::archive::writer::keep_retention(archiver, stop));
        let sweeper = gateway.clone();
        runner.task(move |stop| async move { sweeper.expire_overdue(stop).await });
        let depths = gateway.clone();
        let depths_url = settings.bus.url.clone();
        runner.task(move |stop| async move {
            let mut every = tokio::time::interval(crate::metrics::DEPTHS_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = every.tick() => {}
                }
                let connection = tokio::select! {
                    _ = stop.cancelled() => return,
                    connection = tokio::time::timeout(
                        crate::metrics::DEPTHS_EVERY,
                        lapin::Connection::connect(
                            secrecy::ExposeSecret::expose_secret(&depths_url),
                            lapin::ConnectionProperties::default().with_connection_name(
                                format!("{}/gateway/depths", depths.names.namespace()).into(),
                            ),
                        ),
                    ) => connection,
                };
                if let Ok(Ok(connection)) = connection {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = depths.metrics.read_depths(&connection, &depths.names) => {}
                    }
                    let _ = connection.close(200, "depths read".into()).await;
                }
            }
        });
        let counters = gateway.clone();
        runner.task(move |stop| async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            every.tick().await;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = every.tick() => counters.metrics.log(),
                }
            }
        });
        Ok(Application {
            gateway,
            entrance,
            runner,
            pipeline: pipeline_task,
            notifier: notifier_task,
            stopping,
        })
    }

    /// The address the gRPC API listens on.
    pub fn address(&self) -> SocketAddr {
        self.runner.address()
    }

    /// The address its metrics are served on (`GET /metrics`).
    pub fn metrics_address(&self) -> SocketAddr {
        self.runner.metrics_address()
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
        let Application {
            gateway,
            entrance,
            runner,
            pipeline,
            notifier,
            stopping,
        } = self;
        let drain = async move {
            stopping.cancel();
            entrance.close();
            let _ = pipeline.await;
            entrance.mark_drained();
            // The last status notices go out, then the notifier ends.
            gateway.notifier.stop();
            let _ = notifier.await;
            gateway.metrics.log();
            gateway.connector.close().await;
        };
        runner.run(shutdown, drain).await;
        Ok(())
    }
}
