//! A mesh per test — the real gateway, individuals registry, workstation (on
//! autopilot) and the portal, in-process, on the test's own database, broker
//! namespace and CA — and a citizen who uses the portal's API as a front end
//! would, signing with an EDS from the mesh CA.

use chrono::{Duration as Days, NaiveDate, Utc};
use egov_individuals::model::{Address, DocumentKind, IdentityDocument, Person, RegistryRows};
use egov_proto::portal::portal_client::PortalClient;
use egov_proto::portal::{self as pb};
use egov_proto::prost::Message;
use egov_proto::workstation as ws;
use egov_testkit::TestMesh;
use egov_trust::cms::{self, Encapsulation};
use egov_trust::iin::Sex;
use egov_trust::{Iin, Issued, SigningKey, SystemId};
use tonic::transport::Channel;

pub use egov_harness::{
    PATIENCE, Running, openssl_verifies, start_gateway, start_individuals, start_workstation,
};
pub const PASSWORD: &str = "correct horse battery";

/// The portal's settings in tests: a cheap Argon2 (the cost is a setting),
/// a short registry deadline, a lockout after three failures.
pub const PORTAL_SETTINGS: &[(&str, &str)] = &[
    ("EGOV_PORTAL__PORTAL__ARGON2_MEMORY_KIB", "1024"),
    ("EGOV_PORTAL__PORTAL__ARGON2_ITERATIONS", "1"),
    ("EGOV_PORTAL__PORTAL__LOOKUP_DEADLINE", "1500ms"),
    ("EGOV_PORTAL__PORTAL__LOCKOUT_AFTER", "3"),
    ("EGOV_PORTAL__PORTAL__MAX_DOCUMENT_BYTES", "65536"),
];

/// The diagram-2 mesh of one test: its systems, and a client of the portal.
pub struct TestPortal {
    pub mesh: TestMesh,
    pub client: PortalClient<Channel>,
    pub address: std::net::SocketAddr,
    pub portal: Option<Running>,
    pub individuals: Option<Running>,
    pub _workstation: Running,
    pub workstation_address: std::net::SocketAddr,
    pub _gateway: Running,
}

pub async fn start_portal(mesh: &TestMesh) -> (Running, std::net::SocketAddr) {
    let settings: egov_portal::Settings =
        egov_harness::settings(mesh, SystemId::Portal, PORTAL_SETTINGS);
    let app = egov_portal::Application::build(settings)
        .await
        .expect("build the portal");
    app.wait_ready(PATIENCE).await.expect("portal ready");
    let address = app.address();
    (
        Running::spawn(address, |stop| app.run_until_stopped(stop)),
        address,
    )
}

impl TestPortal {
    /// The whole diagram-2 mesh, the workstation on autopilot; the registry
    /// only if `with_registry`.
    pub async fn start(with_registry: bool) -> TestPortal {
        TestPortal::start_with(with_registry, true).await
    }

    /// As [`TestPortal::start`]; without autopilot the employees act.
    pub async fn start_with(with_registry: bool, autopilot: bool) -> TestPortal {
        let mesh = TestMesh::new().await;
        let gateway = start_gateway(&mesh).await;
        let individuals = if with_registry {
            Some(start_individuals(&mesh).await)
        } else {
            None
        };
        let workstation = start_workstation(&mesh, autopilot).await;
        let workstation_address = workstation.address;
        let (portal, address) = start_portal(&mesh).await;
        let client = PortalClient::connect(format!("http://{address}"))
            .await
            .expect("connect to the portal");
        TestPortal {
            mesh,
            client,
            address,
            portal: Some(portal),
            individuals,
            _workstation: workstation,
            workstation_address,
            _gateway: gateway,
        }
    }

    pub async fn restart_portal(&mut self) {
        let (portal, address) = start_portal(&self.mesh).await;
        self.portal = Some(portal);
        self.address = address;
        self.client = PortalClient::connect(format!("http://{address}"))
            .await
            .expect("connect to the portal");
    }

