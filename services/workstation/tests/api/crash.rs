//! The workstation killed (SIGKILL, no graceful shutdown) in the middle of
//! the autopilot's work: after a restart every application goes on from the
//! task it had reached; no task is done twice, no status or result is lost
//! or sent twice.

use crate::helpers::*;
use chrono::{DateTime, Utc};
use egov_bus::Inbox;
use egov_proto::workstation as pb;
use egov_trust::SystemId;
use std::collections::HashMap;
use std::path::Path;
use tokio::process::Child;

const APPLICATIONS: usize = 150;

/// The staff and the autopilot in a settings file, as an operator writes it;
/// the rest of the settings come from the mesh's environment.
fn write_settings(dir: &Path, staff: &Staff) -> std::path::PathBuf {
    let mut text = format!(
        "[workstation]\nprovider_bin = \"{PROVIDER_BIN}\"\npassword_iterations = 1000\nsigner = \"{}\"\n\n[workstation.autopilot]\nenabled = true\nsweep = \"500ms\"\n",
        staff.head.login
    );
    for s in staff.all() {
        text.push_str(&format!(
            "\n[[workstation.staff]]\nlogin = \"{}\"\npassword = \"{}\"\nrole = \"{}\"\ncertificate = \"{}\"\n",
            s.login,
            s.password,
            s.role,
            s.certificate.display()
        ));
        if s.role == egov_workstation::staff::Role::Head {
            text.push_str(&format!("private_key = \"{}\"\n", s.private_key.display()));
        }
    }
    let path = dir.join("workstation.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts the workstation binary and returns once it logs that it is ready.
async fn start_process(env: &HashMap<String, String>, config: &Path) -> Child {
    egov_testkit::process::start(
        "workstation",
        env!("CARGO_BIN_EXE_egov-workstation"),
        env,
        Some(config),
        "Workstation ready",
        PATIENCE,
    )
    .await
}

type StepLog = HashMap<(uuid::Uuid, i32), DateTime<Utc>>;

async fn step_log(pool: &sqlx::PgPool) -> StepLog {
    let rows: Vec<(uuid::Uuid, i32, DateTime<Utc>)> = sqlx::query_as(
        "SELECT application_id, position, done_at FROM application_tasks WHERE done_at IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().map(|(id, p, at)| ((id, p), at)).collect()
}

#[tokio::test]
async fn a_workstation_killed_mid_procedure_goes_on_from_where_it_was_after_a_restart() {
    // Arrange: the gateway in-process, the workstation as a child process
    // on autopilot, and a test portal.
    let mesh = egov_testkit::TestMesh::new().await;
    let _gateway = spawn_gateway(&mesh).await;
    let staff = issue_staff(&mesh);
    let config = write_settings(mesh.pki.dir(), &staff);
    let mut env = mesh.env(SystemId::Workstation);
    // Deadlines planned from a time the test controls, not the real clock
    // (the calendar data ends with a year).
    env.insert(
        "EGOV__WORKSTATION__REGISTRATION_TIME".to_owned(),
        REGISTERED_AT.to_owned(),
    );
    let mut workstation = start_process(&env, &config).await;
    let inbox = Collector::new();
    let portal = mesh
        .bus(
            SystemId::Portal,
            Some(Inbox {
                handler: inbox.clone(),
                pool: mesh.pool("portal").await,
            }),
        )
        .await;

    // Act: applications in flight (seed 003: five staff tasks each)…
    let mut conversations = Vec::new();
    for i in 0..APPLICATIONS {
        let conversation = format!("crash-{i}");
        portal
            .send(
                egov_bus::Outgoing::request(
                    SystemId::Workstation,
                    "submit-application",
                    application("003", pb::Channel::Portal, &["application"]),
                )
                .conversation(&conversation),
            )
            .await
            .unwrap();
        conversations.push(conversation);
    }
    // …and the workstation killed once some, but not all, are answered.
    inbox
        .wait("a first result", |all| {
            let results = all
                .iter()
                .filter(|(_, r)| matches!(r, Received::Result(..)))
                .count();
            (results >= 1).then_some(())
        })
        .await;
    workstation.kill().await.expect("kill -9 the workstation");
    let _ = workstation.wait().await;
    let pool = mesh.pool("workstation").await;
    let before = step_log(&pool).await;
    let unfinished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM applications WHERE state = 'in_progress'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let registered: i64 = sqlx::query_scalar("SELECT count(*) FROM applications")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        unfinished > 0 || (registered as usize) < APPLICATIONS,
        "the kill came too late to interrupt anything"
    );

    // A new process takes over the same journal and queues.
    let _restarted = start_process(&env, &config).await;

    // Assert: every application answered once, with every status once.
    for conversation in &conversations {
        let statuses = inbox.all_statuses(conversation).await;
        assert_eq!(
            statuses.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6],
            "{conversation}: each status once"
        );
        verified(&inbox.result(conversation).await, &staff.head);
    }
    for conversation in &conversations {
        assert_eq!(
            inbox.results(conversation).len(),
            1,
            "{conversation}: one result"
        );
    }
    // Nothing done twice: what was done before the kill kept its time, and
    // every task is in the step log once.
    let after = step_log(&pool).await;
    for (task, at) in &before {
        assert_eq!(after.get(task), Some(at), "task {task:?} was not redone");
    }
    assert_eq!(after.len(), APPLICATIONS * 5);
    let (applications, results): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM applications), (SELECT count(*) FROM results WHERE issued_at IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (applications, results),
        (APPLICATIONS as i64, APPLICATIONS as i64)
    );
    // And the gateway tells the truth about every message of it: each one
    // processed, none left queued or delivered across the kill.
    let gateway = mesh.pool("gateway").await;
    let statuses = egov_testkit::statuses::all_settled(&gateway, PATIENCE * 3).await;
    assert_eq!(
        statuses.keys().collect::<Vec<_>>(),
        ["DELIVERY_STATUS_PROCESSED"],
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_workstation_restarted_between_two_staff_steps_resumes_at_the_next_one() {
    use egov_proto::workstation::act_request::Action;
    let mut ws = spawn(Options::default()).await;
    let conversation = ws
        .submit(application("003", pb::Channel::Portal, &["application"]))
        .await;
    let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
    ws.act(
        &ws.staff.clerk,
        &journal,
        1,
        Action::Register(pb::Register::default()),
    )
    .await
    .unwrap();
    ws.act(
        &ws.staff.head,
        &journal,
        2,
        Action::Assign(pb::Assign {
            specialist_login: ws.staff.specialist.login.clone(),
            resolution: String::new(),
        }),
    )
    .await
    .unwrap();

    // Stopped and started again on the same journal.
    ws.running.take().unwrap().stop().await;
    let running = start(ws.settings.clone()).await;
    ws.client = egov_proto::workstation::workstation_client::WorkstationClient::connect(format!(
        "http://{}",
        running.address
    ))
    .await
    .unwrap();
    ws.running = Some(running);

    // The specialist's examination is next; the done steps stay done.
    let tasks = ws.tasks(&ws.staff.specialist).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].journal_number.as_str(), tasks[0].position),
        (journal.as_str(), 3)
    );
    let again = ws
        .act(
            &ws.staff.clerk,
            &journal,
            1,
            Action::Register(pb::Register::default()),
        )
        .await
        .expect_err("done before the restart");
    assert_eq!(code(&again), "task_not_current");
    ws.act(
        &ws.staff.specialist,
        &journal,
        3,
        Action::Approve(pb::Approve::default()),
    )
    .await
    .unwrap();
    ws.act(&ws.staff.head, &journal, 4, Action::Sign(pb::Sign {}))
        .await
        .unwrap();
    ws.act(&ws.staff.clerk, &journal, 5, Action::Issue(pb::Issue {}))
        .await
        .unwrap();
    verified(&ws.portal_inbox.result(&conversation).await, &ws.staff.head);
    let statuses = ws.portal_inbox.all_statuses(&conversation).await;
    assert_eq!(statuses.len(), 6, "each status once across the restart");
}
