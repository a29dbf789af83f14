//! The intake's metrics as an operator's Prometheus sees them: scraped over
//! HTTP from its metrics port and parsed by a Prometheus text parser, after
//! a message through the gateway into its inbox.

use crate::helpers::*;
use egov_bus::Outgoing;
use egov_proto::envelope::Kind;
use egov_testkit::TestMesh;
use egov_testkit::metrics::{Scrape, scrape};
use egov_testkit::wait;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn scrape_until(address: SocketAddr, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    wait::until(WAIT, what, || async {
        let scrape = scrape(address).await;
        if check(&scrape) {
            Ok(scrape)
        } else {
            Err(scrape.text)
        }
    })
    .await
}

#[tokio::test]
async fn the_scrape_counts_the_inbox_and_the_service_serving() {
    // Arrange: the gateway and the intake (metrics on a free port).
    let mesh = TestMesh::new().await;
    let _gateway = egov_harness::start_gateway(&mesh).await;
    let app = egov_intake::Application::build(intake_settings(&mesh, &[]))
        .await
        .expect("build the intake");
    app.wait_ready(WAIT).await.expect("intake ready");
    let metrics = app.metrics_address();
    assert_ne!(metrics.port(), 0);
    assert_ne!(metrics, app.address(), "a port of its own");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let before = scrape_until(metrics, "the intake serving", |s| {
        s.value("egov_serving", &[]) == Some(1.0)
    })
    .await;
    // A family shows once it has a series; the inbox's plain counter at once.
    assert_eq!(
        before.value("egov_inbox_unreadable_total", &[]),
        Some(0.0),
        "{}",
        before.text
    );

    // Act: a message on its route whose payload is not what it expects.
    let sender = mesh.bus(SystemId::Workstation, None).await;
    sender
        .send(Outgoing::raw(
            SystemId::Intake,
            "application-status",
            Kind::Notification,
            b"not a protobuf message \xff\xff".to_vec(),
        ))
        .await
        .expect("sent");

    // Assert: handled once (refused or failed, never lost), timed once.
    let after = scrape_until(metrics, "the message handled", |s| {
        s.count(
            "egov_inbox_handled_total",
            &[("service", "application-status")],
        ) + s.count(
            "egov_inbox_failed_total",
            &[("service", "application-status")],
        ) >= 1.0
    })
    .await;
    assert_eq!(
        after.count(
            "egov_inbox_handled_total",
            &[("service", "application-status")]
        ) + after.count(
            "egov_inbox_failed_total",
            &[("service", "application-status")]
        ),
        1.0,
        "{}",
        after.text
    );
    assert_eq!(
        after.count("egov_inbox_handled_total", &[("outcome", "processed")]),
        0.0,
        "a malformed message is not processed"
    );
    assert_eq!(
        after.observations(
            "egov_inbox_handler_seconds",
            &[("service", "application-status")]
        ),
        1
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
