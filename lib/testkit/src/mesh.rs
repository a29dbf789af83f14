//! One test's mesh: a database, a broker namespace and a CA. Systems get
//! their settings from [`TestMesh::env`] — the same `EGOV__…` variables an
//! operator would set — so an in-process service and a child process are
//! configured the same way.

use crate::database::TestDatabase;
use crate::pki::TestPki;
use egov_bus::names::QueueType;
use egov_bus::{Bus, BusSettings, Inbox, Names};
use egov_runtime::settings::SettingsSource;
use egov_trust::SystemId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Short retry delays, so tests see retries and dead letters quickly.
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(200)];

pub struct TestMesh {
    pub database: TestDatabase,
    pub pki: TestPki,
    pub namespace: String,
    /// `bus.queue_type` of every party (classic unless a test sets it
    /// before starting any).
    pub queue_type: QueueType,
}

impl TestMesh {
    pub async fn new() -> TestMesh {
        egov_runtime::telemetry::init_for_tests();
        TestMesh {
            database: TestDatabase::create().await,
            pki: TestPki::new().await,
            namespace: crate::env::unique_name("t-"),
            queue_type: QueueType::Classic,
        }
    }

    pub fn names(&self) -> Names {
        Names::new(&self.namespace)
            .expect("valid namespace")
            .with_queue_type(self.queue_type)
    }

