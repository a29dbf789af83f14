//! Building and running the portal on the one service runner
//! (`egov_runtime::service`), as every service does: settings → regulations
//! → identity and trust → pool and migrations → the bus serving the inbox →
//! the runner (gRPC API, health from the broker and the database) → drain.

use crate::api::PortalApi;
use crate::cabinet;
use crate::portal::Portal;
use crate::settings::Settings;
use anyhow::Context as _;
use egov_bus::{Bus, BusService, Inbox};
use egov_proto::portal::portal_server::PortalServer;
use egov_regulations::Registry;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    portal: Arc<Portal>,
    service: BusService,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let regulations = match &settings.portal.regulations {
            Some(dir) => egov_regulations::load_dir(dir)?,
            None => Registry::embedded()?,
        };
        let opened = egov_runtime::service::open(
            SystemId::Portal,
            &settings.trust,
            &settings.database,
            &MIGRATOR,
        )
        .await?;
        let (identity, trust, pool) = (opened.identity, opened.trust, opened.pool);
        let passwords = egov_accounts::Passwords::new(
            settings.portal.argon2_memory_kib,
            settings.portal.argon2_iterations,
        )
        .await?;
        let portal = Arc::new(Portal::new(
            pool.clone(),
            trust.clone(),
            regulations,
            settings.portal.clone(),
            passwords,
        ));
        let bus = Bus::start(
            settings.bus.clone(),
            identity,
            trust,
            Some(Inbox {
                handler: Arc::new(cabinet::Inbox {
                    portal: portal.clone(),
                }),
                pool: pool.clone(),
            }),
        )
        .await
        .context("starting the bus")?;
        portal.set_bus(bus.clone());

        let mut service = BusService::bind("Portal", &settings.grpc, &settings.metrics, bus, &pool)
            .await
            .with_context(|| {
                format!(
                    "binding gRPC to {} and metrics to {}",
                    settings.grpc.listen, settings.metrics.listen
                )
            })?;
        let runner = service.runner();
        let api = PortalServer::new(PortalApi {
            portal: portal.clone(),
            logins: egov_runtime::limit::logins_per_minute(
                settings.portal.login_attempts_per_minute,
            ),
        })
        .max_decoding_message_size(runner.max_message_bytes());
        runner.serve(api);
        // The cabinets' applications by regulation and stage (issued ones
        // are the results in the cabinet), from the database.
        egov_runtime::metrics::database_gauges(
            runner,
            pool.clone(),
            "portal_applications",
            "Applications in the citizens' cabinets, by regulation and stage",
            std::time::Duration::from_secs(5),
            "SELECT regulation, stage, count(*) FROM applications GROUP BY 1, 2",
            |row| {
                use sqlx::Row;
                let stage =
                    egov_proto::portal::Stage::try_from(i32::from(row.try_get::<i16, _>(1)?))
                        .map(|s| s.as_str_name().trim_start_matches("STAGE_").to_lowercase())
                        .unwrap_or_else(|_| "unknown".into());
                let labels = vec![
                    ("regulation".to_owned(), row.try_get::<String, _>(0)?),
                    ("stage".to_owned(), stage),
                ];
                Ok((labels, row.try_get(2)?))
            },
        );
        Ok(Application { portal, service })
    }

    /// The address the citizens' gRPC API listens on.
    pub fn address(&self) -> SocketAddr {
        self.service.address()
    }

    /// The address its metrics are served on (`GET /metrics`).
    pub fn metrics_address(&self) -> SocketAddr {
        self.service.metrics_address()
    }

    pub fn portal(&self) -> &Arc<Portal> {
        &self.portal
    }

    /// Waits until the broker connection is up.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        Ok(self.service.wait_ready(wait).await?)
    }

    /// Serves until `shutdown` is cancelled, then finishes the messages in
    /// hand (inbox, outbox) and stops.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.service.run_until_stopped(shutdown, async {}).await;
        Ok(())
    }
}
