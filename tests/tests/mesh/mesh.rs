//! One scenario's mesh: every system as its own OS process from the built
//! binaries, on a fresh database (one schema per system), a fresh broker
//! namespace and a CA of its own whose revocation list `egovctl pki serve`
//! distributes. Each system reads a settings file written for it into the
//! scenario's directory, as an operator's deploy/config/<system>.toml; every
//! gRPC port is 127.0.0.1:0 and learnt from the system's own log line; a
//! system is ready when grpc.health.v1 says SERVING.
//!
//! Dropping the mesh kills every process (SIGKILL, reaped), deletes the
//! namespace's queues and the database; when the scenario failed, the tail
//! of every process's log is printed and the directory is kept.

use crate::process::{self, Process};
use chrono::{Duration as Days, NaiveDate, Utc};
use egov_runtime::tls::ClientTls;
use egov_testkit::database::TestDatabase;
use egov_testkit::mesh::RETRY_DELAYS;
use egov_testkit::wait;
use egov_trust::ca_dir::CaDirectory;
use egov_trust::iin::Sex;
use egov_trust::{Bin, Iin, SubjectSpec, SystemId, TlsSubject};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// A bound for every wait, long enough for seven processes per scenario,
/// two scenarios at a time, on two cores; never a sleep.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// The provider's BIN (the workstation's staff certificates carry it).
pub const PROVIDER_BIN: &str = egov_harness::PROVIDER_BIN;
/// The State Corporation's BIN (its operators' certificates carry it).
pub const STATE_CORPORATION_BIN: &str = "160440007161";
/// The synthetic population's date, and the day БНАЖ judges powers of
/// attorney on, so the catalogue's `valid` cases are valid.
pub const AS_OF: &str = "2026-11-01";
/// People in each scenario's registries (`egovctl seed --people`).
const PEOPLE: &str = "300";

/// The systems with a gRPC port, in the order they start.
pub const SYSTEMS: [SystemId; 6] = [
    SystemId::Gateway,
    SystemId::Individuals,
    SystemId::Notary,
    SystemId::Workstation,
    SystemId::Portal,
    SystemId::Intake,
];

/// The CRL distribution point's name among the processes.
const CRL: &str = "crl";

/// Meshes running at once in this test binary, whatever the number of test
/// threads: each holds some 30 PostgreSQL connections (six systems, the
/// seed, the test's own pool), and the server's default limit is 100.
/// `EGOV_SCENARIOS_AT_ONCE` changes it.
fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let at_once = std::env::var("EGOV_SCENARIOS_AT_ONCE")
            .ok()
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(2);
        Semaphore::new(at_once)
    })
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The workstation's staff steps done by its rules; without, the
    /// employees act through its API.
    pub autopilot: bool,
    /// Where every system exports its spans (OTLP/HTTP); none: no export.
    pub otlp_endpoint: Option<String>,
    /// Every gRPC port with `grpc.tls = "mutual"` (its TLS certificate from
    /// the scenario's CA); the scenario's clients and egovctl present the
    /// operator certificate "scenario". Without: plaintext, as `make run`.
    pub tls: bool,
    /// Every system connects to RabbitMQ as its own least-privilege user
    /// (`egovctl broker definitions`, imported by `rabbitmqctl`), as compose
    /// runs the mesh; without: every system as the test broker's user.
    pub broker_users: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            autopilot: true,
            otlp_endpoint: None,
            tls: false,
            broker_users: false,
        }
    }
}

/// The process name of a second gateway instance.
const SECOND_GATEWAY: &str = "gateway-2";

/// The operator whose TLS certificate the scenario's clients present.
pub const SCENARIO_OPERATOR: &str = "scenario";

/// A person of the scenario's population (ЖТ МДБ knows them).
#[derive(Debug, Clone)]
pub struct Person {
    pub iin: String,
    pub surname: String,
    pub given_name: String,
    pub phone: String,
}

