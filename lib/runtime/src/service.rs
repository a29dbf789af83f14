//! The one way a service of the mesh runs: [`Runner`] binds the gRPC
//! listener, serves the service's APIs beside health and reflection, keeps
//! one meaning of health, runs the service's background tasks, and shuts
//! down within one grace period.
//!
//! Health: every served service (and the overall "" entry) is SERVING while
//! every probe passes — the broker connection and the database, as the
//! service declares them — and NOT_SERVING otherwise, checked every
//! [`PROBE_EVERY`] and changed only when it changes. The first time all
//! pass, the runner logs "<Name> ready." (what operators and the tests that
//! start a service as a process wait for).
//!
//! Metrics: the runner holds the service's registry ([`Runner::registry`],
//! see [`crate::metrics`]) and serves it at `GET /metrics` on the
//! `[metrics] listen` port, logged as "<Name> metrics listening."; it adds
//! `egov_serving` (1 while health is SERVING).
//!
//! Shutdown, on the token: health NOT_SERVING; the gRPC server stops taking
//! calls and finishes those in hand; background tasks are told to stop; the
//! service's own drain runs (messages in flight finished and acknowledged);
//! each step bounded by `grpc.shutdown_grace`, with no fixed sleeps.

use crate::metrics::{Gauge, MetricsSettings, Registry};
use crate::settings::{FieldErrors, duration};
use crate::tls::{ServerTls, TlsMode};
use serde::Deserialize;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;

/// How often the probes are checked.
pub const PROBE_EVERY: Duration = Duration::from_millis(200);
/// A probe that has not answered in this time has failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The `[grpc]` block every service's settings have.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSettings {
    /// Where the gRPC API listens; port 0 picks a free port.
    pub listen: SocketAddr,
    /// How long each step of a graceful shutdown may take.
    #[serde(with = "duration", default = "default_grace")]
    pub shutdown_grace: Duration,
    /// The largest request message the port takes, in bytes (the gRPC
    /// message's length on the wire); a larger one is refused with
    /// RESOURCE_EXHAUSTED `payload_too_large` before it is read.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// "off": plaintext, no client certificate (a laptop sandbox; the
    /// default, said so at start-up); "mutual": TLS, and every client
    /// presents a certificate of the mesh CA (`trust.ca_certificate`) that
    /// its revocation list does not name (see [`crate::tls`]).
    #[serde(default)]
    pub tls: TlsMode,
    /// The port's TLS certificate and PKCS#8 key (PEM), issued by the mesh
    /// CA for this system (`egovctl pki` writes `tls/<system>.crt.pem`);
    /// needed when `tls` is "mutual".
    #[serde(default)]
    pub tls_certificate: Option<PathBuf>,
    #[serde(default)]
    pub tls_private_key: Option<PathBuf>,
}

fn default_grace() -> Duration {
    Duration::from_secs(10)
}

/// 8 MiB: above tonic's 4 MiB default, so the portal's and the intake's
/// 5 MiB attachments fit with the rest of their request.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

fn default_max_message_bytes() -> usize {
    DEFAULT_MAX_MESSAGE_BYTES
}

