//! A mesh per test — the real gateway, ЖТ МДБ, БНАЖ, the workstation (on
//! autopilot) and the intake, in-process, on the test's own database,
//! broker namespace and CA — and State Corporation operators who use the
//! intake's API as a counter application would.

use chrono::{Days, Duration as Hours, NaiveDate, Utc};
use egov_individuals::model::{Address, DocumentKind, IdentityDocument, Person, RegistryRows};
use egov_notary::model::{NotaryRows, PowerOfAttorney};
use egov_proto::intake::intake_client::IntakeClient;

use egov_testkit::TestMesh;
use egov_trust::iin::Sex;
use egov_trust::{Bin, Iin, SubjectSpec, SystemId};
use egov_workstation::settings::StaffEntry;
use egov_workstation::staff::Role;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub const PATIENCE: Duration = Duration::from_secs(30);
const PROVIDER_BIN: &str = "990340001234";
pub const STATE_CORPORATION_BIN: &str = "160440007161";

/// A system running in-process until dropped or stopped.
pub struct Running {
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    fn spawn<F>(stop: CancellationToken, run: F) -> Running
    where
        F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Running {
            stop,
            task: Some(tokio::spawn(run)),
        }
    }

    /// Stops it gracefully and waits.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Settings of `system` from the test's mesh, with overrides.
pub fn load<T: serde::de::DeserializeOwned + egov_runtime::settings::Validate>(
    mesh: &TestMesh,
    system: SystemId,
    overrides: &[(&str, &str)],
) -> T {
    let mut source = mesh.source(system);
    for (k, v) in overrides {
        source.env.insert((*k).to_owned(), (*v).to_owned());
    }
    egov_runtime::settings::load(system.as_str(), &source).expect("settings")
}

pub async fn start_gateway(mesh: &TestMesh) -> Running {
    let app = egov_gateway::Application::build(load(mesh, SystemId::Gateway, &[]))
        .await
        .expect("build the gateway");
    app.wait_ready(PATIENCE).await.expect("gateway ready");
    let stop = CancellationToken::new();
    Running::spawn(stop.clone(), app.run_until_stopped(stop))
}

pub async fn start_individuals(mesh: &TestMesh) -> Running {
    let settings: egov_individuals::settings::Settings = load(mesh, SystemId::Individuals, &[]);
    let app = egov_individuals::startup::Application::build(settings)
        .await
        .expect("build the registry");
    app.wait_ready(PATIENCE).await.expect("registry ready");
    let stop = CancellationToken::new();
    Running::spawn(stop.clone(), app.run_until_stopped(stop))
}

/// The provider's staff (a clerk, a head with the signing key, a
/// specialist, a responsible person), as deploy/config/workstation.toml, certificates from the test's CA written beside it.
fn staff(mesh: &TestMesh) -> Vec<StaffEntry> {
    let dir = mesh.pki.dir().join("employees");
    std::fs::create_dir_all(&dir).expect("employees dir");
    let birth = NaiveDate::from_ymd_opt(1980, 5, 12).expect("a date");
    [
        ("clerk", Role::OfficeClerk),
        ("head", Role::Head),
        ("specialist", Role::Specialist),
        ("responsible", Role::ResponsiblePerson),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (login, role))| {
        let iin = (n as u16 * 10 + 500..)
            .find_map(|serial| Iin::generate(birth, Sex::Female, serial))
            .expect("an IIN");
        let now = Utc::now();
        let issued = mesh
            .pki
            .ca
            .issue(
                &SubjectSpec::Employee {
                    iin,
                    bin: Bin::parse(PROVIDER_BIN).expect("BIN"),
                    surname: login.into(),
                    given_name: "Test".into(),
                    organisation: "Education department".into(),
                },
                now - Hours::hours(1),
                now + Hours::days(1),
            )
            .expect("issue");
        let certificate = dir.join(format!("{login}.crt.pem"));
        let private_key = dir.join(format!("{login}.key.pem"));
        std::fs::write(&certificate, issued.certificate_pem()).expect("write");
        std::fs::write(&private_key, issued.private_key_pem()).expect("write");
        StaffEntry {
            login: login.into(),
            password: Some(format!("{login}-test-password")),
            password_hash: None,
            role,
            certificate,
            private_key: (role == Role::Head).then_some(private_key),
            iin: None,
            surname: None,
            given_name: None,
        }
    })
    .collect()
}

