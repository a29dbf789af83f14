//! Building and running the workstation on the one service runner
//! (`egov_runtime::service`): regulations and calendar → identity → pool and
//! migrations → staff enrolment → the bus serving the inbox → the runner
//! (employees' API, health from the broker and the database, the autopilot)
//! → run until cancelled → drain.

use crate::api::WorkstationApi;
use crate::engine::Workstation;
use crate::enrolment;
use crate::handler;
use crate::settings::Settings;
use anyhow::Context as _;
use egov_bus::{Bus, BusService, Inbox};
use egov_calendar::Calendar;
use egov_proto::workstation::workstation_server::WorkstationServer;
use egov_regulations::Registry;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    workstation: Arc<Workstation>,
    service: BusService,
    /// Cancelled when the autopilot has finished its tasks in hand.
    autopilot_done: CancellationToken,
}

/// How often the metrics read from the database are refreshed.
const METRICS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let mut tuning = settings.workstation.clone();
        let regulations = match &tuning.regulations {
            Some(dir) => egov_regulations::load_dir(dir)?,
            None => Registry::embedded()?,
        };
        crate::autopilot::check_fields(&settings.workstation.autopilot, &regulations)?;
        let calendar = Calendar::try_embedded()?;
        let now = tuning.registration_time.unwrap_or_else(chrono::Utc::now);
        crate::procedure::check_calendar(&regulations, &calendar, now)
            .map_err(|problem| anyhow::anyhow!("the working calendar: {problem}"))?;
        let opened = egov_runtime::service::open(
            SystemId::Workstation,
            &settings.trust,
            &settings.database,
            &MIGRATOR,
        )
        .await?;
        let (identity, trust, pool) = (opened.identity, opened.trust, opened.pool);
        // The staff entries (demo passwords in plain text among them) are
        // needed only to enrol; the workstation does not keep them.
        let staff: Vec<_> = std::mem::take(&mut tuning.staff)
            .iter()
            .map(|e| e.enrolment())
            .collect();
        let keys = enrolment::enrol(
            &pool,
            &trust,
            &tuning.provider_bin,
            &staff,
            tuning.password_iterations,
            tuning.signer.as_deref(),
        )
        .await?;
        let workstation = Arc::new(Workstation {
            wake_channel: format!("{}_workstation_tasks", settings.database.schema),
            pool: pool.clone(),
            regulations,
            calendar,
            keys,
            trust: trust.clone(),
            tuning,
        });
        let bus = Bus::start(
            settings.bus.clone(),
            identity,
            trust,
            Some(Inbox {
                handler: Arc::new(handler::Inbox {
                    workstation: workstation.clone(),
                }),
                pool: pool.clone(),
            }),
        )
        .await
        .context("starting the bus")?;

        let mut service = BusService::bind(
            "Workstation",
            &settings.grpc,
            &settings.metrics,
            bus.clone(),
            &pool,
        )
        .await
        .with_context(|| {
            format!(
                "binding gRPC to {} and metrics to {}",
                settings.grpc.listen, settings.metrics.listen
            )
        })?;
        let runner = service.runner();
        let api = WorkstationServer::new(WorkstationApi {
            workstation: workstation.clone(),
            bus: bus.clone(),
        })
        .max_decoding_message_size(runner.max_message_bytes());
        runner.serve(api);
        // What the journal holds, for operators: applications by regulation,
        // channel and state (issued ones are the results given), and the
        // tasks past their due time.
        egov_runtime::metrics::database_gauges(
            runner,
            pool.clone(),
            "workstation_applications",
            "Applications in the journal, by regulation, channel and state",
            METRICS_EVERY,
            "SELECT regulation, channel, state, count(*) FROM applications GROUP BY 1, 2, 3",
            |row| {
                use sqlx::Row;
                let labels = ["regulation", "channel", "state"]
                    .iter()
                    .enumerate()
                    .map(|(i, name)| Ok(((*name).to_owned(), row.try_get::<String, _>(i)?)))
                    .collect::<Result<_, sqlx::Error>>()?;
                Ok((labels, row.try_get(3)?))
            },
        );
        egov_runtime::metrics::database_gauges(
            runner,
            pool.clone(),
            "workstation_overdue_tasks",
            "Staff tasks not done by their due time, by regulation and role (as ListOverdue counts them)",
            METRICS_EVERY,
            "SELECT a.regulation, t.role, count(*) FROM application_tasks t
             JOIN applications a ON a.id = t.application_id
             WHERE a.state = 'in_progress' AND t.done_at IS NULL AND t.due_at < now()
             GROUP BY 1, 2",
            |row| {
                use sqlx::Row;
                let labels = vec![
                    ("regulation".to_owned(), row.try_get::<String, _>(0)?),
                    ("role".to_owned(), row.try_get::<String, _>(1)?),
                ];
                Ok((labels, row.try_get(2)?))
            },
        );
        let autopilot_done = CancellationToken::new();
        let (ws, outbox, done) = (workstation.clone(), bus, autopilot_done.clone());
        service.runner().task(move |stop| async move {
            crate::autopilot::run(ws, outbox, stop).await;
            done.cancel();
        });
        Ok(Application {
            workstation,
            service,
            autopilot_done,
        })
    }

    /// The address the employees' gRPC API listens on.
    pub fn address(&self) -> SocketAddr {
        self.service.address()
    }

    /// The address its metrics are served on (`GET /metrics`).
    pub fn metrics_address(&self) -> SocketAddr {
        self.service.metrics_address()
    }

    pub fn workstation(&self) -> &Arc<Workstation> {
        &self.workstation
    }

    pub fn bus(&self) -> &Bus {
        self.service.bus()
    }

    /// Waits until the broker connection is up and the inbox is consumed.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        Ok(self.service.wait_ready(wait).await?)
    }

    /// Serves until `shutdown` is cancelled; then the autopilot finishes its
    /// task in hand, and the bus the messages in flight and the outbox (so
    /// what the last task sent goes out before the connection closes).
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application {
            service,
            autopilot_done,
            ..
        } = self;
        // Half the grace for the autopilot, so the bus always gets the rest.
        let autopilot_grace = service.grace() / 2;
        let autopilot = async move {
            let _ = tokio::time::timeout(autopilot_grace, autopilot_done.cancelled()).await;
        };
        service.run_until_stopped(shutdown, autopilot).await;
        Ok(())
    }
}