impl GrpcSettings {
    pub fn validate(&self, errors: &mut FieldErrors) {
        errors.check(
            !self.shutdown_grace.is_zero(),
            "grpc.shutdown_grace",
            "must be more than zero",
        );
        errors.check(
            self.max_message_bytes >= 4096,
            "grpc.max_message_bytes",
            "must be at least 4096",
        );
        if self.tls == TlsMode::Mutual {
            for (field, path) in [
                ("grpc.tls_certificate", &self.tls_certificate),
                ("grpc.tls_private_key", &self.tls_private_key),
            ] {
                match path {
                    None => errors.add(field, "must be set when grpc.tls is \"mutual\""),
                    Some(path) => errors.check(
                        path.is_file(),
                        field,
                        format!("{} is not a readable file", path.display()),
                    ),
                }
            }
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What every service opens first: its identity (checked to be `system`'s),
/// the mesh's trust store, and its database pool with its schema migrated.
pub struct Opened {
    pub identity: std::sync::Arc<egov_trust::Identity>,
    pub trust: std::sync::Arc<egov_trust::TrustStore>,
    pub pool: sqlx::PgPool,
}

/// Opens what a service of `system` needs from its `trust` and `database`
/// settings, and migrates its schema with `migrator`.
pub async fn open(
    system: egov_trust::SystemId,
    trust: &crate::trust::TrustSettings,
    database: &crate::database::DatabaseSettings,
    migrator: &sqlx::migrate::Migrator,
) -> Result<Opened, OpenError> {
    let (identity, trust) = trust.load().map_err(|e| OpenError::Identity {
        system,
        problem: e.to_string(),
    })?;
    if identity.system != system {
        return Err(OpenError::Identity {
            system,
            problem: format!("trust.certificate names {}, not {system}", identity.system),
        });
    }
    let pool = database.connect().await.map_err(OpenError::Database)?;
    migrator
        .run(&pool)
        .await
        .map_err(|e| OpenError::Migrate { system, source: e })?;
    Ok(Opened {
        identity,
        trust,
        pool,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("loading the {system}'s identity: {problem}")]
    Identity {
        system: egov_trust::SystemId,
        problem: String,
    },
    #[error("connecting to PostgreSQL: {0}")]
    Database(sqlx::Error),
    #[error("migrating the {system}'s schema: {source}")]
    Migrate {
        system: egov_trust::SystemId,
        source: sqlx::migrate::MigrateError,
    },
}

/// Something a service cannot serve without: true while it is reachable.
type Probe = Box<dyn Fn() -> BoxFuture<bool> + Send + Sync>;

/// The running parts of a service, assembled by its `build` and run by its
/// `run_until_stopped`.
pub struct Runner {
    name: &'static str,
    listener: TcpListener,
    address: SocketAddr,
    metrics_listener: TcpListener,
    metrics_address: SocketAddr,
    registry: Registry,
    grace: Duration,
    max_message_bytes: usize,
    /// `grpc.tls = "mutual"`: the port's TLS; None: plaintext.
    tls: Option<Arc<ServerTls>>,
    routes: RoutesBuilder,
    served: Vec<&'static str>,
    probes: Vec<(&'static str, Probe)>,
    tasks: Vec<Box<dyn FnOnce(CancellationToken) -> BoxFuture<()> + Send>>,
}

impl Runner {
    /// Binds the service's listeners, gRPC and metrics (port 0 allowed: see
    /// [`Runner::address`] and [`Runner::metrics_address`]). `name` is how
    /// logs name the service ("Gateway", "Workstation", "Individuals
    /// registry"); its first word, lowercased, names the ErrorInfo domain of
    /// the runner's own refusals ("gateway.egov-mesh"). `trust` checks the
    /// clients' certificates when `grpc.tls` is "mutual".
    pub async fn bind(
        name: &'static str,
        grpc: &GrpcSettings,
        metrics: &MetricsSettings,
        trust: &Arc<egov_trust::TrustStore>,
    ) -> std::io::Result<Runner> {
        let tls = match grpc.tls {
            TlsMode::Off => None,
            TlsMode::Mutual => {
                let (Some(certificate), Some(key)) = (&grpc.tls_certificate, &grpc.tls_private_key)
                else {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "grpc.tls is \"mutual\" without grpc.tls_certificate and grpc.tls_private_key",
                    ));
                };
                let tls = ServerTls::load(certificate, key, trust.clone()).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("grpc.tls_certificate / grpc.tls_private_key: {e}"),
                    )
                })?;
                Some(Arc::new(tls))
            }
        };
        let listener = TcpListener::bind(grpc.listen).await?;
        let address = listener.local_addr()?;
        let metrics_listener = TcpListener::bind(metrics.listen).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("binding metrics to {}: {e}", metrics.listen),
            )
        })?;
        let metrics_address = metrics_listener.local_addr()?;
        Ok(Runner {
            name,
            listener,
            address,
            metrics_listener,
            metrics_address,
            registry: crate::metrics::registry(),
            grace: grpc.shutdown_grace,
            max_message_bytes: grpc.max_message_bytes,
            tls,
            routes: RoutesBuilder::default(),
            served: Vec::new(),
            probes: Vec::new(),
            tasks: Vec::new(),
        })
    }

    /// The address the gRPC API listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The address `GET /metrics` is served on.
    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics_address
    }

    /// The service's metrics registry (names prefixed `egov_`): register
    /// the service's metrics here while building it; the runner serves it.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// `grpc.max_message_bytes`: the runner refuses larger request messages
    /// with `payload_too_large`. A service gives its API's tonic server the
    /// same decoding limit (`XServer::new(api).max_decoding_message_size(..)`),
    /// so that tonic's own, lower by default (4 MiB), does not answer first.
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    /// The ErrorInfo domain of the runner's own refusals.
    fn domain(name: &str) -> String {
        let first = name.split_whitespace().next().unwrap_or(name);
        format!("{}.egov-mesh", first.to_lowercase())
    }

    /// Serves a gRPC service; health and reflection list it. Give its tonic
    /// server [`Runner::max_message_bytes`] as its decoding limit.
    pub fn serve<S>(&mut self, service: S) -> &mut Self
    where
        S: tonic::codegen::Service<
                tonic::codegen::http::Request<tonic::body::Body>,
                Response = tonic::codegen::http::Response<tonic::body::Body>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.served.push(S::NAME);
        self
    }

    /// Adds a probe: the service is NOT_SERVING while `check` says false.
    pub fn probe<F, Fut>(&mut self, what: &'static str, check: F) -> &mut Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.probes
            .push((what, Box::new(move || Box::pin(check()) as BoxFuture<bool>)));
        self
    }

    /// The database probe: a connection answers `SELECT 1`.
    pub fn probe_database(&mut self, pool: &sqlx::PgPool) -> &mut Self {
        let pool = pool.clone();
        self.probe("database", move || {
            let pool = pool.clone();
            async move { sqlx::query("SELECT 1").execute(&pool).await.is_ok() }
        })
    }

    /// A background task, told to stop (its token cancelled) at shutdown
    /// and awaited within the grace period.
    pub fn task<F, Fut>(&mut self, task: F) -> &mut Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(Box::new(move |stop| Box::pin(task(stop))));
        self
    }

    /// Serves until `shutdown` is cancelled, then stops as the module says;
    /// `drain` is the service's own last step (finish messages in flight).
    pub async fn run<D>(self, shutdown: CancellationToken, drain: D)
    where
        D: Future<Output = ()>,
    {
        let Runner {
            name,
            listener,
            address,
            metrics_listener,
            metrics_address,
            mut registry,
            grace,
            max_message_bytes,
            tls,
            mut routes,
            served,
            probes,
            tasks,
        } = self;
        let (health, health_service) = tonic_health::server::health_reporter();
        for service in &served {
            health
                .set_service_status(*service, ServingStatus::NotServing)
                .await;
        }
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        routes.add_service(health_service);
        let (reflection_v1, reflection_v1alpha) = reflection(&served);
        routes.add_service(reflection_v1);
        routes.add_service(reflection_v1alpha);

        let server =
            tonic::transport::Server::builder().trace_fn(crate::propagation::grpc_server_span);
        let service = crate::grpc::MessageLimit::new(
            crate::tls::RevocationGate::new(
                routes.routes(),
                tls.as_ref().map(|tls| tls.trust().clone()),
                Runner::domain(name),
            ),
            max_message_bytes,
            Runner::domain(name),
        );
        let grpc_stop = CancellationToken::new();
        let mode = if tls.is_some() {
            TlsMode::Mutual
        } else {
            TlsMode::Off
        };
        let server = tokio::spawn(crate::grpc::serve(
            server,
            service,
            listener,
            tls,
            name,
            grpc_stop.clone(),
        ));
        tracing::info!(%address, tls = %mode.as_str(), "{name} gRPC API listening.");
        match mode {
            TlsMode::Mutual => tracing::info!(
                "{name} gRPC API speaks mutual TLS: every client presents a certificate of the mesh CA, checked against its revocation list."
            ),
            TlsMode::Off => tracing::warn!(
                "{name} gRPC API is PLAINTEXT (grpc.tls = \"off\"): no client is authenticated; a laptop sandbox only. Set grpc.tls = \"mutual\" (EGOV__GRPC__TLS=mutual) for anything else."
            ),
        }

        let serving = Gauge::<i64>::default();
        registry.register(
            "serving",
            "1 while the service's health is SERVING (every probe passes), else 0",
            serving.clone(),
        );
        let metrics_stop = CancellationToken::new();
        let metrics_server = tokio::spawn(crate::metrics::serve(
            metrics_listener,
            std::sync::Arc::new(registry),
            metrics_stop.clone(),
        ));
        tracing::info!(address = %metrics_address, "{name} metrics listening.");

        let stopping = CancellationToken::new();
        let watcher = tokio::spawn(watch_health(
            name,
            address,
            health.clone(),
            served.clone(),
            probes,
            serving,
            stopping.clone(),
        ));
        let mut running = JoinSet::new();
        for task in tasks {
            running.spawn(task(stopping.clone()));
        }

        shutdown.cancelled().await;
        tracing::info!("{name} shutting down: finishing what is in hand.");
        stopping.cancel();
        let _ = watcher.await;
        for service in &served {
            health
                .set_service_status(*service, ServingStatus::NotServing)
                .await;
        }
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        grpc_stop.cancel();
        // Streams such as a health Watch never end by themselves: give the
        // server the grace period, then close what is left.
        let server_abort = server.abort_handle();
        match tokio::time::timeout(grace, server).await {
            Ok(Ok(Err(error))) => tracing::error!(%error, "The gRPC server failed."),
            Ok(_) => {}
            Err(_) => {
                tracing::warn!(?grace, "gRPC streams still open at shutdown; closing them.");
                server_abort.abort();
            }
        }
        if tokio::time::timeout(grace, drain).await.is_err() {
            tracing::warn!(
                ?grace,
                "Work in flight did not finish in time; it will be redelivered."
            );
        }
        if tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!(
                ?grace,
                "Background tasks did not stop in time; aborting them."
            );
            running.abort_all();
        }
        metrics_stop.cancel();
        match tokio::time::timeout(grace, metrics_server).await {
            Ok(Ok(Err(error))) => tracing::error!(%error, "The metrics server failed."),
            Ok(_) => {}
            Err(_) => tracing::warn!(?grace, "Metrics scrapes still open at shutdown."),
        }
        tracing::info!("{name} stopped.");
    }
}

