//! A mesh per test — the real gateway, ЖТ МДБ, БНАЖ, the workstation (on
//! autopilot) and the intake, in-process, on the test's own database,
//! broker namespace and CA — and State Corporation operators who use the
//! intake's API as a counter application would.

use chrono::{Days, Duration as Hours, NaiveDate, Utc};
use egov_individuals::model::{Address, DocumentKind, IdentityDocument, Person, RegistryRows};
use egov_intake::intake::Intake;
use egov_notary::model::{NotaryRows, PowerOfAttorney};
use egov_proto::intake::intake_client::IntakeClient;
use std::sync::Arc;

use egov_testkit::TestMesh;
use egov_trust::iin::Sex;
use egov_trust::{Bin, Iin, SubjectSpec, SystemId};
use tonic::transport::Channel;

pub const STATE_CORPORATION_BIN: &str = "160440007161";

/// The settings of `system` on the test's mesh, with overrides.
pub use egov_harness::settings as load;
pub use egov_harness::{PATIENCE, Running, start_gateway, start_individuals, start_notary};

/// The workstation on autopilot, with the provider's staff.
pub async fn start_workstation(mesh: &TestMesh) -> Running {
    egov_harness::start_workstation(mesh, true).await
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
        ("accumulation", R::AccumulationSector),
        ("courier-2", R::Courier),
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
            password: Some(password(login).into()),
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
    // The counter accepts at the tests' fixed time, as the workstation
    // registers (6 April 2026): receipts' dates are literal values.
    (
        "EGOV_INTAKE__INTAKE__COUNTER_TIME",
        egov_harness::REGISTERED_AT,
    ),
];

pub fn intake_settings(mesh: &TestMesh, extra: &[(&str, &str)]) -> egov_intake::Settings {
    let mut all: Vec<(&str, &str)> = INTAKE_SETTINGS.to_vec();
    all.extend_from_slice(extra);
    let mut settings: egov_intake::Settings = load(mesh, SystemId::Intake, &all);
    settings.intake.operators = operators(mesh);
    settings
}

/// The intake in-process, with its shared state (the tests move its
/// storage clock).
pub async fn start_intake(
    mesh: &TestMesh,
    extra: &[(&str, &str)],
) -> (Running, std::net::SocketAddr, Arc<Intake>) {
    let app = egov_intake::Application::build(intake_settings(mesh, extra))
        .await
        .expect("build the intake");
    app.wait_ready(PATIENCE).await.expect("intake ready");
    let address = app.address();
    let intake = app.intake().clone();
    (
        Running::spawn(address, |stop| app.run_until_stopped(stop)),
        address,
        intake,
    )
}

pub struct TestIntake {
    pub mesh: TestMesh,
    pub client: IntakeClient<Channel>,
    pub intake: Option<Running>,
    /// The running intake's state (its storage clock).
    pub state: Arc<Intake>,
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
        TestIntake::start_with(with_registries, &[]).await
    }

    /// As `start`, with the intake's settings overridden by `extra`.
    pub async fn start_with(with_registries: bool, extra: &[(&str, &str)]) -> TestIntake {
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
        let (intake, address, state) = start_intake(&mesh, extra).await;
        let client = IntakeClient::connect(format!("http://{address}"))
            .await
            .expect("connect to the intake");
        TestIntake {
            mesh,
            client,
            intake: Some(intake),
            state,
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