    /// A person ЖТ МДБ knows, with an EDS (two keys) from the mesh CA.
    pub async fn person(&self, n: u16) -> TestCitizen {
        let birth = NaiveDate::from_ymd_opt(1985, 3, 14).expect("a date");
        let iin = (n * 7 + 100..)
            .find_map(|serial| Iin::generate(birth, Sex::Female, serial))
            .expect("an IIN");
        let surname = format!("Сапарова{n}");
        let pool = self.mesh.pool("individuals").await;
        egov_individuals::storage::MIGRATOR
            .run(&pool)
            .await
            .expect("registry schema");
        egov_individuals::storage::write_rows(
            &pool,
            &RegistryRows {
                persons: vec![Person {
                    iin,
                    surname: surname.clone(),
                    given_name: "Айгерим".into(),
                    patronymic: Some("Нурлановна".into()),
                    birth_date: birth,
                    sex: Sex::Female,
                    citizenship: "KAZ".into(),
                    address: Address {
                        region: "г. Алматы".into(),
                        district_or_city: "Бостандыкский район".into(),
                        street: "ул. Тимирязева, д. 42".into(),
                    },
                    document: IdentityDocument {
                        kind: DocumentKind::IdCard,
                        // Unique: the registry keeps one person per document.
                        number: format!("0471{n:05}"),
                        issuer: "МВД РК".into(),
                        issued_on: NaiveDate::from_ymd_opt(2015, 6, 1).expect("a date"),
                        expires_on: Some(NaiveDate::from_ymd_opt(2035, 6, 1).expect("a date")),
                    },
                    deceased_on: None,
                    declared_missing_on: None,
                }],
                ..RegistryRows::default()
            },
        )
        .await
        .expect("write the person");
        let now = Utc::now();
        let eds = self
            .mesh
            .pki
            .ca
            .issue_citizen(
                iin,
                &surname,
                "Айгерим",
                now - Days::hours(1),
                now + Days::days(365),
            )
            .expect("issue the citizen's EDS");
        TestCitizen {
            iin: iin.to_string(),
            phone: format!("+7701{:07}", n),
            sign: eds.signing,
            auth: eds.authentication,
            token: String::new(),
        }
    }
}

pub struct TestCitizen {
    pub iin: String,
    pub phone: String,
    pub sign: Issued,
    pub auth: Issued,
    pub token: String,
}

/// CMS SignedData (attached) over `content` with `issued`'s key.
pub fn sign_with(issued: &Issued, content: &[u8]) -> Vec<u8> {
    sign_with_key(&issued.signing_key(), &issued.certificate_der, content)
}

pub fn sign_with_key(key: &SigningKey, certificate: &[u8], content: &[u8]) -> Vec<u8> {
    cms::sign(
        content,
        key,
        certificate,
        Encapsulation::Attached,
        Utc::now(),
    )
    .expect("sign")
}

/// The stable code of a refusal, from its ErrorInfo.
pub fn code(status: &tonic::Status) -> String {
    egov_harness::refusal_code(status, "portal.egov-mesh")
}

pub use egov_harness::authorized;
/// A scanned document attached under `code`.
pub use egov_harness::scanned_document as document;

/// A complete draft for `regulation`: every required document of the
/// portal's list and every required field of its form, from the catalogue.
pub fn complete_draft(service: &pb::CatalogueService, iin: &str) -> pb::PrepareApplicationRequest {
    let documents = service
        .documents
        .iter()
        .filter(|d| d.condition.is_empty())
        .map(|d| document(&d.code))
        .collect();
    let form = service
        .form
        .iter()
        .filter(|f| f.required)
        .map(|f| ws::FormField {
            name: f.name.clone(),
            value: match f.r#type.as_str() {
                "date" => "2026-11-02".into(),
                "year" => "2026".into(),
                "iin" => iin.into(),
                "number" | "money_kzt" => "1".into(),
                "period" => "2026-12-01..2027-11-30".into(),
                "phone" => "+77011234567".into(),
                _ => format!("value of {}", f.name),
            },
        })
        .collect();
    pb::PrepareApplicationRequest {
        regulation: service.code.clone(),
        form,
        documents,
        consent: true,
    }
}

