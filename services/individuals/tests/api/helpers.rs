//! A mesh per test: the gateway and the individuals registry in-process, a
//! few known people, a caller, and ways to wait for what a user would wait
//! for (a health status, the inbox's consumer, a status report) without
//! sleeps.

use chrono::NaiveDate;
use egov_bus::{Bus, CallError, Outgoing, Reply};
use egov_individuals::model::{
    Address, DocumentKind, FamilyLink, IdentityDocument, LinkOrigin, LinkStatus, ParentRole,
    Person, RegistryRows,
};
use egov_individuals::storage;
use egov_proto::envelope::{DeliveryStatus, Rejection, StatusChange};
use egov_proto::gateway::gateway_client::GatewayClient;
use egov_proto::individuals::{PersonByIinRequest, PersonRecord};
use egov_proto::registry::registry_admin_client::RegistryAdminClient;
use egov_proto::registry::{FaultState, GetFaultRequest, SetFaultRequest};
use egov_proto::services::PERSON_BY_IIN;
use egov_registry::fault::FaultMode;
use egov_testkit::TestMesh;
use egov_trust::SystemId;
use egov_trust::iin::{Iin, Sex};
use std::time::Duration;
use tokio::sync::broadcast;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub const PATIENCE: Duration = Duration::from_secs(20);
/// The deadline of an ordinary look-up.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// One test's mesh with the gateway and the registry running.
pub struct Registry {
    pub mesh: TestMesh,
    /// The registry's gRPC port (admin API, health, reflection).
    pub address: std::net::SocketAddr,
    /// The State Corporation's bus (diagram 1, process 3 asks from there).
    pub intake: Bus,
    pub admin: RegistryAdminClient<Channel>,
    pub health: HealthClient<Channel>,
    pub gateway: GatewayClient<Channel>,
    pub people: Known,
    registry: egov_harness::Running,
    gateway_task: egov_harness::Running,
}

/// The people seeded in every test's registry.
pub struct Known {
    /// An adult with an identity card.
    pub mother: Person,
    /// Her daughter, with a birth certificate; linked to her by birth.
    pub daughter: Person,
}

impl Registry {
    pub async fn start() -> Registry {
        Registry::start_with(&[]).await
    }

    /// With extra settings variables (e.g. `SLOW_RECONNECT`).
    pub async fn start_with(extra: &[(&str, &str)]) -> Registry {
        let mesh = TestMesh::new().await;

        let gateway_running = egov_harness::start_gateway(&mesh).await;
        let gateway_address = gateway_running.address;
        let registry_running = egov_harness::start_individuals_with(&mesh, extra).await;
        let address = registry_running.address;

        let people = Known::new();
        let pool = mesh.pool("individuals").await;
        storage::write_rows(&pool, &people.rows())
            .await
            .expect("seed the known people");
        pool.close().await;

        let intake = mesh.bus(SystemId::Intake, None).await;
        let admin = RegistryAdminClient::connect(format!("http://{address}"))
            .await
            .expect("connect to the admin API");
        let health = HealthClient::new(
            Channel::from_shared(format!("http://{address}"))
                .expect("a URL")
                .connect()
                .await
                .expect("connect to health"),
        );
        let gateway = GatewayClient::connect(format!("http://{gateway_address}"))
            .await
            .expect("connect to the gateway's API");
        let registry = Registry {
            mesh,
            address,
            intake,
            admin,
            health,
            gateway,
            people,
            registry: registry_running,
            gateway_task: gateway_running,
        };
        registry.wait_health(ServingStatus::Serving).await;
        registry
    }

    /// Stops the registry, then the gateway; both must stop cleanly.
    pub async fn stop(self) {
        self.registry.stop_cleanly().await;
        self.gateway_task.stop_cleanly().await;
    }

    /// A bus for another system (a caller the routing table may refuse).
    pub async fn bus(&self, system: SystemId) -> Bus {
        self.mesh.bus(system, None).await
    }

    pub async fn set_fault(&self, mode: &str) -> FaultState {
        let mode: FaultMode = mode.parse().expect("a fault mode");
        self.admin
            .clone()
            .set_fault(SetFaultRequest {
                mode: Some(mode.into()),
                credential: Some(
                    self.mesh
                        .registry_credential(SystemId::Individuals, SystemId::Individuals),
                ),
            })
            .await
            .expect("SetFault")
            .into_inner()
    }

    pub async fn fault(&self) -> FaultState {
        self.admin
            .clone()
            .get_fault(GetFaultRequest {})
            .await
            .expect("GetFault")
            .into_inner()
    }

    /// The registry's overall health ("" service).
    pub async fn health(&self) -> ServingStatus {
        let status = self
            .health
            .clone()
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health Check")
            .into_inner()
            .status;
        ServingStatus::try_from(status).expect("a known status")
    }

