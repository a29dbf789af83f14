//! Size limits on the citizens' API (issue 13, point 3): an attachment over
//! `portal.max_document_bytes` in a request the port takes is
//! `document_too_large` (naming the document); a request over
//! `grpc.max_message_bytes` — an attachment that large — is
//! `payload_too_large` (naming the setting), refused before it is read.
//! Either way nothing is stored or sent.

use crate::helpers::*;
use tonic_types::StatusExt;

#[tokio::test]
async fn an_attachment_over_the_grpc_limit_is_payload_too_large_and_one_over_the_document_limit_document_too_large()
 {
    let mesh = TestPortal::start(true).await;
    let citizen = mesh.signed_up(30).await;
    let allowance = mesh.service("002").await;
    let complete = complete_draft(&allowance, &citizen.iin);

    // Over portal.max_document_bytes (64 KiB in the tests), well within
    // the port's 8 MiB: the portal's own check names the document.
    let mut draft = complete.clone();
    draft.documents[0].content = vec![7u8; 100 * 1024].into();
    draft.documents[0].sha256 = Default::default();
    let error = mesh.prepare(&citizen, draft).await.unwrap_err();
    assert_eq!(code(&error), "document_too_large", "{error:?}");

    // 9 MiB: the request is over grpc.max_message_bytes (8 MiB by default).
    let mut draft = complete.clone();
    draft.documents[0].content = vec![7u8; 9 * 1024 * 1024].into();
    draft.documents[0].sha256 = Default::default();
    let error = mesh.prepare(&citizen, draft).await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::ResourceExhausted, "{error:?}");
    assert_eq!(code(&error), "payload_too_large");
    assert!(
        error
            .message()
            .contains("grpc.max_message_bytes is 8388608"),
        "{}",
        error.message()
    );
    let details = error.get_error_details();
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(info.metadata["limit"], "grpc.max_message_bytes");
    assert_eq!(info.metadata["limit_bytes"], "8388608");
    assert!(info.metadata["size_bytes"].parse::<usize>().unwrap() > 9 * 1024 * 1024);

    // The port goes on serving the same connection.
    mesh.prepare(&citizen, complete)
        .await
        .expect("the complete draft is accepted");
    assert_eq!(mesh.count("applications").await, 0);
    assert_eq!(mesh.count("bus_outbox").await, 0);
}

/// Issue 14 point 5: password logins per client address. Within
/// `portal.login_attempts_per_minute` each is answered on its merits (a
/// wrong password `login_refused`); past it `too_many_attempts`, before the
/// password is even looked at — the right one included.
#[tokio::test]
async fn logins_from_one_address_over_the_rate_are_too_many_attempts() {
    let mesh = egov_testkit::TestMesh::new().await;
    let mut settings: egov_portal::Settings =
        egov_harness::settings(&mesh, egov_trust::SystemId::Portal, PORTAL_SETTINGS);
    settings.portal.login_attempts_per_minute = 2;
    let app = egov_portal::Application::build(settings)
        .await
        .expect("build the portal");
    app.wait_ready(PATIENCE).await.expect("portal ready");
    let address = app.address();
    let _portal = egov_harness::Running::spawn(address, |stop| app.run_until_stopped(stop));
    let mut client =
        egov_proto::portal::portal_client::PortalClient::connect(format!("http://{address}"))
            .await
            .expect("connect");
    let login = egov_proto::portal::LoginRequest {
        iin: "900101300017".into(),
        password: "not the password".into(),
    };
    for n in 0..2 {
        let error = client.login(login.clone()).await.unwrap_err();
        assert_eq!(code(&error), "login_refused", "attempt {n}: {error:?}");
    }
    let error = client.login(login.clone()).await.unwrap_err();
    assert_eq!(code(&error), "too_many_attempts", "{error:?}");
    assert_eq!(error.code(), tonic::Code::ResourceExhausted);
    assert!(
        error.message().contains("try again in"),
        "{}",
        error.message()
    );
}