impl TestPortal {
    pub async fn register(
        &self,
        citizen: &TestCitizen,
    ) -> Result<pb::RegisterResponse, tonic::Status> {
        self.client
            .clone()
            .register(pb::RegisterRequest {
                iin: citizen.iin.clone(),
                password: PASSWORD.into(),
                phone: citizen.phone.clone(),
                consent: true,
            })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn login(&self, iin: &str, password: &str) -> Result<pb::Session, tonic::Status> {
        self.client
            .clone()
            .login(pb::LoginRequest {
                iin: iin.into(),
                password: password.into(),
            })
            .await
            .map(|r| r.into_inner())
    }

    /// Registers and logs in; the citizen keeps the token.
    pub async fn signed_up(&self, n: u16) -> TestCitizen {
        let mut citizen = self.person(n).await;
        self.register(&citizen).await.expect("registered");
        citizen.token = self
            .login(&citizen.iin, PASSWORD)
            .await
            .expect("logged in")
            .token;
        citizen
    }

    pub async fn service(&self, code: &str) -> pb::CatalogueService {
        self.client
            .clone()
            .list_services(pb::ListServicesRequest {})
            .await
            .expect("catalogue")
            .into_inner()
            .services
            .into_iter()
            .find(|s| s.code == code)
            .unwrap_or_else(|| panic!("service {code} in the catalogue"))
    }

    pub async fn prepare(
        &self,
        citizen: &TestCitizen,
        draft: pb::PrepareApplicationRequest,
    ) -> Result<pb::PreparedApplication, tonic::Status> {
        self.client
            .clone()
            .prepare_application(authorized(&citizen.token, draft))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn submit_signed(
        &self,
        citizen: &TestCitizen,
        signed: Vec<u8>,
    ) -> Result<pb::ApplicationView, tonic::Status> {
        self.client
            .clone()
            .submit(authorized(
                &citizen.token,
                pb::SubmitRequest {
                    signed_application: signed.into(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Prepares a complete application of `regulation`, signs it with the
    /// citizen's signing key and submits it.
    pub async fn apply(&self, citizen: &TestCitizen, regulation: &str) -> pb::ApplicationView {
        let service = self.service(regulation).await;
        let prepared = self
            .prepare(citizen, complete_draft(&service, &citizen.iin))
            .await
            .expect("prepared");
        self.submit_signed(citizen, sign_with(&citizen.sign, &prepared.document))
            .await
            .expect("submitted")
    }

    pub async fn view(&self, citizen: &TestCitizen, reference: &str) -> pb::ApplicationView {
        self.client
            .clone()
            .get_application(authorized(
                &citizen.token,
                pb::GetApplicationRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .expect("the application in the cabinet")
            .into_inner()
    }

    /// Waits until the cabinet shows the application at one of `stages`.
    pub async fn wait_stage(
        &self,
        citizen: &TestCitizen,
        reference: &str,
        stages: &[pb::Stage],
    ) -> pb::ApplicationView {
        let what = format!("application {reference} at {stages:?}");
        egov_testkit::wait::until(PATIENCE, &what, || async {
            let view = self.view(citizen, reference).await;
            if stages.contains(&view.stage()) {
                Ok(view)
            } else {
                Err(format!("{:?} (history {:?})", view.stage(), view.history))
            }
        })
        .await
    }

    pub async fn result(&self, citizen: &TestCitizen, reference: &str) -> pb::ResultFile {
        self.client
            .clone()
            .get_result(authorized(
                &citizen.token,
                pb::GetResultRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .expect("the result")
            .into_inner()
    }

    /// Rows of a table of the portal's schema (to show nothing was written).
    pub async fn count(&self, table: &str) -> i64 {
        let pool = self.mesh.pool("portal").await;
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&pool)
            .await
            .expect("count")
    }
}

/// The result document inside a result file.
pub fn decode_result(file: &pb::ResultFile) -> ws::ResultDocument {
    let content = cms::encapsulated_content(&file.cms).expect("CMS");
    ws::ResultDocument::decode(content.as_slice()).expect("a ResultDocument")
}

/// The provider's employees refuse the application through the
/// workstation's API (diagram 2, condition 3, process 7).
pub async fn employees_refuse(address: std::net::SocketAddr, journal_number: &str, ground: &str) {
    let client = egov_proto::workstation::workstation_client::WorkstationClient::connect(format!(
        "http://{address}"
    ))
    .await
    .expect("connect to the workstation");
    egov_harness::employees_refuse(
        client,
        journal_number,
        ground,
        "the documents do not bear the claim out",
    )
    .await;
}