    /// Waits (on the health Watch stream) until the registry reports `status`.
    pub async fn wait_health(&self, status: ServingStatus) {
        let mut stream = self
            .health
            .clone()
            .watch(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health Watch")
            .into_inner();
        tokio::time::timeout(PATIENCE, async {
            while let Some(seen) = stream.message().await.expect("health stream") {
                if seen.status == status as i32 {
                    return;
                }
            }
            panic!("the health stream ended");
        })
        .await
        .unwrap_or_else(|_| panic!("health did not become {status:?}"));
    }

    /// Waits until the broker shows `count` consumers on the registry's inbox.
    pub async fn wait_inbox_consumers(&self, count: u32) {
        let queue = self.mesh.names().inbox(SystemId::Individuals);
        let (connection, channel) = self.mesh.channel().await;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tokio::time::timeout(PATIENCE, async {
            loop {
                tick.tick().await;
                let declared = channel
                    .queue_declare(
                        queue.as_str().into(),
                        lapin::options::QueueDeclareOptions {
                            passive: true,
                            ..Default::default()
                        },
                        Default::default(),
                    )
                    .await
                    .expect("the inbox exists");
                if declared.consumer_count() == count {
                    return;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the inbox never had {count} consumers"));
        let _ = connection.close(200, "done".into()).await;
    }

    pub async fn call(&self, message: Outgoing, deadline: Duration) -> Result<Reply, CallError> {
        self.intake.call(message, deadline).await
    }
}

impl Known {
    fn new() -> Known {
        let mother_iin = Iin::generate(date(1990, 3, 14), Sex::Female, 4021).expect("an IIN");
        let daughter_iin = Iin::generate(date(2015, 6, 1), Sex::Female, 1177).expect("an IIN");
        let address = Address {
            region: "г. Алматы".into(),
            district_or_city: "Бостандыкский район".into(),
            street: "ул. Тимирязева, д. 42, кв. 15".into(),
        };
        Known {
            mother: Person {
                iin: mother_iin,
                surname: "Ахметова".into(),
                given_name: "Айгүл".into(),
                patronymic: Some("Серікқызы".into()),
                birth_date: date(1990, 3, 14),
                sex: Sex::Female,
                citizenship: "KAZ".into(),
                address: address.clone(),
                document: IdentityDocument {
                    kind: DocumentKind::IdCard,
                    number: "047112233".into(),
                    issuer: "МВД РК".into(),
                    issued_on: date(2021, 3, 20),
                    expires_on: Some(date(2031, 3, 19)),
                },
                deceased_on: None,
                declared_missing_on: None,
            },
            daughter: Person {
                iin: daughter_iin,
                surname: "Ахметова".into(),
                given_name: "Дана".into(),
                patronymic: Some("Ерланқызы".into()),
                birth_date: date(2015, 6, 1),
                sex: Sex::Female,
                citizenship: "KAZ".into(),
                address,
                document: IdentityDocument {
                    kind: DocumentKind::BirthCertificate,
                    number: "I-АЛ 0456789".into(),
                    issuer: "ЗАГС г. Алматы".into(),
                    issued_on: date(2015, 6, 10),
                    expires_on: None,
                },
                deceased_on: None,
                declared_missing_on: None,
            },
        }
    }

    fn rows(&self) -> RegistryRows {
        RegistryRows {
            persons: vec![self.mother.clone(), self.daughter.clone()],
            family_links: vec![FamilyLink {
                parent: self.mother.iin,
                child: self.daughter.iin,
                parent_role: ParentRole::Mother,
                origin: LinkOrigin::Birth,
                established_on: None,
                status: LinkStatus::Normal,
                status_since: None,
            }],
            ..RegistryRows::default()
        }
    }
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real date")
}

/// A valid IIN that nobody in the test registry has.
pub fn unknown_iin() -> String {
    Iin::generate(date(1985, 12, 31), Sex::Male, 9999)
        .expect("an IIN")
        .to_string()
}

/// `iin` with its check digit changed: malformed.
pub fn with_wrong_check_digit(iin: &str) -> String {
    let (first11, check) = iin.split_at(11);
    let wrong = (check.parse::<u8>().expect("a digit") + 1) % 10;
    format!("{first11}{wrong}")
}

/// "person-by-iin" with the subject's consent reference in the header.
pub fn with_consent(iin: &str) -> Outgoing {
    lookup(iin, "").consent("consent-2026-000123")
}

/// "person-by-iin" with no consent; `legal_basis` may be empty.
pub fn lookup(iin: &str, legal_basis: &str) -> Outgoing {
    Outgoing::request(
        SystemId::Individuals,
        PERSON_BY_IIN,
        PersonByIinRequest {
            iin: iin.to_owned(),
            legal_basis: legal_basis.to_owned(),
        },
    )
}

/// The person of a KIND_RESPONSE; panics on anything else.
pub fn person(reply: Result<Reply, CallError>) -> PersonRecord {
    match reply.expect("an answer") {
        Reply::Response(opened) => opened.decode().expect("a PersonRecord"),
        Reply::Rejected(rejection, _) => panic!("refused: {rejection:?}"),
    }
}

/// The refusal of a KIND_REJECT; panics on anything else.
pub fn refusal(reply: Result<Reply, CallError>) -> Rejection {
    match reply.expect("an answer") {
        Reply::Rejected(rejection, _) => rejection,
        Reply::Response(opened) => panic!("answered: {:?}", opened.header),
    }
}

/// Waits for the status report of a message of `conversation` with `status`.
pub async fn wait_status(
    statuses: &mut broadcast::Receiver<StatusChange>,
    conversation: &str,
    status: DeliveryStatus,
) -> StatusChange {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match statuses.recv().await {
                Ok(change)
                    if change.conversation_id == conversation && change.status == status as i32 =>
                {
                    return change;
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("status stream ended: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {status:?} report in {conversation} within {PATIENCE:?}"))
}
