//! The workstation's metrics as an operator's Prometheus sees them: scraped over
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
    // Arrange: the gateway and the workstation (metrics on a free port).
    let mesh = TestMesh::new().await;
    let _gateway = spawn_gateway(&mesh).await;
    let staff = issue_staff(&mesh);
    let app = egov_workstation::Application::build(settings(&mesh, &staff, &Options::default()))
        .await
        .expect("build the workstation");
    app.wait_ready(WAIT).await.expect("workstation ready");
    let metrics = app.metrics_address();
    assert_ne!(metrics.port(), 0);
    assert_ne!(metrics, app.address(), "a port of its own");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let before = scrape_until(metrics, "the workstation serving", |s| {
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
    let sender = mesh.bus(SystemId::Portal, None).await;
    sender
        .send(Outgoing::raw(
            SystemId::Workstation,
            "submit-application",
            Kind::Request,
            b"not a protobuf message \xff\xff".to_vec(),
        ))
        .await
        .expect("sent");

    // Assert: handled once (refused or failed, never lost), timed once.
    let after = scrape_until(metrics, "the message handled", |s| {
        s.count(
            "egov_inbox_handled_total",
            &[("service", "submit-application")],
        ) + s.count(
            "egov_inbox_failed_total",
            &[("service", "submit-application")],
        ) >= 1.0
    })
    .await;
    assert_eq!(
        after.count(
            "egov_inbox_handled_total",
            &[("service", "submit-application")]
        ) + after.count(
            "egov_inbox_failed_total",
            &[("service", "submit-application")]
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
            &[("service", "submit-application")]
        ),
        1
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

/// What the journal holds, as gauges read from the database: the
/// application by regulation, channel and state, and — registered at the
/// tests' fixed time in April 2026, so long past its due times — every one
/// of its five tasks overdue, as ListOverdue counts them: the clerk's two
/// (register, issue), the head's two (assign, sign), the specialist's one.
#[tokio::test]
async fn the_journal_by_state_and_the_overdue_tasks_are_scraped() {
    let ws = spawn(Options::default()).await;
    let metrics = ws.running.as_ref().expect("running").metrics;
    ws.submit(application(
        "003",
        egov_proto::workstation::Channel::Portal,
        &["application"],
    ))
    .await;
    let in_journal = [
        ("regulation", "003"),
        ("channel", "portal"),
        ("state", "in_progress"),
    ];
    let scrape = scrape_until(metrics, "the application in the gauges", |s| {
        s.value("egov_workstation_applications", &in_journal) == Some(1.0)
            && s.value(
                "egov_workstation_overdue_tasks",
                &[("regulation", "003"), ("role", "specialist")],
            ) == Some(1.0)
    })
    .await;
    for (role, overdue) in [("office_clerk", 2.0), ("head", 2.0), ("specialist", 1.0)] {
        assert_eq!(
            scrape.value(
                "egov_workstation_overdue_tasks",
                &[("regulation", "003"), ("role", role)]
            ),
            Some(overdue),
            "{role}: {}",
            scrape.text
        );
    }
}