/// Reflection v1 and v1alpha (older clients: grpcurl, Postman, Python's
/// grpcio-reflection), each listing only what this port serves.
fn reflection(
    served: &[&'static str],
) -> (
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
) {
    let builder = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(egov_proto::DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health")
            .with_service_name("grpc.reflection.v1.ServerReflection")
            .with_service_name("grpc.reflection.v1alpha.ServerReflection");
        for service in served {
            builder = builder.with_service_name(*service);
        }
        builder
    };
    let v1 = builder()
        .build_v1()
        .expect("the descriptor sets are generated at build time and valid");
    let v1alpha = builder()
        .build_v1alpha()
        .expect("the descriptor sets are generated at build time and valid");
    (v1, v1alpha)
}

/// Sets health from the probes until stopped.
async fn watch_health(
    name: &'static str,
    address: SocketAddr,
    health: tonic_health::server::HealthReporter,
    served: Vec<&'static str>,
    probes: Vec<(&'static str, Probe)>,
    serving_gauge: Gauge<i64>,
    stopping: CancellationToken,
) {
    let mut current: Option<bool> = None;
    let mut ready_once = false;
    loop {
        let mut failing = Vec::new();
        for (what, probe) in &probes {
            let ok = tokio::time::timeout(PROBE_TIMEOUT, probe())
                .await
                .unwrap_or(false);
            if !ok {
                failing.push(*what);
            }
        }
        let serving = failing.is_empty();
        if current != Some(serving) {
            let status = if serving {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            for service in &served {
                health.set_service_status(*service, status).await;
            }
            health.set_service_status("", status).await;
            serving_gauge.set(i64::from(serving));
            if serving && !ready_once {
                ready_once = true;
                tracing::info!(%address, "{name} ready.");
            } else if serving {
                tracing::info!("{name} serving again.");
            } else if current.is_none() {
                tracing::info!(waiting_for = ?failing, "{name} not serving yet.");
            } else {
                tracing::warn!(unreachable = ?failing, "{name} not serving.");
            }
            current = Some(serving);
        }
        tokio::select! {
            _ = stopping.cancelled() => return,
            _ = tokio::time::sleep(PROBE_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Runner;

    #[test]
    fn the_runners_refusals_name_the_services_domain() {
        assert_eq!(Runner::domain("Gateway"), "gateway.egov-mesh");
        assert_eq!(
            Runner::domain("Individuals registry"),
            "individuals.egov-mesh"
        );
        assert_eq!(Runner::domain("Notary system"), "notary.egov-mesh");
    }
}
