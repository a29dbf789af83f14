//! Registration: the same message twice registers once; what cannot be
//! registered is refused with its code and field and leaves nothing behind;
//! employees log in with a password that is stored only as a hash.

use crate::helpers::*;
use egov_bus::Outgoing;
use egov_proto::envelope::{DeliveryStatus, StatusChange};
use egov_proto::workstation as pb;
use egov_trust::SystemId;
use tokio::sync::broadcast;

async fn count(ws: &TestWorkstation, sql: &str) -> i64 {
    let pool = ws.mesh.pool("workstation").await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&pool)
        .await
        .unwrap()
}

/// Waits for the gateway's report that `id` reached `status` (or a final one).
async fn reported(statuses: &mut broadcast::Receiver<StatusChange>, id: &str) -> StatusChange {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match statuses.recv().await {
                Ok(change)
                    if change.message_id == id
                        && [
                            DeliveryStatus::Processed as i32,
                            DeliveryStatus::Rejected as i32,
                            DeliveryStatus::DeadLettered as i32,
                        ]
                        .contains(&change.status) =>
                {
                    return change;
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("status stream ended: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no final status for {id}"))
}

#[tokio::test]
async fn the_same_application_twice_registers_once() {
    let ws = spawn(Options::default()).await;
    let mut statuses = ws.portal.statuses();
    let conversation = "case-twice";
    let message = Outgoing::request(
        SystemId::Workstation,
        "submit-application",
        application("003", pb::Channel::Portal, &["application"]),
    )
    .conversation(conversation);
    // The same envelope twice: the gateway delivers it once (the bus would
    // skip it anyway)…
    let envelope = ws.portal.seal(&message, "");
    ws.portal.publish(&envelope).await.unwrap();
    ws.portal.publish(&envelope).await.unwrap();
    // …and the same application again under a new message id.
    let resent = ws.portal.send(message.clone()).await.unwrap();
    assert_eq!(
        reported(&mut statuses, &resent).await.status,
        DeliveryStatus::Processed as i32
    );
    ws.portal_inbox.accepted(conversation).await;

    assert_eq!(count(&ws, "SELECT count(*) FROM applications").await, 1);
    assert_eq!(
        count(&ws, "SELECT count(*) FROM application_tasks").await,
        5
    );
    let accepted = ws
        .portal_inbox
        .statuses(conversation)
        .into_iter()
        .filter(|s| s.sequence == 1)
        .count();
    assert_eq!(accepted, 1, "one registration, one first status");
}

#[tokio::test]
async fn an_application_that_cannot_be_registered_is_refused_with_its_code_and_field() {
    let ws = spawn(Options::default()).await;
    let cases: Vec<(&str, pb::Application, &str, &str)> = vec![
        (
            "bad-iin",
            {
                let mut app = application("003", pb::Channel::Portal, &["application"]);
                // A valid IIN with its check digit changed.
                let mut iin = iin(1).into_bytes();
                iin[11] = b'0' + (iin[11] - b'0' + 1) % 10;
                app.applicant.as_mut().unwrap().iin = String::from_utf8(iin).unwrap();
                app
            },
            "invalid_iin",
            "applicant.iin",
        ),
        (
            "no-regulation",
            application("099", pb::Channel::Portal, &["application"]),
            "unknown_regulation",
            "regulation",
        ),
        (
            "wrong-channel",
            application("003", pb::Channel::StateCorporation, &["application"]),
            "channel_mismatch",
            "channel",
        ),
        (
            "not-offered",
            application("004-11", pb::Channel::Portal, &["application"]),
            "channel_not_offered",
            "channel",
        ),
        (
            "unknown-document",
            application("003", pb::Channel::Portal, &["application", "passport"]),
            "unknown_document",
            "documents[1].code",
        ),
        (
            "bad-hash",
            {
                let mut app = application("003", pb::Channel::Portal, &["application"]);
                app.documents[0].sha256 = vec![0; 32].into();
                app
            },
            "document_hash_mismatch",
            "documents[0].sha256",
        ),
        (
            "paper-on-the-portal",
            {
                let mut app = application("003", pb::Channel::Portal, &["application"]);
                app.documents[0].on_paper = true;
                app
            },
            "invalid_value",
            "documents[0].on_paper",
        ),
        (
            "bad-form",
            {
                let mut app = application("002", pb::Channel::Portal, &SEED_002_PORTAL);
                app.form.push(pb::FormField {
                    name: "appointment_date".into(),
                    value: "yesterday".into(),
                });
                app
            },
            "invalid_value",
            "form[0].value",
        ),
    ];
    for (conversation, app, _, _) in &cases {
        ws.submit_in(&ws.portal, app.clone(), conversation).await;
    }
    for (conversation, _, code, field) in &cases {
        let rejection = ws.portal_inbox.rejection(conversation).await;
        assert_eq!(
            (rejection.code.as_str(), rejection.field.as_str()),
            (*code, *field),
            "{conversation}: {rejection:?}"
        );
        assert!(!rejection.message.is_empty());
    }
    // Nothing half-written.
    assert_eq!(count(&ws, "SELECT count(*) FROM applications").await, 0);
    assert_eq!(
        count(&ws, "SELECT count(*) FROM application_documents").await,
        0
    );
}

#[tokio::test]
async fn employees_log_in_with_a_password_kept_only_as_a_hash() {
    let ws = spawn(Options::default()).await;
    let mut client = ws.client.clone();
    let error = client
        .login(pb::LoginRequest {
            login: ws.staff.clerk.login.clone(),
            password: "wrong password".into(),
        })
        .await
        .expect_err("a wrong password is refused");
    assert_eq!(error.code(), tonic::Code::Unauthenticated);
    assert_eq!(code(&error), "bad_credentials");
    let error = client
        .login(pb::LoginRequest {
            login: "nobody".into(),
            password: "whatever-password".into(),
        })
        .await
        .expect_err("an unknown login is refused the same way");
    assert_eq!(code(&error), "bad_credentials");
    let error = client
        .list_tasks(pb::ListTasksRequest {})
        .await
        .expect_err("no token, no tasks");
    assert_eq!(code(&error), "no_session");
    let error = client
        .list_tasks(TestWorkstation::authorized(
            "forged",
            pb::ListTasksRequest {},
        ))
        .await
        .expect_err("a forged token");
    assert_eq!(code(&error), "no_session");

    let login = client
        .login(pb::LoginRequest {
            login: ws.staff.head.login.clone(),
            password: ws.staff.head.password.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let employee = login.employee.unwrap();
    assert_eq!(employee.role, pb::Role::Head as i32);
    assert_eq!(employee.iin, ws.staff.head.iin);
    assert_eq!(
        employee.certificate.as_ref(),
        ws.staff.head.certificate_der.as_slice()
    );

    let pool = ws.mesh.pool("workstation").await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM employees")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), ws.staff.all().len());
    for hash in &stored {
        assert!(hash.starts_with("pbkdf2-sha256$1000$"), "{hash}");
        assert!(ws.staff.all().iter().all(|s| !hash.contains(&s.password)));
    }
    let tokens: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(tokens.iter().all(|t| t != login.token.as_bytes()));
}