pub struct Mesh {
    dir: PathBuf,
    pub ca: CaDirectory,
    /// With `Options::tls`: what the scenario's clients present.
    client_tls: Option<ClientTls>,
    pub crl_url: String,
    namespace: String,
    options: Options,
    /// With `Options::broker_users`: each system's broker password.
    broker_passwords: BTreeMap<SystemId, String>,
    processes: Mutex<BTreeMap<&'static str, Running>>,
    /// The test's database, for what a tester reads: the population's
    /// catalogue and the SMS the phones got.
    pub db: sqlx::PgPool,
    people_taken: AtomicI64,
    // Dropped after the body of `drop`: the processes are dead by then.
    database: TestDatabase,
    // Released last, once everything of this mesh is gone.
    _slot: SemaphorePermit<'static>,
}

struct Running {
    process: Process,
    channel: Option<Channel>,
}

impl Mesh {
    /// Starts the CRL point, seeds the registries, then the gateway and
    /// every other system, each ready when it reports SERVING.
    pub async fn start(options: Options) -> Mesh {
        let slot = slots()
            .acquire()
            .await
            .expect("the semaphore is never closed");
        // Every binary first: a missing one fails before anything starts.
        let egovctl = process::binary("egovctl");
        process::warn_if_stale(&egovctl);
        for system in SYSTEMS {
            process::warn_if_stale(&process::binary(&binary_name(system)));
        }
        let dir = std::env::temp_dir().join(egov_testkit::unique_name("egov-scenario-"));
        for sub in ["logs", "config"] {
            std::fs::create_dir_all(dir.join(sub)).expect("the scenario's directory");
        }
        let database = TestDatabase::create().await;
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(database.url())
            .await
            .expect("connect to the scenario's database");
        let ca = CaDirectory::init(
            &dir.join("pki"),
            "egov-mesh scenario CA",
            Days::days(30),
            false,
        )
        .expect("the scenario's CA");
        let now = Utc::now();
        for system in SystemId::ALL {
            ca.issue(
                &SubjectSpec::System(system),
                now - Days::hours(1),
                now + Days::days(1),
            )
            .expect("a system certificate");
            if options.tls {
                ca.issue_tls(
                    &TlsSubject::System(system),
                    now - Days::hours(1),
                    now + Days::days(1),
                )
                .expect("a system's TLS certificate");
            }
        }
        let client_tls = options.tls.then(|| {
            let operator = TlsSubject::operator(SCENARIO_OPERATOR).expect("a name");
            let (_, certificate, key) = ca
                .issue_tls(&operator, now - Days::hours(1), now + Days::days(1))
                .expect("the scenario's TLS certificate");
            ClientTls::load(&ca.ca_certificate_path(), &certificate, &key)
                .expect("the scenario's TLS material")
        });
        let mut mesh = Mesh {
            dir,
            ca,
            client_tls,
            crl_url: String::new(),
            namespace: egov_testkit::unique_name("s-"),
            options,
            broker_passwords: BTreeMap::new(),
            processes: Mutex::new(BTreeMap::new()),
            db,
            people_taken: AtomicI64::new(0),
            database,
            _slot: slot,
        };

        // The CA's distribution point, as `egovctl pki serve` runs it.
        let pki = mesh.ca.root().display().to_string();
        mesh.spawn(
            CRL,
            egovctl,
            &["pki", "--dir", &pki, "serve", "--listen", "127.0.0.1:0"],
        );
        let port = wait::until(PATIENCE, "the CRL distribution point listens", || {
            let port = mesh.with(CRL, |p| p.process.listening_port());
            async move { port }
        })
        .await;
        mesh.crl_url = format!("http://127.0.0.1:{port}/crl");
        wait::until(PATIENCE, "the CRL distribution point serves", || {
            http_get(port, "/crl")
        })
        .await;

        if mesh.options.broker_users {
            mesh.create_broker_users().await;
        }

        // The registries' population (as an operator seeds it) while the
        // gateway starts.
        let url = mesh.database.url().to_owned();
        let seed_args = [
            "seed",
            "--people",
            PEOPLE,
            "--as-of",
            AS_OF,
            "--database-url",
            &url,
        ];
        let seed = mesh.egovctl(&seed_args);
        let gateway = mesh.launch(SystemId::Gateway);
        tokio::join!(seed, gateway);

        // The other five at once.
        let rest = SYSTEMS[1..].iter().map(|system| mesh.launch(*system));
        futures_util::future::join_all(rest).await;
        mesh
    }

