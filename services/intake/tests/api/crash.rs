//! Process 6 survives a crash: an intake killed (SIGKILL) after it recorded
//! an accepted request and before it sent it sends it once when it starts
//! again (the outbox row is committed with the request).

use crate::helpers::*;
use egov_proto::intake::{Stage, intake_client::IntakeClient};
use egov_trust::SystemId;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The operators as a settings file (a child process reads them there).
fn operators_file(mesh: &TestIntake) -> std::path::PathBuf {
    let mut toml = String::new();
    for op in operators(&mesh.mesh) {
        toml.push_str(&format!(
            "[[intake.operators]]\nlogin = {:?}\npassword = {:?}\nrole = {:?}\ncertificate = {:?}\nprivate_key = {:?}\n\n",
            op.login,
            op.password
                .as_ref()
                .map(|p| secrecy::ExposeSecret::expose_secret(p).to_owned())
                .unwrap_or_default(),
            match op.role {
                egov_intake::settings::Role::Operator => "operator",
                egov_intake::settings::Role::IssuingOperator => "issuing_operator",
                egov_intake::settings::Role::Courier => "courier",
                egov_intake::settings::Role::AccumulationSector => "accumulation_sector",
            },
            op.certificate.display().to_string(),
            op.private_key.display().to_string(),
        ));
    }
    let path = mesh.mesh.pki.dir().join("intake.toml");
    std::fs::write(&path, toml).expect("write the settings file");
    path
}

async fn intake_process(
    mesh: &TestIntake,
    broker_url: Option<&str>,
    ready: &str,
) -> (
    tokio::process::Child,
    IntakeClient<tonic::transport::Channel>,
) {
    let port = free_port();
    let mut env = mesh.mesh.env(SystemId::Intake);
    for (k, v) in INTAKE_SETTINGS {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env.insert("EGOV__GRPC__LISTEN".into(), format!("127.0.0.1:{port}"));
    env.insert("EGOV__BUS__RELAY_SWEEP".into(), "200ms".into());
    if let Some(url) = broker_url {
        env.insert("EGOV__BUS__URL".into(), url.to_owned());
    }
    let config = operators_file(mesh);
    let child = egov_testkit::process::start(
        "intake",
        env!("CARGO_BIN_EXE_egov-intake"),
        &env,
        Some(&config),
        ready,
        PATIENCE,
    )
    .await;
    let client = IntakeClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect to the intake process");
    (child, client)
}

#[tokio::test]
async fn an_intake_killed_between_recording_and_sending_sends_the_request_once_after_restart() {
    let mut mesh = TestIntake::start(true).await;
    let recipient = mesh.person(40).await;
    mesh.intake.take().expect("running").stop().await;

    // An intake process whose broker is out of reach: it records, it
    // cannot send. The look-ups need the broker, so the request is checked
    // by an intake that has one, then accepted by the cut-off one.
    let (mut online, client) = intake_process(&mesh, None, "Intake ready").await;
    mesh.client = client;
    let token = mesh.token("operator").await;
    let draft = mesh
        .create(&token, "003", &recipient, None, &[])
        .await
        .expect("drafted");
    mesh.consent(&token, &draft.reference).await;
    mesh.check(&token, &draft.reference).await.expect("checked");
    online.kill().await.expect("stop it");
    let _ = online.wait().await;

    let (mut cut_off, client) = intake_process(
        &mesh,
        Some("amqp://guest:guest@127.0.0.1:1/%2f"),
        "Intake gRPC API listening",
    )
    .await;
    mesh.client = client;
    mesh.accept(&token, &draft.reference)
        .await
        .expect("accepted");
    assert_eq!(
        mesh.count("bus_outbox").await,
        1,
        "recorded and waiting in the outbox: the kill interrupts work in flight"
    );
    cut_off.kill().await.expect("kill -9 the intake");
    let _ = cut_off.wait().await;

    // Started again with the broker in reach: the outbox goes out, once.
    let (_restarted, client) = intake_process(&mesh, None, "Intake ready").await;
    mesh.client = client;
    mesh.wait_stage(&token, &draft.reference, &[Stage::ResultReady])
        .await;
    assert_eq!(mesh.count("bus_outbox").await, 0);
    assert_eq!(
        mesh.at_provider(&draft.reference).await,
        1,
        "registered once"
    );
    let accepted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM message_log WHERE message_id = $1::uuid AND verdict = 'accepted'",
    )
    .bind(&draft.reference)
    .fetch_one(&mesh.mesh.pool("gateway").await)
    .await
    .unwrap();
    assert_eq!(accepted, 1, "accepted once by the gateway");
}
