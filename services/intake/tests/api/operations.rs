//! What every service shares: health that follows the broker, reflection as
//! an outside client sees it, the README's code table kept true.

use crate::counter::code;
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

/// A year without holiday data is an error at start-up, naming the year,
/// not at the first request: the date of issue on a receipt is planned on
/// the working calendar. The intake's clock is the real one, so the test
/// gives it regulations whose State Corporation deadline (seed 002's,
/// lengthened to 2000 calendar days) runs past the calendar's last year.
#[tokio::test]
async fn the_intake_refuses_to_start_when_the_calendar_lacks_a_year_a_deadline_needs() {
    let last = egov_calendar::Calendar::embedded()
        .years()
        .max()
        .expect("calendar data");
    let mesh = egov_testkit::TestMesh::new().await;
    let dir = mesh.pki.dir().join("regulations");
    std::fs::create_dir_all(&dir).expect("a regulations dir");
    let shipped = include_str!("../../../../regulations/002.toml");
    let stretched = shipped.replacen(
        "channel = \"state_corporation\"\nintake = true\nissues_result = true\ndeadline = \"1 working day\"",
        "channel = \"state_corporation\"\nintake = true\nissues_result = true\ndeadline = \"2000 calendar days\"",
        1,
    );
    assert_ne!(stretched, shipped, "seed 002's State Corporation deadline");
    std::fs::write(dir.join("002.toml"), stretched).expect("write 002.toml");

    let mut settings = intake_settings(&mesh, &[]);
    settings.intake.regulations = Some(dir.clone());
    let error = match egov_intake::Application::build(settings).await {
        Ok(_) => panic!("started with a deadline past {last}"),
        Err(error) => format!("{error:#}"),
    };
    // The year named is one past the calendar's data (where the 2000 days
    // end), with the regulation and channel whose deadline needs it.
    let named: i32 = error
        .split("no data for ")
        .nth(1)
        .and_then(|rest| rest.get(..4))
        .and_then(|year| year.parse().ok())
        .unwrap_or_else(|| panic!("no year named: {error}"));
    assert!(named > last, "{error}");
    assert!(
        error.contains("regulation 002 through state_corporation"),
        "{error}"
    );

    // The shipped deadline from the same directory: it starts.
    std::fs::write(dir.join("002.toml"), shipped).expect("write 002.toml");
    let mut settings = intake_settings(&mesh, &[]);
    settings.intake.regulations = Some(dir);
    let app = egov_intake::Application::build(settings)
        .await
        .expect("starts with the shipped deadline");
    drop(app);
}

/// Issue 14 point 5: operators' password logins per client address; past
/// `intake.login_attempts_per_minute`, `too_many_attempts` whatever the
/// password.
#[tokio::test]
async fn logins_from_one_address_over_the_rate_are_too_many_attempts() {
    let mesh = egov_testkit::TestMesh::new().await;
    let (_intake, address, _) = start_intake(
        &mesh,
        &[("EGOV_INTAKE__INTAKE__LOGIN_ATTEMPTS_PER_MINUTE", "2")],
    )
    .await;
    let mut client =
        egov_proto::intake::intake_client::IntakeClient::connect(format!("http://{address}"))
            .await
            .expect("connect");
    let login = egov_proto::intake::LoginRequest {
        login: "operator".into(),
        password: "not the password".into(),
    };
    for n in 0..2 {
        let error = client.login(login.clone()).await.unwrap_err();
        assert_eq!(code(&error), "login_refused", "attempt {n}: {error:?}");
    }
    let error = client.login(login.clone()).await.unwrap_err();
    assert_eq!(code(&error), "too_many_attempts", "{error:?}");
    assert_eq!(error.code(), tonic::Code::ResourceExhausted);
}