    /// One RabbitMQ user per system, as an operator makes them: `egovctl
    /// broker definitions` with the passwords in its environment, imported
    /// by `rabbitmqctl` (the users are deleted with the mesh).
    async fn create_broker_users(&mut self) {
        let definitions = self.dir.join("config").join("broker-definitions.json");
        let mut command = tokio::process::Command::new(process::binary("egovctl"));
        command.args([
            "broker",
            "definitions",
            "--namespace",
            &self.namespace,
            "--out",
            &definitions.display().to_string(),
        ]);
        for system in SystemId::ALL {
            let password = egov_testkit::unique_name("pw-");
            command.env(
                format!("EGOV_BROKER_PASSWORD_{}", system.as_str().to_uppercase()),
                &password,
            );
            self.broker_passwords.insert(system, password);
        }
        let made = command
            .output()
            .await
            .expect("run egovctl broker definitions");
        assert!(
            made.status.success(),
            "egovctl broker definitions: {made:?}"
        );
        let imported = tokio::process::Command::new("rabbitmqctl")
            .args([
                "-q",
                "import_definitions",
                &definitions.display().to_string(),
            ])
            .output()
            .await
            .expect("run rabbitmqctl import_definitions");
        assert!(
            imported.status.success(),
            "rabbitmqctl import_definitions: {imported:?}"
        );
    }

    /// The broker URL `system` connects with: its own user's with
    /// `Options::broker_users`, else the test broker's.
    pub fn broker_url(&self, system: SystemId) -> String {
        let shared = egov_testkit::amqp_url();
        match self.broker_passwords.get(&system) {
            Some(password) => {
                let host = shared
                    .rsplit_once('@')
                    .map_or("127.0.0.1:5672/%2f", |(_, h)| h);
                let names = egov_bus::Names::new(&self.namespace).expect("a namespace");
                let user = egov_bus::permissions::user_name(&names, system);
                format!("amqp://{user}:{password}@{host}")
            }
            None => shared,
        }
    }

    /// Writes the system's settings, starts its binary, waits until ready.
    async fn launch(&self, system: SystemId) {
        let config = self.write_settings(system);
        let args = ["--config".to_owned(), config.display().to_string()];
        self.spawn(
            system.as_str(),
            process::binary(&binary_name(system)),
            &args.each_ref().map(String::as_str),
        );
        self.wait_ready(system).await;
    }

