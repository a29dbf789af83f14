//! What every service shares: health that follows the broker, reflection as
//! an outside client sees it, the README's code table kept true.

use crate::helpers::*;
use egov_intake::error::IntakeCode;
use egov_runtime::refusal::{CommonCode, code_table, documented_codes};

#[tokio::test]
async fn the_intakes_health_follows_the_broker_and_reflection_lists_its_services() {
    let mesh = egov_testkit::TestMesh::new().await;
    let settings = intake_settings(&mesh, &[egov_testkit::service::SLOW_RECONNECT]);
    let app = egov_intake::Application::build(settings)
        .await
        .expect("build");
    let address = app.address();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(stop.clone()));
    assert_eq!(
        egov_testkit::service::reflection_v1alpha(address).await,
        [
            "egov.intake.v1.Intake",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );
    egov_testkit::service::health_follows_the_broker(address, &mesh).await;
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[test]
fn the_readmes_intake_table_lists_exactly_the_codes() {
    let readme = include_str!("../../../../README.md");
    let start = readme
        .find("### What the intake refuses")
        .expect("the intake's section");
    let section = &readme[start..];
    // Up to the next heading of any level.
    let end = section[4..].find("\n#").map_or(section.len(), |i| i + 4);
    let mut documented = documented_codes(&section[..end]);
    documented.sort();
    let mut actual = code_table::<IntakeCode>();
    actual.extend(code_table::<CommonCode>());
    actual.sort();
    assert_eq!(documented, actual);
}