    /// The settings of `system` as environment variables.
    pub fn env(&self, system: SystemId) -> HashMap<String, String> {
        self.pki.issued(system);
        let delays = RETRY_DELAYS
            .iter()
            .map(|d| format!("{}ms", d.as_millis()))
            .collect::<Vec<_>>()
            .join(",");
        let pairs = [
            ("EGOV__GRPC__LISTEN", "127.0.0.1:0".to_owned()),
            ("EGOV__BUS__URL", crate::env::amqp_url()),
            ("EGOV__BUS__NAMESPACE", self.namespace.clone()),
            ("EGOV__BUS__RETRY_DELAYS", delays),
            (
                "EGOV__BUS__QUEUE_TYPE",
                match self.queue_type {
                    QueueType::Classic => "classic",
                    QueueType::Quorum => "quorum",
                }
                .to_owned(),
            ),
            ("EGOV__BUS__RECONNECT_MIN", "50ms".to_owned()),
            ("EGOV__BUS__RECONNECT_MAX", "1s".to_owned()),
            ("EGOV__DATABASE__URL", self.database.url().to_owned()),
            ("EGOV__DATABASE__SCHEMA", system.to_string()),
            ("EGOV__DATABASE__MAX_CONNECTIONS", "4".to_owned()),
            (
                "EGOV__TRUST__CA_CERTIFICATE",
                self.pki.ca_certificate_path().display().to_string(),
            ),
            (
                "EGOV__TRUST__CERTIFICATE",
                self.pki.cert_path(system).display().to_string(),
            ),
            (
                "EGOV__TRUST__PRIVATE_KEY",
                self.pki.key_path(system).display().to_string(),
            ),
            ("EGOV__TRUST__CRL_URL", self.pki.crl_url.clone()),
            // Always fetch: a revocation in a test shows at once.
            ("EGOV__TRUST__CRL_TTL", "0s".to_owned()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// `env` as a settings source for `egov_runtime::settings::load`.
    pub fn source(&self, system: SystemId) -> SettingsSource {
        SettingsSource {
            file: None,
            env: self.env(system),
        }
    }

    pub fn bus_settings(&self) -> BusSettings {
        let mut settings = BusSettings::new(crate::env::amqp_url(), self.namespace.clone());
        settings.retry_delays = RETRY_DELAYS.to_vec();
        settings.reconnect_min = Duration::from_millis(50);
        settings.reconnect_max = Duration::from_secs(1);
        settings.publish_timeout = Duration::from_secs(10);
        settings.queue_type = self.queue_type;
        settings
    }

    /// A pool on `schema` of this test's database.
    pub async fn pool(&self, schema: &str) -> sqlx::PgPool {
        egov_runtime::database::DatabaseSettings {
            url: self.database.url().into(),
            schema: schema.to_owned(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
        .connect()
        .await
        .expect("connect to the test database")
    }

    /// A bus client acting as `system`, connected, serving `inbox` if given.
    pub async fn bus(&self, system: SystemId, inbox: Option<Inbox>) -> Bus {
        let bus = Bus::start(
            self.bus_settings(),
            self.pki.identity(system),
            self.pki.trust(),
            inbox,
        )
        .await
        .expect("start the bus");
        bus.wait_connected(Duration::from_secs(10))
            .await
            .expect("the bus connects");
        bus
    }

    /// An AMQP channel on this test's broker, for inspecting queues.
    pub async fn channel(&self) -> (lapin::Connection, lapin::Channel) {
        let connection = lapin::Connection::connect(
            &crate::env::amqp_url(),
            lapin::ConnectionProperties::default(),
        )
        .await
        .expect("connect to RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        (connection, channel)
    }

    /// How many messages wait in `queue` (declaring it passively).
    pub async fn queue_depth(&self, queue: &str) -> u32 {
        let (connection, channel) = self.channel().await;
        let depth = channel
            .queue_declare(
                queue.into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .map(|q| q.message_count())
            .unwrap_or(0);
        let _ = connection.close(200, "done".into()).await;
        depth
    }

    /// Has the broker close every connection of this test's namespace, as a
    /// broker restart would (through `rabbitmqctl`, so it needs the broker on
    /// this machine). Returns how many were closed.
    pub async fn close_broker_connections(&self) -> usize {
        let listing = tokio::process::Command::new("rabbitmqctl")
            .args(["-q", "-s", "list_connections", "pid", "client_properties"])
            .output()
            .await
            .expect("run rabbitmqctl list_connections");
        let marker = format!("\"connection_name\",\"{}/", self.namespace);
        let pids: Vec<String> = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .filter(|line| line.contains(&marker))
            .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
            .collect();
        for pid in &pids {
            let closed = tokio::process::Command::new("rabbitmqctl")
                .args([
                    "-q",
                    "close_connection",
                    pid,
                    "test: the broker dropped the connection",
                ])
                .status()
                .await
                .expect("run rabbitmqctl close_connection");
            assert!(
                closed.success(),
                "rabbitmqctl close_connection {pid} failed"
            );
        }
        pids.len()
    }

    /// The gateway's operator's credential for reads (GetStatus, Trace,
    /// VerifyLog): signed as the gateway.
    pub fn operator_read(&self) -> egov_proto::envelope::Envelope {
        egov_bus::envelope::credential(&self.pki.identity(SystemId::Gateway), "read")
    }

    /// A credential for `registry`'s admin API (SetFault), signed as
    /// `signer` (the registry itself or the gateway are its operators).
    pub fn registry_credential(
        &self,
        registry: SystemId,
        signer: SystemId,
    ) -> egov_proto::envelope::Envelope {
        egov_bus::envelope::credential_to(&self.pki.identity(signer), registry, "operate")
    }

    pub fn identity(&self, system: SystemId) -> Arc<egov_trust::Identity> {
        self.pki.identity(system)
    }
}

impl Drop for TestMesh {
    fn drop(&mut self) {
        let names = self.names();
        // Delete the namespace's queues on a thread of its own (Drop may run
        // inside the test's runtime).
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let Ok(connection) = lapin::Connection::connect(
                    &crate::env::amqp_url(),
                    lapin::ConnectionProperties::default(),
                )
                .await
                else {
                    return;
                };
                let _ = egov_bus::topology::delete_namespace(
                    &connection,
                    &names,
                    &RETRY_DELAYS,
                    &RETRY_DELAYS,
                )
                .await;
                let _ = connection.close(200, "test done".into()).await;
            });
        })
        .join();
    }
}