    fn spawn(&self, name: &'static str, program: PathBuf, args: &[&str]) {
        let log = self.dir.join("logs").join(format!("{name}.log"));
        let process = Process::spawn(
            name,
            program,
            args.iter().map(|a| (*a).to_owned()).collect(),
            log,
        );
        self.lock().insert(
            name,
            Running {
                process,
                channel: None,
            },
        );
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<&'static str, Running>> {
        self.processes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn with<T>(&self, name: &str, f: impl FnOnce(&mut Running) -> T) -> T {
        let mut processes = self.lock();
        let running = processes
            .get_mut(name)
            .unwrap_or_else(|| panic!("{name} was never started"));
        f(running)
    }

    /// Waits for the address the system logs, then for SERVING on it.
    async fn wait_ready(&self, system: SystemId) -> SocketAddr {
        self.wait_ready_as(system.as_str(), system).await
    }

    /// As [`Mesh::wait_ready`], for the process named `name` running
    /// `system`.
    async fn wait_ready_as(&self, name: &'static str, system: SystemId) -> SocketAddr {
        let address = wait::until(PATIENCE, &format!("{name} logs its gRPC address"), || {
            let address = self.with(name, |p| p.process.logged_address());
            async move { address }
        })
        .await;
        let channel = self.endpoint(address, system).connect_lazy();
        let health = HealthClient::new(channel.clone());
        wait::until(PATIENCE, &format!("{name} is SERVING"), || {
            self.with(name, |p| p.process.check_alive());
            let mut health = health.clone();
            async move {
                let status = health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner()
                    .status();
                if status == ServingStatus::Serving {
                    Ok(())
                } else {
                    Err(format!("{status:?}"))
                }
            }
        })
        .await;
        self.with(name, |p| {
            p.process.address = Some(address);
            p.channel = Some(channel);
        });
        address
    }

    /// The endpoint of `system`'s port at `address`: plaintext, or with
    /// `Options::tls` mutual TLS presenting the scenario's certificate.
    pub fn endpoint(&self, address: SocketAddr, system: SystemId) -> Endpoint {
        egov_runtime::tls::endpoint(&address.to_string(), system, self.client_tls.as_ref())
            .expect("an endpoint")
    }

    /// The system's gRPC address in its current run.
    pub fn address(&self, system: SystemId) -> SocketAddr {
        self.with(system.as_str(), |p| p.process.address)
            .unwrap_or_else(|| panic!("{system} is not running"))
    }

    /// The environment that has egovctl present the scenario's TLS client
    /// certificate (empty without `Options::tls`).
    fn egovctl_tls_env(&self) -> Vec<(&'static str, String)> {
        if self.client_tls.is_none() {
            return Vec::new();
        }
        let (certificate, key) = self
            .ca
            .tls_paths(&TlsSubject::operator(SCENARIO_OPERATOR).expect("a name"));
        vec![
            (
                "EGOV_TLS_CA",
                self.ca.ca_certificate_path().display().to_string(),
            ),
            ("EGOV_TLS_CERT", certificate.display().to_string()),
            ("EGOV_TLS_KEY", key.display().to_string()),
        ]
    }

    /// A gRPC channel to the system's current run.
    pub fn channel(&self, system: SystemId) -> Channel {
        self.with(system.as_str(), |p| p.channel.clone())
            .unwrap_or_else(|| panic!("{system} is not running"))
    }

    /// `kill -9` the system's process (reaped; its queues and database stay).
    pub fn sigkill(&self, system: SystemId) {
        self.with(system.as_str(), |p| {
            p.process.kill();
            p.channel = None;
        });
    }

    /// A second gateway instance on the first one's settings file (its own
    /// ports, as `listen = 127.0.0.1:0` gives): the same broker namespace,
    /// so the two share the ingress, and the same database, so they share
    /// the hash chain (issue 15 point 5). Its logs are `gateway-2.log`.
    pub async fn start_second_gateway(&self) -> SocketAddr {
        let config = self.dir.join("config").join("gateway.toml");
        let args = ["--config".to_owned(), config.display().to_string()];
        self.spawn(
            SECOND_GATEWAY,
            process::binary(&binary_name(SystemId::Gateway)),
            &args.each_ref().map(String::as_str),
        );
        self.wait_ready_as(SECOND_GATEWAY, SystemId::Gateway).await
    }

    pub fn sigkill_second_gateway(&self) {
        self.with(SECOND_GATEWAY, |p| p.process.kill());
    }

    /// The second gateway's metrics address.
    pub fn second_gateway_metrics(&self) -> SocketAddr {
        self.with(SECOND_GATEWAY, |p| p.process.logged_metrics_address())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the killed system again on the same settings file.
    pub async fn restart(&self, system: SystemId) -> SocketAddr {
        self.with(system.as_str(), |p| p.process.restart());
        self.wait_ready(system).await
    }

    /// Runs `egovctl args…` to its end (its output in logs/egovctl.log);
    /// fails if it does.
    pub async fn egovctl(&self, args: &[&str]) {
        let log_path = self.dir.join("logs").join("egovctl.log");
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("the egovctl log");
        std::io::Write::write_all(
            &mut log,
            format!("=== egovctl {}\n", args.join(" ")).as_bytes(),
        )
        .expect("write the log");
        let status = tokio::process::Command::new(process::binary("egovctl"))
            .args(args)
            .envs(self.egovctl_tls_env())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .status()
            .await
            .expect("run egovctl");
        assert!(
            status.success(),
            "egovctl {} failed ({status}):\n{}",
            args.join(" "),
            process::tail(&log_path, 40)
        );
    }

    /// The next adult of the population, alive, with an identity card (a
    /// tester picks one from `individuals.persons`, as the README's walk
    /// does); each call gives another.
    pub async fn person(&self) -> Person {
        let n = self.people_taken.fetch_add(1, Ordering::SeqCst);
        let (iin, surname, given_name): (String, String, String) = sqlx::query_as(
            "SELECT iin, surname, given_name FROM individuals.persons
             WHERE birth_date BETWEEN '1960-01-01' AND '1999-12-31'
               AND deceased_on IS NULL AND declared_missing_on IS NULL
               AND document_kind = 'id_card'
             ORDER BY iin OFFSET $1 LIMIT 1",
        )
        .bind(n)
        .fetch_one(&self.db)
        .await
        .unwrap_or_else(|e| panic!("person {n} of the population: {e}"));
        Person {
            iin,
            surname,
            given_name,
            phone: format!("+7701{:07}", 1000 + n),
        }
    }

    /// Settings of `system`, written as deploy/config/<system>.toml is:
    /// every port 127.0.0.1:0, the scenario's broker namespace, database
    /// (the system's own schema) and CA, the CRL from the scenario's point.
    fn write_settings(&self, system: SystemId) -> PathBuf {
        let (certificate, key) = self.ca.paths_for(&SubjectSpec::System(system));
        let delays: Vec<String> = RETRY_DELAYS
            .iter()
            .map(|d| q(format!("{}ms", d.as_millis())))
            .collect();
        let grpc_tls = if self.options.tls {
            let (certificate, key) = self.ca.tls_paths(&TlsSubject::System(system));
            format!(
                "# Mutual TLS on the gRPC port (issue 14 point 1).\n\
                 tls = \"mutual\"\ntls_certificate = {}\ntls_private_key = {}\n",
                q(certificate.display()),
                q(key.display()),
            )
        } else {
            String::new()
        };
        let mut text = format!(
            "[grpc]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"2s\"\n{grpc_tls}\n\
             [bus]\nurl = {}\nnamespace = {}\nretry_delays = [{}]\n\
             reconnect_min = \"50ms\"\nreconnect_max = \"1s\"\n\n\
             [database]\nurl = {}\nschema = {}\nmax_connections = 4\n\n\
             [trust]\nca_certificate = {}\ncertificate = {}\nprivate_key = {}\n\
             crl_url = {}\n# Always fetched: a revocation shows at once.\ncrl_ttl = \"0s\"\n\n\
             [telemetry]\nlog_format = \"plain\"\n",
            q(self.broker_url(system)),
            q(&self.namespace),
            delays.join(", "),
            q(self.database.url()),
            q(system),
            q(self.ca.ca_certificate_path().display()),
            q(certificate.display()),
            q(key.display()),
            q(&self.crl_url),
        );
        if let Some(endpoint) = &self.options.otlp_endpoint {
            text.push_str(&format!("otlp_endpoint = {}\n", q(endpoint)));
        }
        text.push('\n');
        text.push_str(&match system {
            SystemId::Notary => format!("[lookup]\nas_of = {}\n", q(AS_OF)),
            SystemId::Workstation => self.workstation_settings(),
            SystemId::Portal => "[portal]\n# A cheap Argon2: the cost is a setting.\n\
                 argon2_memory_kib = 1024\nargon2_iterations = 1\nlookup_deadline = \"3s\"\n\
                 # Under the gRPC message limit, so the corpus meets this one.\n\
                 max_document_bytes = 1048576\n"
                .to_owned(),
            SystemId::Intake => self.intake_settings(),
            SystemId::Gateway => format!(
                "[gateway]\n# Where `egovctl gateway archive` writes the log's archives.\n\
                 archive_dir = {}\n",
                q(self.dir.join("archive").display())
            ),
            _ => String::new(),
        });
        let path = self.dir.join("config").join(format!("{system}.toml"));
        std::fs::write(&path, text).expect("write the settings");
        path
    }

    /// The provider and its four employees (certificates from the CA; the
    /// workstation holds the head's key only).
    fn workstation_settings(&self) -> String {
        let mut text = format!(
            "[workstation]\nprovider_bin = {}\npassword_iterations = 1000\nsigner = \"head\"\n\
             # Deadlines planned on a day the calendar data has, whatever the\n\
             # real date (issue 12 point 7: no time bomb).\n\
             registration_time = {}\n\n\
             [workstation.autopilot]\nenabled = {}\nsweep = \"500ms\"\n\
             fields = {{ allowance_amount = \"52000\", allowance_period = \"2026-12-01..2027-11-30\", \
             birth_certificate_number = \"0001234\" }}\n",
            q(PROVIDER_BIN),
            q(egov_harness::REGISTERED_AT),
            self.options.autopilot,
        );
        let staff = [
            ("clerk", "office_clerk", false),
            ("head", "head", true),
            ("specialist", "specialist", false),
            ("responsible", "responsible_person", false),
        ];
        for (n, (login, role, holds_key)) in staff.into_iter().enumerate() {
            let (certificate, key) =
                self.employee_certificate(PROVIDER_BIN, login, 500 + n as u16 * 10);
            text.push_str(&format!(
                "\n[[workstation.staff]]\nlogin = {}\npassword = {}\nrole = {}\ncertificate = {}\n",
                q(login),
                q(egov_harness::password(login)),
                q(role),
                q(certificate.display()),
            ));
            if holds_key {
                text.push_str(&format!("private_key = {}\n", q(key.display())));
            }
        }
        text
    }

    /// The State Corporation's branch: a counter operator and an issuing
    /// operator (certificates from the CA naming its BIN).
    fn intake_settings(&self) -> String {
        let mut text = format!(
            "[intake]\nstate_corporation_bin = {}\n# A cheap Argon2: the cost is a setting.\n\
             argon2_memory_kib = 1024\nargon2_iterations = 1\nlookup_deadline = \"3s\"\n\
             # Acceptances (and dates of issue) on a day the calendar has.\n\
             counter_time = {}\n",
            q(STATE_CORPORATION_BIN),
            q(egov_harness::REGISTERED_AT),
        );
        let operators = [
            ("operator", "operator"),
            ("issuing", "issuing_operator"),
            ("accumulation", "accumulation_sector"),
            ("courier", "courier"),
        ];
        for (n, (login, role)) in operators.into_iter().enumerate() {
            let (certificate, key) =
                self.employee_certificate(STATE_CORPORATION_BIN, login, 600 + n as u16 * 10);
            text.push_str(&format!(
                "\n[[intake.operators]]\nlogin = {}\npassword = {}\nrole = {}\n\
                 certificate = {}\nprivate_key = {}\n",
                q(login),
                q(egov_harness::password(login)),
                q(role),
                q(certificate.display()),
                q(key.display()),
            ));
        }
        text
    }

    /// An employee's EDS certificate of the organisation `bin`.
    fn employee_certificate(&self, bin: &str, login: &str, serial: u16) -> (PathBuf, PathBuf) {
        let birth = NaiveDate::from_ymd_opt(1980, 5, 12).expect("a date");
        let iin = (serial..)
            .find_map(|serial| Iin::generate(birth, Sex::Female, serial))
            .expect("an IIN");
        let now = Utc::now();
        let (_, certificate, key) = self
            .ca
            .issue(
                &SubjectSpec::Employee {
                    iin,
                    bin: Bin::parse(bin).expect("a BIN"),
                    surname: login.to_owned(),
                    given_name: "Scenario".to_owned(),
                    organisation: format!("BIN {bin}"),
                },
                now - Days::hours(1),
                now + Days::days(1),
            )
            .expect("an employee certificate");
        (certificate, key)
    }

    pub fn ca_certificate(&self) -> PathBuf {
        self.ca.ca_certificate_path()
    }

    fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
}

/// Checks a CMS file (DER) as a person would: `openssl cms -verify`
/// against the mesh CA; the signed content on success.
pub fn openssl_verifies(ca_certificate: &Path, cms_der: &[u8]) -> Result<Vec<u8>, String> {
    let dir = std::env::temp_dir().join(egov_testkit::unique_name("cms-"));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let input = dir.join("signed.p7s");
    std::fs::write(&input, cms_der).expect("write the CMS");
    let output = std::process::Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
        ])
        .arg(&input)
        .arg("-CAfile")
        .arg(ca_certificate)
        .output()
        .expect("run openssl");
    let _ = std::fs::remove_dir_all(&dir);
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn binary_name(system: SystemId) -> String {
    format!("egov-{system}")
}

/// A TOML string (quoted, escaped).
fn q(value: impl Display) -> String {
    toml::Value::String(value.to_string()).to_string()
}

/// GET `path` on 127.0.0.1:`port`: Ok once it answers 200.
async fn http_get(port: u16, path: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .map_err(|_| "no answer".to_owned())?
        .map_err(|e| e.to_string())?;
    let status = String::from_utf8_lossy(&answer[..answer.len().min(16)]).into_owned();
    if status.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(status)
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        // The processes die first (SIGKILL, reaped), so none reconnects and
        // declares its queues again once the namespace is deleted.
        let mut processes = std::mem::take(&mut *self.lock());
        for running in processes.values_mut() {
            running.process.kill();
        }
        let failed = std::thread::panicking();
        if failed || std::env::var_os("TEST_LOG").is_some() {
            print_logs(&self.logs());
        }
        drop(processes);

        let names = egov_bus::Names::new(&self.namespace).expect("a namespace");
        let users: Vec<String> = self
            .broker_passwords
            .keys()
            .map(|system| egov_bus::permissions::user_name(&names, *system))
            .collect();
        // A thread and runtime of its own: Drop may run inside the test's.
        let _ = std::thread::spawn(move || {
            for user in users {
                let _ = std::process::Command::new("rabbitmqctl")
                    .args(["-q", "delete_user", &user])
                    .output();
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let Ok(connection) = lapin::Connection::connect(
                    &egov_testkit::amqp_url(),
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
                let _ = connection.close(200, "scenario done".into()).await;
            });
        })
        .join();

        if failed {
            eprintln!(
                "The scenario's settings, CA and full logs are kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The last lines of every process's log, for a failed scenario.
fn print_logs(dir: &Path) {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    logs.sort();
    for log in logs {
        eprintln!(
            "\n----- {} (last 80 lines) -----\n{}",
            log.display(),
            process::tail(&log, 80)
        );
    }
}

/// What the chaos scenarios (chaos.rs) need of the mesh beyond what a
/// diagram's walk does: a channel that does not panic while its system is
/// down, and the faults that touch only this mesh's share of the shared
/// broker and database.
impl Mesh {
    /// A gRPC channel to the system's current run, or None while it is
    /// killed or starting again.
    pub fn try_channel(&self, system: SystemId) -> Option<Channel> {
        self.lock()
            .get(system.as_str())
            .and_then(|p| p.channel.clone())
    }

    /// Has the broker close every connection of this mesh's systems (each
    /// bus names its connection `<namespace>/<system>/<instance>`,
    /// lib/bus/src/client.rs), as `rabbitmqctl close_all_connections` would
    /// for them, leaving other tests' connections alone. Returns how many
    /// were closed.
    pub async fn close_broker_connections(&self) -> usize {
        let listing = tokio::process::Command::new("rabbitmqctl")
            .args(["-q", "-s", "list_connections", "pid", "client_properties"])
            .output()
            .await
            .expect("run rabbitmqctl list_connections");
        assert!(
            listing.status.success(),
            "rabbitmqctl list_connections: {}",
            String::from_utf8_lossy(&listing.stderr)
        );
        let marker = format!("\"connection_name\",\"{}/", self.namespace);
        let pids: Vec<String> = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .filter(|line| line.contains(&marker))
            .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
            .collect();
        // All at once (rabbitmqctl takes half a second to start); a
        // connection may be gone already (its process reconnecting).
        let closing = pids.iter().map(|pid| {
            tokio::process::Command::new("rabbitmqctl")
                .args([
                    "-q",
                    "close_connection",
                    pid,
                    "chaos: the broker dropped the connection",
                ])
                .status()
        });
        for status in futures_util::future::join_all(closing).await {
            status.expect("run rabbitmqctl close_connection");
        }
        pids.len()
    }

    /// Terminates every PostgreSQL session on this mesh's database, as a
    /// PostgreSQL restart does to its clients, without touching the other
    /// tests' databases. Returns how many were terminated.
    pub async fn drop_database_sessions(&self) -> u64 {
        self.database.drop_connections().await
    }

    /// Messages waiting in this mesh's dead-letter queues: the gateway's
    /// (`<ns>.gateway.dead`) and each system's (`<ns>.dead.<system>`),
    /// by queue (lib/bus/src/names.rs).
    pub async fn dead_letters(&self) -> BTreeMap<String, u32> {
        let names = egov_bus::Names::new(&self.namespace).expect("a namespace");
        let connection = lapin::Connection::connect(
            &egov_testkit::amqp_url(),
            lapin::ConnectionProperties::default(),
        )
        .await
        .expect("connect to the broker");
        let mut queues = vec![names.gateway_dead()];
        queues.extend(SYSTEMS.iter().map(|s| names.dead(*s)));
        let mut depths = BTreeMap::new();
        for queue in queues {
            // A channel per queue: a passive declare of a missing queue
            // closes its channel.
            let channel = connection.create_channel().await.expect("a channel");
            let depth = channel
                .queue_declare(
                    queue.as_str().into(),
                    lapin::options::QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    Default::default(),
                )
                .await
                .map(|q| q.message_count())
                .unwrap_or(0);
            if depth > 0 {
                depths.insert(queue, depth);
            }
        }
        let _ = connection.close(200, "counted".into()).await;
        depths
    }
}

/// `egovctl --json` as a script runs it against this mesh.
impl Mesh {
    /// The scenario's directory (settings, logs, the CA).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The gateway's operator's credential for reads (GetStatus, Trace,
    /// VerifyLog), signed with the gateway's key from the scenario's CA.
    pub fn operator_read(&self) -> egov_proto::envelope::Envelope {
        self.credential(SystemId::Gateway)
    }

    /// A system's credential for reads: it sees what it is a party to.
    pub fn credential(&self, system: SystemId) -> egov_proto::envelope::Envelope {
        egov_bus::envelope::credential(&self.identity(system), "read")
    }

    /// A system's signing identity from the scenario's CA.
    fn identity(&self, system: SystemId) -> egov_trust::Identity {
        let (certificate, key) = self.ca.paths_for(&SubjectSpec::System(system));
        egov_trust::Identity::load(&certificate, &key).expect("the system's key")
    }

    /// An operator's credential for a registry's admin API (SetFault),
    /// signed with the registry's own key.
    pub fn registry_operator(&self, registry: SystemId) -> egov_proto::envelope::Envelope {
        egov_bus::envelope::credential_to(&self.identity(registry), registry, "operate")
    }

    /// Where a system serves its Prometheus metrics (this run's port).
    pub fn metrics_address(&self, system: SystemId) -> SocketAddr {
        self.with(system.as_str(), |p| p.process.logged_metrics_address())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until `system`'s metrics show `name{labels}` at `value` (the
    /// database gauges are read every 5 s), parsed with a Prometheus
    /// text parser.
    pub async fn wait_metric(
        &self,
        system: SystemId,
        name: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        let address = self.metrics_address(system);
        let what = format!("{system}'s {name}{labels:?} = {value}");
        wait::until(PATIENCE, &what, || async {
            let scrape = egov_testkit::metrics::scrape(address).await;
            match scrape.value(name, labels) {
                Some(v) if v == value => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await
    }

    /// The scenario's broker namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Runs `egovctl --json args…` with every system's address, the broker
    /// and the namespace of this mesh in its environment; the exit status
    /// and the one JSON document it printed on stdout.
    pub async fn egovctl_json(&self, args: &[&str]) -> (bool, serde_json::Value) {
        let mut command = tokio::process::Command::new(process::binary("egovctl"));
        command.arg("--json").args(args);
        for system in SYSTEMS {
            if let Some(address) = self.with(system.as_str(), |p| p.process.address) {
                let name = format!("EGOV_{}_ADDR", system.as_str().to_uppercase());
                command.env(name, format!("http://{address}"));
            }
        }
        let output = command
            .envs(self.egovctl_tls_env())
            .env("EGOV_AMQP_URL", egov_testkit::amqp_url())
            .env("EGOV_NAMESPACE", &self.namespace)
            .env("EGOV_PKI", self.ca.root())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("run egovctl");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "egovctl --json {}: not one JSON document ({e}):\n{stdout}\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.success(), json)
    }
}

/// The revocation list's distribution point away and back (the chaos
/// table's CRL fault).
impl Mesh {
    /// `kill -9` of the CRL point.
    pub fn crl_point_away(&self) {
        self.with(CRL, |p| p.process.kill());
    }

    /// The CRL point started again on the port every system's settings
    /// name, serving once more.
    pub async fn crl_point_back(&self) {
        let port: u16 = self
            .crl_url
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/crl")
            .parse()
            .expect("the CRL point's port");
        let listen = format!("127.0.0.1:{port}");
        self.with(CRL, |p| {
            p.process.replace_argument("127.0.0.1:0", &listen);
            p.process.restart();
        });
        wait::until(PATIENCE, "the CRL distribution point serves again", || {
            http_get(port, "/crl")
        })
        .await;
    }
}
