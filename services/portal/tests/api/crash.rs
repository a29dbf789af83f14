//! Process 5 survives a crash: a portal killed (SIGKILL) after it stored an
//! application and before it sent it sends it once when it starts again.

use crate::helpers::*;
use egov_proto::portal::{Stage, portal_client::PortalClient};
use egov_trust::SystemId;

/// A port nobody uses now, for a child process (its address must be known
/// before it starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn portal_process(
    mesh: &TestPortal,
    broker_url: Option<&str>,
    ready: &str,
) -> (
    tokio::process::Child,
    PortalClient<tonic::transport::Channel>,
) {
    let port = free_port();
    let mut env = mesh.mesh.env(SystemId::Portal);
    for (k, v) in PORTAL_SETTINGS {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env.insert("EGOV__GRPC__LISTEN".into(), format!("127.0.0.1:{port}"));
    // The outbox is looked at every 200 ms besides the wake-up at commit.
    env.insert("EGOV__BUS__RELAY_SWEEP".into(), "200ms".into());
    if let Some(url) = broker_url {
        env.insert("EGOV__BUS__URL".into(), url.to_owned());
    }
    let child = egov_testkit::process::start(
        "portal",
        env!("CARGO_BIN_EXE_egov-portal"),
        &env,
        None,
        ready,
        PATIENCE,
    )
    .await;
    let client = PortalClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect to the portal process");
    (child, client)
}

#[tokio::test]
async fn a_portal_killed_between_storing_and_sending_sends_the_application_once_after_restart() {
    let mut mesh = TestPortal::start(true).await;
    let citizen = mesh.signed_up(40).await;
    mesh.portal.take().expect("running").stop().await;

    // A portal process whose broker is out of reach: it stores, it cannot send.
    let (mut cut_off, client) = portal_process(
        &mesh,
        Some("amqp://guest:guest@127.0.0.1:1/%2f"),
        "Portal gRPC API listening",
    )
    .await;
    mesh.client = client;
    let sent = mesh.apply(&citizen, "003").await;
    assert_eq!(sent.stage(), Stage::Sent);
    assert_eq!(
        mesh.count("bus_outbox").await,
        1,
        "stored and waiting in the outbox: the kill interrupts work in flight"
    );
    cut_off.kill().await.expect("kill -9 the portal");
    let _ = cut_off.wait().await;

    // Started again with the broker in reach: the outbox goes out, once.
    let (_restarted, client) = portal_process(&mesh, None, "Portal ready").await;
    mesh.client = client;
    let issued = mesh
        .wait_stage(&citizen, &sent.reference, &[Stage::Issued, Stage::Refused])
        .await;
    assert_eq!(issued.stage(), Stage::Issued);
    assert_eq!(mesh.count("bus_outbox").await, 0);
    let workstation = mesh.mesh.pool("workstation").await;
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM applications WHERE reference = $1")
            .bind(&sent.reference)
            .fetch_one(&workstation)
            .await
            .unwrap();
    assert_eq!(registered, 1, "registered once by the workstation");
    let gateway = mesh.mesh.pool("gateway").await;
    let accepted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM message_log WHERE message_id = $1::uuid AND verdict = 'accepted'",
    )
    .bind(&sent.reference)
    .fetch_one(&gateway)
    .await
    .unwrap();
    assert_eq!(accepted, 1, "accepted once by the gateway");
}
