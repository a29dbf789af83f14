//! What an operator and an employee rely on besides the procedure: health
//! (following the broker connection) and reflection on the gRPC port, and
//! the journal.

use crate::helpers::*;
use egov_proto::workstation as pb;
use futures_util::StreamExt;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

#[tokio::test]
async fn the_workstation_reports_serving_and_describes_itself_by_reflection() {
    let ws = spawn(Options::default()).await;
    let address = ws.running.as_ref().unwrap().address;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    // Health: SERVING once connected to the broker (watched, not polled).
    let mut watch = HealthClient::new(channel.clone())
        .watch(HealthCheckRequest {
            service: "egov.workstation.v1.Workstation".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let serving = tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(update)) = watch.next().await {
            if update.status == ServingStatus::Serving as i32 {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(serving, "the workstation reports SERVING");

    // Reflection lists the employees' API and health.
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(futures_util::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(answer)) = answers.next().await else {
        panic!("a reflection answer")
    };
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("a service list")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"egov.workstation.v1.Workstation"),
        "{names:?}"
    );
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

#[tokio::test]
async fn the_workstations_health_follows_the_broker_connection() {
    let ws = spawn(Options {
        env: vec![egov_testkit::service::SLOW_RECONNECT],
        ..Options::default()
    })
    .await;
    let address = ws.running.as_ref().unwrap().address;
    egov_testkit::service::health_follows_the_broker(address, &ws.mesh).await;
}

#[tokio::test]
async fn reflection_v1alpha_lists_only_what_the_workstations_port_serves() {
    let ws = spawn(Options::default()).await;
    let address = ws.running.as_ref().unwrap().address;
    let names = egov_testkit::service::reflection_v1alpha(address).await;
    assert_eq!(
        names,
        [
            "egov.workstation.v1.Workstation",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );
}

#[tokio::test]
async fn the_journal_lists_registered_applications_newest_first() {
    let ws = spawn(Options::default()).await;
    let mut journals = Vec::new();
    for regulation in ["003", "004-01"] {
        let conversation = ws
            .submit(application(
                regulation,
                pb::Channel::Portal,
                &["application"],
            ))
            .await;
        journals.push(ws.portal_inbox.accepted(&conversation).await.journal_number);
    }
    let token = ws.login(&ws.staff.clerk).await;
    let entries = ws
        .client
        .clone()
        .journal(TestWorkstation::authorized(
            &token,
            pb::JournalRequest { limit: 10 },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let listed: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.journal_number.as_str(), e.regulation.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (journals[1].as_str(), "004-01"),
            (journals[0].as_str(), "003")
        ]
    );
    assert!(entries.iter().all(|e| e.state == pb::State::Accepted as i32
        && e.channel == pb::Channel::Portal as i32
        && e.registered_at.is_some()));
    // Journal numbers: the year, then the number in order.
    assert!(journals[0] < journals[1], "{journals:?}");
    // The year of registration (the tests' clock, REGISTERED_AT).
    let year = "2026-";
    assert!(journals[0].starts_with(year), "{journals:?}");
}

/// Issue 14 point 2: an employee of another provider cannot act on this
/// provider's tasks — their EDS certificate names another BIN, so the
/// workstation does not enrol them (it refuses to start, naming the entry),
/// and without enrolment there is no login and no task.
#[tokio::test]
async fn an_employee_of_another_provider_is_not_enrolled() {
    let mesh = egov_testkit::TestMesh::new().await;
    let staff = issue_staff(&mesh);
    let mut settings = settings(&mesh, &staff, &Options::default());
    // The staff's certificates name PROVIDER_BIN; this workstation is
    // another provider's.
    settings.workstation.provider_bin = "990340009999".into();
    let error = match egov_workstation::Application::build(settings).await {
        Ok(_) => panic!("enrolled another provider's employees"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains(&format!(
            "the certificate's BIN {PROVIDER_BIN} is not the provider's 990340009999"
        )),
        "{error}"
    );
}
