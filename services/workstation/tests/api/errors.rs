//! Every gRPC error of the workstation's API carries its stable code, in the
//! message and in `google.rpc.ErrorInfo` (the `code` helper checks both, so
//! the other suites' refusals are checked too); the README's table is the
//! code's.

use crate::helpers::*;
use egov_proto::workstation::{self as pb, act_request::Action};
use egov_runtime::refusal::{CommonCode, code_table, documented_codes};
use egov_workstation::error::ApiCode;

fn request<T>(message: T, authorization: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().expect("metadata"));
    request
}

#[tokio::test]
async fn every_error_of_the_workstations_api_carries_its_code() {
    // ЖТ МДБ is not running: the office channel's look-up goes unanswered.
    let ws = spawn(Options {
        env: vec![("EGOV_WORKSTATION__WORKSTATION__LOOKUP_DEADLINE", "1s")],
        ..Options::default()
    })
    .await;
    let mut client = ws.client.clone();

    // Login.
    for (login, password) in [("", "a-password"), ("head", "")] {
        let error = client
            .login(pb::LoginRequest {
                login: login.into(),
                password: password.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            (error.code(), code(&error)),
            (tonic::Code::InvalidArgument, "missing_field")
        );
    }

    // Sessions.
    let error = client
        .journal(request(pb::JournalRequest { limit: 5 }, "Basic aGVhZA=="))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), code(&error)),
        (tonic::Code::Unauthenticated, "no_session")
    );
    let token = ws.login(&ws.staff.clerk).await;
    let pool = ws.mesh.pool("workstation").await;
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 minute'")
        .execute(&pool)
        .await
        .unwrap();
    let error = client
        .list_tasks(TestWorkstation::authorized(&token, pb::ListTasksRequest {}))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "session_expired");
    let token = ws.login(&ws.staff.specialist).await;

    // Reading the journal.
    let error = client
        .get_application(TestWorkstation::authorized(
            &token,
            pb::GetApplicationRequest {
                journal_number: "1999-000001".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), code(&error)),
        (tonic::Code::NotFound, "not_found")
    );
    let error = client
        .get_document(TestWorkstation::authorized(
            &token,
            pb::GetDocumentRequest {
                journal_number: "1999-000001".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
    let error = client
        .list_overdue(TestWorkstation::authorized(
            &token,
            pb::ListOverdueRequest {
                as_of: Some(egov_proto::prost_types::Timestamp {
                    seconds: 0,
                    nanos: -5,
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_value");
    assert!(error.message().contains("as_of"), "{error:?}");

    // Acting on a task.
    let conversation = ws
        .submit(application("002", pb::Channel::Portal, &SEED_002_PORTAL))
        .await;
    let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
    let error = client
        .get_document(TestWorkstation::authorized(
            &token,
            pb::GetDocumentRequest {
                journal_number: journal.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), code(&error)),
        (tonic::Code::FailedPrecondition, "not_signed")
    );
    for (journal_number, position, action) in [
        ("", 1, Some(Action::Register(pb::Register::default()))),
        (
            journal.as_str(),
            0,
            Some(Action::Register(pb::Register::default())),
        ),
        (journal.as_str(), 1, None),
    ] {
        let error = client
            .act(TestWorkstation::authorized(
                &token,
                pb::ActRequest {
                    journal_number: journal_number.into(),
                    position,
                    action,
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(code(&error), "missing_field", "{error:?}");
    }
    let specialist = &ws.staff.specialist;
    let error = ws
        .act(
            specialist,
            "1999-000001",
            1,
            Action::Register(pb::Register::default()),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
    ws.act(
        specialist,
        &journal,
        1,
        Action::Register(pb::Register::default()),
    )
    .await
    .unwrap();
    let error = ws
        .act(
            specialist,
            &journal,
            2,
            Action::Approve(pb::Approve {
                fields: Vec::new(),
                result_code: "no_such_result".into(),
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unknown_result");
    let error = ws
        .act(
            specialist,
            &journal,
            2,
            Action::Refuse(pb::Refuse {
                grounds: vec!["income_exceeds_upkeep_costs".into()],
                reasons: vec!["доход выше".into()],
                missing_documents: vec!["no_such_document".into()],
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unknown_document");
    assert!(
        error.message().contains("refuse.missing_documents[0]"),
        "{error:?}"
    );

    // The office channel, with ЖТ МДБ away.
    let error = client
        .submit_office_application(TestWorkstation::authorized(
            &ws.login(&ws.staff.clerk).await,
            pb::OfficeApplicationRequest {
                regulation: "003".into(),
                applicant: Some(applicant(1)),
                representative: None,
                documents: vec![document("application")],
                form: Vec::new(),
                consent_reference: "consent-2026-000777".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), code(&error)),
        (tonic::Code::Unavailable, "registry_unavailable")
    );
}

#[test]
fn the_readmes_workstation_table_lists_exactly_the_codes() {
    let readme = include_str!("../../../../README.md");
    let start = readme
        .find("### What the workstation refuses")
        .expect("the workstation's section");
    let section = &readme[start..];
    let end = section[4..].find("\n#").map_or(section.len(), |i| i + 4);
    let mut documented = documented_codes(&section[..end]);
    documented.sort();
    let mut actual = code_table::<ApiCode>();
    actual.extend(code_table::<CommonCode>());
    actual.sort();
    assert_eq!(documented, actual);
}
