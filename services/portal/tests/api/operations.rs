//! What every service shares: health that follows the broker, reflection as
//! an outside client sees it, every error with its code, the README's code
//! table kept true.

use crate::helpers::*;
use egov_portal::error::PortalCode;
use egov_proto::portal as pb;
use egov_runtime::refusal::{CommonCode, code_table, documented_codes};

#[tokio::test]
async fn the_portals_health_follows_the_broker_and_reflection_lists_its_services() {
    let mesh = egov_testkit::TestMesh::new().await;
    let mut source = mesh.source(egov_trust::SystemId::Portal);
    for (k, v) in PORTAL_SETTINGS
        .iter()
        .chain([&egov_testkit::service::SLOW_RECONNECT])
    {
        source.env.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings: egov_portal::Settings =
        egov_runtime::settings::load("portal", &source).expect("settings");
    let app = egov_portal::Application::build(settings)
        .await
        .expect("build");
    let address = app.address();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(stop.clone()));
    assert_eq!(
        egov_testkit::service::reflection_v1alpha(address).await,
        [
            "egov.portal.v1.Portal",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );
    egov_testkit::service::health_follows_the_broker(address, &mesh).await;
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn every_error_of_the_portals_api_carries_its_code() {
    let mesh = TestPortal::start(true).await;
    let mut client = mesh.client.clone();
    let error = client
        .get_application(authorized("nobody", pb::GetApplicationRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unauthenticated");
    let citizen = mesh.signed_up(30).await;
    let error = client
        .get_application(authorized(
            &citizen.token,
            pb::GetApplicationRequest {
                reference: "nope".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unknown_application");
    let error = client
        .finish_eds_login(pb::FinishEdsLoginRequest {
            challenge_id: "x".into(),
            signature: Default::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(code(&error), "challenge_expired");
    let error = client
        .register(pb::RegisterRequest {
            iin: citizen.iin.clone(),
            password: "short".into(),
            phone: citizen.phone.clone(),
            consent: true,
        })
        .await
        .unwrap_err();
    assert_eq!(code(&error), "weak_password");
}

#[test]
fn the_readmes_portal_table_lists_exactly_the_codes() {
    let readme = include_str!("../../../../README.md");
    let start = readme
        .find("### What the portal refuses")
        .expect("the portal's section");
    let section = &readme[start..];
    // Up to the next heading of any level.
    let end = section[4..].find("\n#").map_or(section.len(), |i| i + 4);
    let mut documented = documented_codes(&section[..end]);
    documented.sort();
    let mut actual = code_table::<PortalCode>();
    actual.extend(code_table::<CommonCode>());
    actual.sort();
    assert_eq!(documented, actual);
}
