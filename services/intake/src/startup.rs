//! Building and running the intake on the one service runner
//! (`egov_runtime::service`), as every service does: settings → regulations
//! and calendar → identity and trust → pool and migrations → operators
//! enrolled → the bus serving the inbox → the runner (gRPC API, health from
//! the broker and the database) → drain.

use crate::api::IntakeApi;
use crate::inbox;
use crate::intake::Intake;
use crate::settings::Settings;
use anyhow::Context as _;
use egov_bus::{Bus, Inbox};
use egov_calendar::Calendar;
use egov_proto::intake::intake_server::IntakeServer;
use egov_regulations::Registry;
use egov_runtime::service::Runner;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    intake: Arc<Intake>,
    bus: Bus,
    runner: Runner,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let regulations = match &settings.intake.regulations {
            Some(dir) => egov_regulations::load_dir(dir)?,
            None => Registry::embedded()?,
        };
        let calendar = Calendar::try_embedded().context("loading the working calendar")?;
        let opened = egov_runtime::service::open(
            SystemId::Intake,
            &settings.trust,
            &settings.database,
            &MIGRATOR,
        )
        .await?;
        let (identity, trust, pool) = (opened.identity, opened.trust, opened.pool);
        let passwords = egov_accounts::Passwords::new(
            settings.intake.argon2_memory_kib,
            settings.intake.argon2_iterations,
        )
        .await?;
        let mut intake = Intake::new(
            pool.clone(),
            trust.clone(),
            regulations,
            calendar,
            settings.intake.clone(),
            passwords,
        );
        intake.enrol(&settings.intake.operators).await?;
        let intake = Arc::new(intake);
        let bus = Bus::start(
            settings.bus.clone(),
            identity,
            trust,
            Some(Inbox {
                handler: Arc::new(inbox::Inbox {
                    intake: intake.clone(),
                }),
                pool: pool.clone(),
            }),
        )
        .await
        .context("starting the bus")?;
        intake.set_bus(bus.clone());

        let mut runner = Runner::bind("Intake", &settings.grpc)
            .await
            .with_context(|| format!("binding gRPC to {}", settings.grpc.listen))?;
        runner
            .serve(IntakeServer::new(IntakeApi {
                intake: intake.clone(),
            }))
            .probe_database(&pool);
        runner.probe("broker", bus.connected_probe());
        let (sweeping, every) = (intake.clone(), settings.intake.storage_sweep_every);
        runner.task(move |stop| crate::storage::sweep(sweeping, every, stop));
        Ok(Application {
            intake,
            bus,
            runner,
        })
    }

    /// The address the operators' gRPC API listens on.
    pub fn address(&self) -> SocketAddr {
        self.runner.address()
    }

    pub fn intake(&self) -> &Arc<Intake> {
        &self.intake
    }

    /// Waits until the broker connection is up.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        self.bus
            .wait_connected(wait)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Serves until `shutdown` is cancelled, then finishes the messages in
    /// hand (inbox, outbox) and stops.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let bus = self.bus.clone();
        self.runner
            .run(shutdown, async move { bus.shutdown().await })
            .await;
        Ok(())
    }
}
