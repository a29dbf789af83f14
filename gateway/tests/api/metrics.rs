//! The gateway's metrics as an operator's Prometheus sees them: scraped
//! over HTTP from the metrics port, parsed by a Prometheus text parser, and
//! counting what really happened (one message accepted on its route, one
//! refused with its code).

use crate::helpers::*;
use egov_bus::{Inbox, Outgoing};
use egov_gateway::Application;
use egov_proto::envelope::{DeliveryStatus, Kind};
use egov_testkit::TestMesh;
use egov_testkit::metrics::{Scrape, scrape};
use egov_testkit::wait;
use egov_trust::SystemId;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// A gateway in-process as the other tests start it, with the address of
/// its metrics (`[metrics] listen`, port 0 as every test port).
async fn gateway(mesh: &TestMesh) -> (SocketAddr, CancellationToken, tokio::task::JoinHandle<()>) {
    let settings: egov_gateway::Settings =
        egov_runtime::settings::load("gateway", &mesh.source(SystemId::Gateway))
            .expect("gateway settings");
    assert_eq!(
        settings.metrics.listen.port(),
        0,
        "metrics on a free port by default"
    );
    let app = Application::build(settings)
        .await
        .expect("build the gateway");
    app.wait_ready(PATIENCE)
        .await
        .expect("the gateway connects");
    let metrics = app.metrics_address();
    assert_ne!(metrics.port(), 0, "the bound port is readable");
    assert_ne!(metrics, app.address(), "a port of its own");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { app.run_until_stopped(shutdown).await.expect("gateway runs") }
    });
    (metrics, shutdown, task)
}

/// Scrapes until `check` holds on a scrape (counters move a moment after
/// the sender hears its status).
async fn scrape_until(address: SocketAddr, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    wait::until(PATIENCE, what, || async {
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
async fn the_scrape_counts_an_accepted_message_by_route_and_a_refused_one_by_code() {
    // Arrange: a gateway, the workstation answering, the portal sending.
    let mesh = TestMesh::new().await;
    let (metrics, shutdown, task) = gateway(&mesh).await;
    let receiver = Recorder::new(mesh.pool("workstation").await).await;
    let _workstation = mesh
        .bus(
            SystemId::Workstation,
            Some(Inbox {
                handler: receiver,
                pool: mesh.pool("workstation").await,
            }),
        )
        .await;
    let recorder = Recorder::new(mesh.pool("portal").await).await;
    let portal = mesh
        .bus(
            SystemId::Portal,
            Some(Inbox {
                handler: recorder,
                pool: mesh.pool("portal").await,
            }),
        )
        .await;
    let mut statuses = portal.statuses();

    // Before anything: the families are there, the service serving.
    let before = scrape_until(metrics, "the gateway serving", |s| {
        s.value("egov_serving", &[]) == Some(1.0)
    })
    .await;
    for family in [
        "egov_gateway_messages_delivered_total",
        "egov_gateway_messages_retried_total",
        "egov_gateway_messages_dead_lettered_total",
        "egov_gateway_messages_expired_total",
        "egov_gateway_verify_seconds",
        "egov_gateway_log_write_seconds",
        "egov_gateway_log_batch_size",
    ] {
        assert!(before.has(family), "{family} is exposed:\n{}", before.text);
    }
    assert_eq!(
        before.count("egov_gateway_messages_accepted_total", &[]),
        0.0
    );

    // Act: one application on its route, one message on no route.
    let id = portal.send(application("metrics-1")).await.unwrap();
    wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    let no_route = portal.seal(
        &Outgoing::raw(
            SystemId::Notary,
            "power-of-attorney",
            Kind::Request,
            b"x".to_vec(),
        ),
        "",
    );
    let refused_id = egov_bus::envelope::open_envelope(no_route.clone())
        .unwrap()
        .header
        .message_id;
    portal.publish(&no_route).await.unwrap();
    wait_status(&mut statuses, &refused_id, DeliveryStatus::Rejected).await;

    // Assert: what an operator would check.
    let route = [
        ("sender", "portal"),
        ("receiver", "workstation"),
        ("service", "submit-application"),
    ];
    let after = scrape_until(metrics, "the refusal counted", |s| {
        s.count(
            "egov_gateway_messages_refused_total",
            &[("code", "route_not_allowed")],
        ) >= 1.0
    })
    .await;
    assert_eq!(
        after.value("egov_gateway_messages_accepted_total", &route),
        Some(1.0),
        "{}",
        after.text
    );
    assert_eq!(
        after.count(
            "egov_gateway_messages_refused_total",
            &[("code", "route_not_allowed")]
        ),
        1.0
    );
    assert_eq!(
        after.count("egov_gateway_messages_refused_total", &[]),
        1.0,
        "no other refusal"
    );
    // The refused message's claimed route is not a route of the scrape.
    assert_eq!(
        after.count(
            "egov_gateway_messages_accepted_total",
            &[("receiver", "notary")]
        ),
        0.0
    );
    assert!(after.count("egov_gateway_messages_delivered_total", &[]) >= 1.0);
    assert_eq!(
        after.value("egov_gateway_messages_dead_lettered_total", &[]),
        Some(0.0)
    );
    // Both messages verified; at least one batch written, of at least one.
    assert!(after.observations("egov_gateway_verify_seconds", &[]) >= 2);
    assert!(after.observations("egov_gateway_log_write_seconds", &[]) >= 1);
    assert!(after.observations("egov_gateway_log_batch_size", &[]) >= 1);
    assert!(after.value("egov_gateway_log_batch_size_sum", &[]).unwrap() >= 2.0);

    // Queue depths: read every few seconds; the ingress and the
    // workstation's inbox are drained.
    let depths = scrape_until(metrics, "the depths read", |s| {
        s.value("egov_gateway_queue_depth", &[("queue", "gateway.ingress")])
            .is_some()
            && s.value(
                "egov_gateway_queue_depth",
                &[("queue", "inbox.workstation")],
            )
            .is_some()
    })
    .await;
    assert_eq!(
        depths.value("egov_gateway_queue_depth", &[("queue", "gateway.ingress")]),
        Some(0.0)
    );
    assert_eq!(
        depths.value(
            "egov_gateway_queue_depth",
            &[("queue", "inbox.workstation")]
        ),
        Some(0.0)
    );

    shutdown.cancel();
    task.await.unwrap();
}
