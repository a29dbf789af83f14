//! The registry's metrics as an operator's Prometheus sees them: scraped
//! over HTTP from its metrics port and parsed by a Prometheus text parser,
//! after look-ups through the gateway in two fault modes.

use crate::helpers::*;
use egov_harness::Running;
use egov_registry::fault::FaultMode;
use egov_testkit::TestMesh;
use egov_testkit::metrics::{Scrape, scrape};
use egov_testkit::wait;
use egov_trust::SystemId;
use std::net::SocketAddr;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(20);

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
async fn the_scrape_counts_lookups_by_answer_and_fault_mode() {
    // Arrange: the gateway, the registry (metrics on a free port), a caller.
    let mesh = TestMesh::new().await;
    let _gateway = egov_harness::start_gateway(&mesh).await;
    let settings: egov_individuals::Settings =
        egov_harness::settings(&mesh, SystemId::Individuals, &[]);
    let app = egov_individuals::Application::build(settings)
        .await
        .expect("build the registry");
    app.wait_ready(PATIENCE)
        .await
        .expect("the registry connects");
    let metrics = app.metrics_address();
    assert_ne!(metrics.port(), 0);
    assert_ne!(metrics, app.address(), "a port of its own");
    let fault = app.fault().clone();
    let _registry = Running::spawn(app.address(), |stop| app.run_until_stopped(stop));
    let intake = mesh.bus(SystemId::Intake, None).await;
    scrape_until(metrics, "the registry serving", |s| {
        s.value("egov_serving", &[]) == Some(1.0)
    })
    .await;

    // Act: one look-up refused by the rule, one failed by fault mode error.
    let refused = refusal(intake.call(with_consent(&unknown_iin()), PATIENCE).await);
    fault.set(FaultMode::Error { fraction: 1.0 }).unwrap();
    let failed = refusal(intake.call(with_consent(&unknown_iin()), PATIENCE).await);
    assert_eq!(failed.code, "registry_failure");

    // Assert
    let after = scrape_until(metrics, "both look-ups counted", |s| {
        s.count("egov_inbox_handled_total", &[("service", "person-by-iin")]) >= 2.0
    })
    .await;
    assert_eq!(
        after.value(
            "egov_registry_lookups_total",
            &[("answer", refused.code.as_str()), ("fault_mode", "none")]
        ),
        Some(1.0),
        "{}",
        after.text
    );
    assert_eq!(
        after.value(
            "egov_registry_lookups_total",
            &[("answer", "registry_failure"), ("fault_mode", "error")]
        ),
        Some(1.0)
    );
    assert_eq!(after.count("egov_registry_lookups_total", &[]), 2.0);
    assert_eq!(
        after.value("egov_registry_fault_mode", &[("mode", "error")]),
        Some(1.0)
    );
    assert_eq!(
        after.value("egov_registry_fault_mode", &[("mode", "none")]),
        Some(0.0)
    );
    // The inbox, as every system's: two handled (both answered with a
    // rejection), none failed, two handler timings.
    assert_eq!(
        after.value(
            "egov_inbox_handled_total",
            &[("service", "person-by-iin"), ("outcome", "rejected")]
        ),
        Some(2.0)
    );
    assert_eq!(after.count("egov_inbox_failed_total", &[]), 0.0);
    assert_eq!(
        after.observations(
            "egov_inbox_handler_seconds",
            &[("service", "person-by-iin")]
        ),
        2
    );
}
