//! Building and running the workstation, as the gateway's startup does:
//! settings → regulations and calendar → identity and trust → pool and
//! migrations → staff enrolment → the bus serving the inbox → the gRPC
//! listener (port 0 allowed; the bound port is readable) → run until
//! cancelled (API, autopilot) → drain.

use crate::api::WorkstationApi;
use crate::engine::Workstation;
use crate::enrolment;
use crate::handler;
use crate::settings::Settings;
use anyhow::Context as _;
use egov_bus::{Bus, Inbox};
use egov_calendar::Calendar;
use egov_proto::workstation::workstation_server::WorkstationServer;
use egov_regulations::Registry;
use egov_runtime::grpc;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    workstation: Arc<Workstation>,
    bus: Bus,
    listener: TcpListener,
    address: SocketAddr,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let mut tuning = settings.workstation.clone();
        let regulations = match &tuning.regulations {
            Some(dir) => egov_regulations::load_dir(dir)?,
            None => Registry::embedded()?,
        };
        check_autopilot_fields(&settings, &regulations)?;
        let calendar = Calendar::try_embedded()?;
        let (identity, trust) = settings
            .trust
            .load()
            .context("loading the workstation's identity")?;
        anyhow::ensure!(
            identity.system == SystemId::Workstation,
            "trust.certificate names {}, not the workstation",
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
            .context("migrating the workstation's schema")?;
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
                pool,
            }),
        )
        .await
        .context("starting the bus")?;
        let listener = grpc::bind(settings.grpc.listen)
            .await
            .with_context(|| format!("binding gRPC to {}", settings.grpc.listen))?;
        let address = listener.local_addr()?;
        Ok(Application {
            workstation,
            bus,
            listener,
            address,
        })
    }

    /// The address the employees' gRPC API listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn workstation(&self) -> &Arc<Workstation> {
        &self.workstation
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Waits until the broker connection is up and the inbox is consumed.
    pub async fn wait_ready(&self, wait: Duration) -> anyhow::Result<()> {
        self.bus
            .wait_connected(wait)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Serves until `shutdown` is cancelled, then stops the autopilot after
    /// its task in hand, lets in-flight calls and messages finish and flushes
    /// the outbox.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (health, health_service, reflection) = grpc::standard_services();
        health
            .set_not_serving::<WorkstationServer<WorkstationApi>>()
            .await;
        let api = WorkstationServer::new(WorkstationApi {
            workstation: self.workstation.clone(),
            bus: self.bus.clone(),
        });
        let router = grpc::server()
            .trace_fn(egov_runtime::propagation::grpc_server_span)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(api);
        let grpc_stop = CancellationToken::new();
        let server = tokio::spawn(grpc::serve(router, self.listener, grpc_stop.clone()));
        let autopilot_stop = CancellationToken::new();
        let autopilot = tokio::spawn(crate::autopilot::run(
            self.workstation.clone(),
            self.bus.clone(),
            autopilot_stop.clone(),
        ));
        tracing::info!(address = %self.address, autopilot = self.workstation.tuning.autopilot.enabled, "Workstation gRPC API listening; connecting to the broker.");
        let readiness = {
            let bus = self.bus.clone();
            let health = health.clone();
            let address = self.address;
            tokio::spawn(async move {
                while bus.wait_connected(Duration::from_secs(60)).await.is_err() {
                    tracing::warn!("Still no broker connection.");
                }
                health
                    .set_serving::<WorkstationServer<WorkstationApi>>()
                    .await;
                tracing::info!(%address, namespace = %bus.names().namespace(), "Workstation ready.");
            })
        };

        shutdown.cancelled().await;
        tracing::info!("Shutting down: finishing the task in hand and the calls in flight.");
        health
            .set_not_serving::<WorkstationServer<WorkstationApi>>()
            .await;
        readiness.abort();
        autopilot_stop.cancel();
        let grace = self.workstation.tuning.shutdown_grace;
        if tokio::time::timeout(grace, autopilot).await.is_err() {
            tracing::warn!(
                ?grace,
                "The autopilot did not stop in time; its uncommitted task is done again after a restart."
            );
        }
        grpc_stop.cancel();
        let _ = server.await;
        self.bus.shutdown().await;
        tracing::info!("Workstation stopped.");
        Ok(())
    }
}

/// Every configured autopilot field must fit each form that has it.
fn check_autopilot_fields(settings: &Settings, regulations: &Registry) -> anyhow::Result<()> {
    for (name, value) in &settings.workstation.autopilot.fields {
        for regulation in regulations.iter() {
            for form in &regulation.forms {
                if let Some(field) = form.fields.iter().find(|f| &f.name == name) {
                    crate::documents::check_value(field.field_type, value).map_err(|problem| {
                        anyhow::anyhow!(
                            "workstation.autopilot.fields.{name}: {problem} (form {} of regulation {})",
                            form.code,
                            regulation.code
                        )
                    })?;
                }
            }
        }
    }
    Ok(())
}