pub async fn start_workstation(mesh: &TestMesh) -> Running {
    let mut settings: egov_workstation::Settings = load(mesh, SystemId::Workstation, &[]);
    settings.workstation.provider_bin = PROVIDER_BIN.into();
    settings.workstation.password_iterations = 1000;
    settings.workstation.staff = staff(mesh);
    settings.workstation.signer = Some("head".into());
    settings.workstation.autopilot.enabled = true;
    settings.workstation.autopilot.sweep = Duration::from_millis(500);
    settings.workstation.autopilot.fields = [
        ("allowance_amount", "52000"),
        ("allowance_period", "2026-12-01..2027-11-30"),
        ("birth_certificate_number", "0001234"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let app = egov_workstation::Application::build(settings)
        .await
        .expect("build the workstation");
    app.wait_ready(PATIENCE).await.expect("workstation ready");
    let stop = CancellationToken::new();
    Running::spawn(stop.clone(), app.run_until_stopped(stop))
}

pub async fn start_notary(mesh: &TestMesh) -> Running {
    let settings: egov_notary::settings::Settings = load(mesh, SystemId::Notary, &[]);
    let app = egov_notary::startup::Application::build(settings)
        .await
        .expect("build БНАЖ");
    app.wait_ready(PATIENCE).await.expect("БНАЖ ready");
    let stop = CancellationToken::new();
    Running::spawn(stop.clone(), app.run_until_stopped(stop))
}

/// The State Corporation's operators, each with an employee certificate of
/// the State Corporation's BIN from the test's CA, written beside it.
pub fn operators(mesh: &TestMesh) -> Vec<egov_intake::settings::OperatorEntry> {
    use egov_intake::settings::Role as R;
    let dir = mesh.pki.dir().join("operators");
    std::fs::create_dir_all(&dir).expect("operators dir");
    let birth = NaiveDate::from_ymd_opt(1990, 2, 3).expect("a date");
    [
        ("operator", R::Operator),
        ("issuer", R::IssuingOperator),
        ("courier", R::Courier),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (login, role))| {
        let iin = (n as u16 * 10 + 600..)
            .find_map(|serial| Iin::generate(birth, Sex::Male, serial))
            .expect("an IIN");
        let now = Utc::now();
        let issued = mesh
            .pki
            .ca
            .issue(
                &SubjectSpec::Employee {
                    iin,
                    bin: Bin::parse(STATE_CORPORATION_BIN).expect("BIN"),
                    surname: format!("Оператор-{login}"),
                    given_name: "Асель".into(),
                    organisation: "State Corporation".into(),
                },
                now - Hours::hours(1),
                now + Hours::days(1),
            )
            .expect("issue");
        let certificate = dir.join(format!("{login}.crt.pem"));
        let private_key = dir.join(format!("{login}.key.pem"));
        std::fs::write(&certificate, issued.certificate_pem()).expect("write");
        std::fs::write(&private_key, issued.private_key_pem()).expect("write");
        egov_intake::settings::OperatorEntry {
            login: login.into(),
            password: Some(password(login)),
            password_hash: None,
            role,
            certificate,
            private_key,
            iin: None,
            surname: None,
            given_name: None,
        }
    })
    .collect()
}

pub fn password(login: &str) -> String {
    format!("{login}-test-password")
}

/// The intake's settings in tests: a cheap Argon2 (the cost is a setting),
/// a short registry deadline, a lockout after three failures.
pub const INTAKE_SETTINGS: &[(&str, &str)] = &[
    ("EGOV_INTAKE__INTAKE__ARGON2_MEMORY_KIB", "1024"),
    ("EGOV_INTAKE__INTAKE__ARGON2_ITERATIONS", "1"),
    ("EGOV_INTAKE__INTAKE__LOOKUP_DEADLINE", "1500ms"),
    ("EGOV_INTAKE__INTAKE__LOCKOUT_AFTER", "3"),
    ("EGOV_INTAKE__INTAKE__MAX_DOCUMENT_BYTES", "65536"),
];

pub fn intake_settings(mesh: &TestMesh, extra: &[(&str, &str)]) -> egov_intake::Settings {
    let mut all: Vec<(&str, &str)> = INTAKE_SETTINGS.to_vec();
    all.extend_from_slice(extra);
    let mut settings: egov_intake::Settings = load(mesh, SystemId::Intake, &all);
    settings.intake.operators = operators(mesh);
    settings
}

pub async fn start_intake(mesh: &TestMesh) -> (Running, std::net::SocketAddr) {
    let app = egov_intake::Application::build(intake_settings(mesh, &[]))
        .await
        .expect("build the intake");
    app.wait_ready(PATIENCE).await.expect("intake ready");
    let address = app.address();
    let stop = CancellationToken::new();
    (
        Running::spawn(stop.clone(), app.run_until_stopped(stop)),
        address,
    )
}

pub struct TestIntake {
    pub mesh: TestMesh,
    pub client: IntakeClient<Channel>,
    pub intake: Option<Running>,
    pub individuals: Option<Running>,
    pub _notary: Option<Running>,
    pub _workstation: Running,
    pub _gateway: Running,
}

/// A recipient ЖТ МДБ knows.
pub struct Recipient {
    pub iin: String,
    pub phone: String,
    pub surname: String,
}

impl TestIntake {
    /// The whole diagram-1 mesh; the registries only if `with_registries`.
    pub async fn start(with_registries: bool) -> TestIntake {
        let mesh = TestMesh::new().await;
        // The registries' schemas exist before the tests write people and
        // powers of attorney into them, running or not.
        egov_individuals::storage::MIGRATOR
            .run(&mesh.pool("individuals").await)
            .await
            .expect("ЖТ МДБ schema");
        egov_notary::storage::migrate(&mesh.pool("notary").await)
            .await
            .expect("БНАЖ schema");
        let gateway = start_gateway(&mesh).await;
        let (individuals, notary) = if with_registries {
            (
                Some(start_individuals(&mesh).await),
                Some(start_notary(&mesh).await),
            )
        } else {
            (None, None)
        };
        let workstation = start_workstation(&mesh).await;
        let (intake, address) = start_intake(&mesh).await;
        let client = IntakeClient::connect(format!("http://{address}"))
            .await
            .expect("connect to the intake");
        TestIntake {
            mesh,
            client,
            intake: Some(intake),
            individuals,
            _notary: notary,
            _workstation: workstation,
            _gateway: gateway,
        }
    }

    /// A person ЖТ МДБ knows.
    pub async fn person(&self, n: u16) -> Recipient {
        let birth = NaiveDate::from_ymd_opt(1984, 4, 21).expect("a date");
        let iin = (n * 7 + 100..)
            .find_map(|serial| Iin::generate(birth, Sex::Female, serial))
            .expect("an IIN");
        let surname = format!("Ахметова{n}");
        let pool = self.mesh.pool("individuals").await;
        egov_individuals::storage::write_rows(
            &pool,
            &RegistryRows {
                persons: vec![Person {
                    iin,
                    surname: surname.clone(),
                    given_name: "Динара".into(),
                    patronymic: Some("Маратовна".into()),
                    birth_date: birth,
                    sex: Sex::Female,
                    citizenship: "KAZ".into(),
                    address: Address {
                        region: "г. Алматы".into(),
                        district_or_city: "Алмалинский район".into(),
                        street: "ул. Толе би, д. 59".into(),
                    },
                    document: IdentityDocument {
                        kind: DocumentKind::IdCard,
                        // Unique: the registry keeps one person per document.
                        number: format!("04{n:07}"),
                        issuer: "МВД РК".into(),
                        issued_on: NaiveDate::from_ymd_opt(2016, 6, 1).expect("a date"),
                        expires_on: Some(NaiveDate::from_ymd_opt(2036, 6, 1).expect("a date")),
                    },
                    deceased_on: None,
                    declared_missing_on: None,
                }],
                ..RegistryRows::default()
            },
        )
        .await
        .expect("write the person");
        Recipient {
            iin: iin.to_string(),
            phone: format!("+7702{n:07}"),
            surname,
        }
    }

    /// A notarised power of attorney in БНАЖ from `principal` to a new
    /// representative, numbered `number`, for `scope`; shaped by `shape`
    /// (expired, revoked…). Returns the representative's IIN.
    pub async fn power_of_attorney(
        &self,
        number: &str,
        principal: &str,
        scope: &[&str],
        shape: impl FnOnce(&mut PowerOfAttorney),
    ) -> String {
        let today = egov_notary::handler::today_in_almaty();
        let representative = Iin::generate(
            NaiveDate::from_ymd_opt(1961, 1, 20).expect("a date"),
            Sex::Male,
            (number.bytes().map(u16::from).sum::<u16>() % 900) + 50,
        )
        .or_else(|| Iin::generate(NaiveDate::from_ymd_opt(1962, 2, 21)?, Sex::Male, 3303))
        .expect("an IIN");
        let mut power = PowerOfAttorney {
            number: number.to_owned(),
            principal: principal.parse().expect("the principal's IIN"),
            representative,
            notary_name: "Жумабекова Сауле Каировна".into(),
            notary_licence: "0001842".into(),
            issued_on: today - Days::new(60),
            valid_until: today + Days::new(365),
            scope: scope.iter().map(|s| (*s).to_owned()).collect(),
            revoked_on: None,
        };
        shape(&mut power);
        egov_notary::storage::write_rows(
            &self.mesh.pool("notary").await,
            &NotaryRows {
                powers_of_attorney: vec![power],
                cases: Vec::new(),
            },
        )
        .await
        .expect("write the power of attorney");
        representative.to_string()
    }

    /// The notary's date of a power of attorney, as the operator enters it.
    pub fn poa_date() -> String {
        (egov_notary::handler::today_in_almaty() - Days::new(60))
            .format("%Y-%m-%d")
            .to_string()
    }

    /// Revokes a power of attorney in БНАЖ today.
    pub async fn revoke(&self, number: &str) {
        sqlx::query("UPDATE powers_of_attorney SET revoked_on = $2 WHERE number = $1")
            .bind(number)
            .bind(egov_notary::handler::today_in_almaty())
            .execute(&self.mesh.pool("notary").await)
            .await
            .expect("revoke");
    }
}
