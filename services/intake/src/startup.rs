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
use egov_bus::{Bus, BusService, Inbox};
use egov_calendar::Calendar;
use egov_proto::intake::intake_server::IntakeServer;
use egov_regulations::Registry;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    intake: Arc<Intake>,
    service: BusService,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let regulations = match &settings.intake.regulations {
            Some(dir) => egov_regulations::load_dir(dir)?,
            None => Registry::embedded()?,
        };
        let calendar = Calendar::try_embedded().context("loading the working calendar")?;
        // A receipt's date of issue is planned on the calendar: a year it
        // lacks stops the start, naming the year, not the first request.
        let today = settings
            .intake
            .counter_time
            .unwrap_or_else(chrono::Utc::now);
        egov_regulations::check_calendar(&regulations, &calendar, today, |rule| {
            rule.intake && rule.channel == egov_regulations::Channel::StateCorporation
        })
        .map_err(|problem| anyhow::anyhow!("the working calendar: {problem}"))?;
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

        let mut service = BusService::bind("Intake", &settings.grpc, &settings.metrics, bus, &pool)
            .await
            .with_context(|| {
                format!(
                    "binding gRPC to {} and metrics to {}",
                    settings.grpc.listen, settings.metrics.listen
                )
            })?;
        let runner = service.runner();
        let api = IntakeServer::new(IntakeApi {
            intake: intake.clone(),
            logins: egov_runtime::limit::logins_per_minute(
                settings.intake.login_attempts_per_minute,
            ),
        })
        .max_decoding_message_size(runner.max_message_bytes());
        runner.serve(api);
        // The counter's requests by regulation and stage (issued ones are
        // the results handed over), from the database.
        egov_runtime::metrics::database_gauges(
            runner,
            pool.clone(),
            "intake_requests",
            "Requests taken at the State Corporation's counter, by regulation and stage",
            std::time::Duration::from_secs(5),
            "SELECT regulation, stage, count(*) FROM requests GROUP BY 1, 2",
            |row| {
                use sqlx::Row;
                let stage =
                    egov_proto::intake::Stage::try_from(i32::from(row.try_get::<i16, _>(1)?))
                        .map(|s| s.as_str_name().trim_start_matches("STAGE_").to_lowercase())
                        .unwrap_or_else(|_| "unknown".into());
                let labels = vec![
                    ("regulation".to_owned(), row.try_get::<String, _>(0)?),
                    ("stage".to_owned(), stage),
                ];
                Ok((labels, row.try_get(2)?))
            },
        );
        // Unclaimed results go back to the provider after their month.
        let (sweeping, every) = (intake.clone(), settings.intake.storage_sweep_every);
        service
            .runner()
            .task(move |stop| crate::storage::sweep(sweeping, every, stop));
        Ok(Application { intake, service })
    }

    /// The address the operators' gRPC API listens on.
    pub fn address(&self) -> SocketAddr {
        self.service.address()
    }

    /// The address its metrics are served on (`GET /metrics`).
    pub fn metrics_address(&self) -> SocketAddr {
        self.service.metrics_address()
    }

    pub fn intake(&self) -> &Arc<Intake> {
        &self.intake
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
