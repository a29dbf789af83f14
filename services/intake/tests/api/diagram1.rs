//! Diagram 1 (seed 001 §9; seed 004 services 1-4 and 6, ¶9) with the State
//! Corporation rules of seeds 002 and 003, element by element, through the
//! real gateway, ЖТ МДБ, БНАЖ and the workstation on autopilot.

use crate::counter::*;
use crate::helpers::*;
use egov_proto::intake::{self as pb, ReceiptKind, Stage};
use egov_proto::prost::Message;
use egov_proto::workstation as ws;

#[tokio::test]
async fn process_1_operator_login_and_lockout_after_repeated_failures() {
    let mesh = TestIntake::start(true).await;
    let session = mesh
        .login("operator", &password("operator"))
        .await
        .expect("logged in");
    assert_eq!(session.role(), pb::Role::Operator);
    assert!(
        session.full_name.contains("Оператор-operator"),
        "{}",
        session.full_name
    );

    let wrong = mesh.login("operator", "wrong password").await.unwrap_err();
    let unknown = mesh.login("nobody", "wrong password").await.unwrap_err();
    assert_eq!(code(&wrong), "login_refused");
    assert_eq!(
        wrong.message(),
        unknown.message(),
        "the same words either way"
    );
    for _ in 0..2 {
        let error = mesh.login("operator", "wrong again").await.unwrap_err();
        assert_eq!(code(&error), "login_refused");
    }
    // Locked: even the right password is refused, with the same code.
    let error = mesh
        .login("operator", &password("operator"))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "login_refused");

    // A forged token opens nothing; a courier takes no requests.
    let error = mesh
        .client
        .clone()
        .list_requests(authorized("forged", pb::ListRequestsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unauthenticated");
    let courier = mesh.token("courier").await;
    let recipient = mesh.person(1).await;
    let error = mesh
        .create(&courier, "003", &recipient, None, &[])
        .await
        .unwrap_err();
    assert_eq!(code(&error), "wrong_role");
}

#[tokio::test]
async fn processes_2_3_condition_1_the_recipient_found_with_consent_by_code() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let recipient = mesh.person(2).await;
    let draft = mesh
        .create(&token, "003", &recipient, None, &[])
        .await
        .expect("drafted");
    assert_eq!(draft.stage(), Stage::Draft);
    // Without the recipient's consent no registry is asked (seed 002 p.9).
    let error = mesh.check(&token, &draft.reference).await.unwrap_err();
    assert_eq!(code(&error), "consent_required");
    // A wrong code is refused; the code sent to the phone works.
    mesh.client
        .clone()
        .send_consent_code(authorized(
            &token,
            pb::SendConsentCodeRequest {
                reference: draft.reference.clone(),
            },
        ))
        .await
        .unwrap();
    let error = mesh
        .client
        .clone()
        .confirm_consent(authorized(
            &token,
            pb::ConfirmConsentRequest {
                reference: draft.reference.clone(),
                code: "not-it".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "consent_code_wrong");
    let consented = mesh.consent(&token, &draft.reference).await;
    assert!(consented.consent_given);
    let checked = mesh.check(&token, &draft.reference).await.expect("found");
    assert_eq!(checked.stage(), Stage::Checked);
    let person = checked.recipient.unwrap();
    assert_eq!(person.surname, recipient.surname);
    assert_eq!(person.patronymic, "Маратовна");
}

#[tokio::test]
async fn process_4_a_recipient_unknown_to_the_registry_and_an_invalid_iin() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let mut stranger = mesh.person(3).await;
    stranger.iin = egov_trust::Iin::generate(
        chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        egov_trust::iin::Sex::Male,
        777,
    )
    .unwrap()
    .to_string();
    let draft = mesh
        .create(&token, "003", &stranger, None, &[])
        .await
        .expect("drafted");
    mesh.consent(&token, &draft.reference).await;
    let error = mesh.check(&token, &draft.reference).await.unwrap_err();
    assert_eq!(code(&error), "person_not_found");
    let view = mesh.view(&token, &draft.reference).await;
    assert_eq!(view.stage(), Stage::Draft);
    assert!(
        view.lookup_problem.contains("ЖТ МДБ"),
        "{}",
        view.lookup_problem
    );
    // Nothing can be accepted from it.
    let error = mesh.accept(&token, &draft.reference).await.unwrap_err();
    assert_eq!(code(&error), "wrong_stage");

    let mut broken = mesh.person(4).await;
    let last = broken.iin.pop().unwrap();
    broken.iin.push(if last == '0' { '1' } else { '0' });
    let error = mesh
        .create(&token, "003", &broken, None, &[])
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_iin");
    assert_eq!(mesh.count("bus_outbox").await, 0, "nothing sent");
}

#[tokio::test]
async fn registry_down_the_operator_is_told_the_draft_is_kept_then_sent_once() {
    let mut mesh = TestIntake::start(false).await;
    let token = mesh.token("operator").await;
    let recipient = mesh.person(5).await;
    let draft = mesh
        .create(&token, "003", &recipient, None, &[])
        .await
        .expect("drafted");
    mesh.consent(&token, &draft.reference).await;
    let error = mesh.check(&token, &draft.reference).await.unwrap_err();
    assert_eq!(code(&error), "registry_unavailable");
    assert_eq!(error.code(), tonic::Code::Unavailable);
    let kept = mesh.view(&token, &draft.reference).await;
    assert_eq!(kept.stage(), Stage::Draft, "the draft is kept");
    assert!(kept.consent_given);

    // ЖТ МДБ comes back: the same draft goes through, and is sent once.
    mesh.individuals = Some(start_individuals(&mesh.mesh).await);
    mesh.check(&token, &draft.reference)
        .await
        .expect("found now");
    let first = mesh
        .accept(&token, &draft.reference)
        .await
        .expect("accepted");
    let again = mesh
        .accept(&token, &draft.reference)
        .await
        .expect("the same");
    assert_eq!(first.cms, again.cms);
    mesh.wait_stage(&token, &draft.reference, &[Stage::ResultReady])
        .await;
    assert_eq!(mesh.at_provider(&draft.reference).await, 1, "sent once");
}

#[tokio::test]
async fn an_incomplete_package_gets_the_refusal_receipt_listing_what_is_missing() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let recipient = mesh.person(6).await;
    let draft = mesh
        .create(
            &token,
            "002",
            &recipient,
            None,
            &["bank_account_contract", "child_income_documents"],
        )
        .await
        .expect("drafted");
    mesh.consent(&token, &draft.reference).await;
    mesh.check(&token, &draft.reference).await.expect("checked");
    let receipt = mesh
        .accept(&token, &draft.reference)
        .await
        .expect("a receipt");
    assert_eq!(receipt.kind(), ReceiptKind::Refusal);
    assert_eq!(
        receipt.missing_documents,
        ["bank_account_contract", "child_income_documents"]
    );
    // By name, as seed 002 App. 3 asks.
    assert!(
        receipt
            .text
            .contains("Наименование отсутствующих документов")
    );
    assert!(
        receipt
            .text
            .contains("копия договора об открытии лицевого счета"),
        "{}",
        receipt.text
    );
    assert!(
        receipt.text.contains("сведения о доходах ребенка"),
        "{}",
        receipt.text
    );
    let printed = openssl_verifies(&mesh.mesh, &receipt.cms).expect("openssl verifies");
    assert_eq!(printed, receipt.text.as_bytes());
    let view = mesh.view(&token, &draft.reference).await;
    assert_eq!(view.stage(), Stage::RefusedAtCounter);
    assert_eq!(mesh.count("bus_outbox").await, 0, "nothing sent");
}

/// Processes 5-6: the acceptance receipt with the fields of seed 003 §9 1)
/// and the calendar's date of issue; the request reaches the workstation
/// signed by the operator (openssl verifies it).
#[tokio::test]
async fn processes_5_6_acceptance_receipt_and_the_request_signed_by_the_operator() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let recipient = mesh.person(7).await;
    let receipt = mesh.take(&token, "002", &recipient, None).await;
    assert_eq!(receipt.kind(), ReceiptKind::Acceptance);
    let view = mesh.view(&token, &receipt.reference).await;
    let accepted_at = egov_bus::envelope::from_timestamp(&view.accepted_at.unwrap()).unwrap();
    assert_eq!(accepted_at.to_rfc3339(), "2026-04-06T05:00:00+00:00");
    // Worked out by hand (seed 002 Standard row 3 and p.6): accepted on
    // Monday 6 April 2026 at 10:00 in Almaty, the day of intake not
    // counted, one working day: Tuesday 7 April, at the end of the State
    // Corporation's working day, 20:00 Almaty (15:00 UTC).
    let due: chrono::DateTime<chrono::Utc> = "2026-04-07T15:00:00Z".parse().unwrap();
    assert_eq!(receipt.issue_at.as_ref().unwrap().seconds, due.timestamp());
    let text = &receipt.text;
    for field in [
        receipt.reference.as_str(),                  // request number
        "Дата приема",                               // date of acceptance
        "Назначение выплаты пособия опекунам",       // service
        "Приложенные документы (5)",                 // number of documents
        "копия договора об открытии лицевого счета", // their names
        &egov_calendar::to_local(due)
            .format("%d.%m.%Y %H:%M")
            .to_string(), // issue
        "Место выдачи",                              // place
        "Оператор-operator",                         // operator
        &recipient.surname,                          // recipient
        &recipient.phone,                            // phones
        &format!("*{}*", receipt.barcode),           // barcode
    ] {
        assert!(text.contains(field), "{field:?} missing from:\n{text}");
    }
    assert_eq!(
        openssl_verifies(&mesh.mesh, &receipt.cms).expect("openssl verifies the receipt"),
        text.as_bytes()
    );

    // The workstation has it, signed by the operator.
    let pool = mesh.mesh.pool("workstation").await;
    let payload: Vec<u8> =
        egov_testkit::wait::until(PATIENCE, "registered by the workstation", || async {
            sqlx::query_scalar("SELECT payload FROM applications WHERE reference = $1")
                .bind(&receipt.reference)
                .fetch_optional(&pool)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "not yet".to_owned())
        })
        .await;
    let received = ws::Application::decode(payload.as_slice()).unwrap();
    let content = openssl_verifies(&mesh.mesh, &received.signed_request)
        .expect("openssl verifies the request");
    let application = ws::Application::decode(content.as_slice()).unwrap();
    assert_eq!(application.reference, receipt.reference);
    assert_eq!(application.channel(), ws::Channel::StateCorporation);
    assert_eq!(application.applicant.unwrap().iin, recipient.iin);
}

/// Process 9: the result handed over on the recipient's identity, once.
#[tokio::test]
async fn process_9_the_result_is_issued_on_the_recipients_identity() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let issuer = mesh.token("issuer").await;
    let recipient = mesh.person(8).await;
    let receipt = mesh.take(&token, "003", &recipient, None).await;
    mesh.wait_stage(&token, &receipt.reference, &[Stage::ResultReady])
        .await;
    assert!(mesh.last_sms(&recipient.phone).await.contains("готов"));
    // Someone else's identity card with no power of attorney.
    let someone = mesh.person(9).await;
    let error = mesh
        .issue(&issuer, &receipt.reference, &someone.iin, "")
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_the_recipient");
    let issued = mesh
        .issue(&issuer, &receipt.reference, &recipient.iin, "")
        .await
        .expect("handed over");
    assert_eq!(issued.request.as_ref().unwrap().stage(), Stage::Issued);
    let document = issued.document.unwrap();
    assert_eq!(document.applicant.unwrap().iin, recipient.iin);
    openssl_verifies(&mesh.mesh, &issued.cms).expect("the provider's signature");
    let again = mesh
        .issue(&issuer, &receipt.reference, &recipient.iin, "")
        .await
        .unwrap_err();
    assert_eq!(code(&again), "already_issued");
}

/// One application of every regulation with a State Corporation channel
/// reaches a result on autopilot.
#[tokio::test]
async fn every_regulation_taken_at_the_state_corporation_reaches_a_result() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let services = mesh
        .client
        .clone()
        .list_services(pb::ListServicesRequest {})
        .await
        .unwrap()
        .into_inner()
        .services;
    let codes: Vec<String> = services.iter().map(|s| s.code.clone()).collect();
    assert_eq!(
        codes,
        [
            "001", "002", "003", "004-01", "004-02", "004-03", "004-04", "004-06"
        ]
    );
    let recipient = mesh.person(10).await;
    let mut references = Vec::new();
    for code in &codes {
        let receipt = mesh.take(&token, code, &recipient, None).await;
        assert_eq!(receipt.kind(), ReceiptKind::Acceptance, "{code}");
        references.push((code.clone(), receipt.reference));
    }
    for (code, reference) in references {
        let view = mesh
            .wait_stage(
                &token,
                &reference,
                &[Stage::ResultReady, Stage::NotAccepted],
            )
            .await;
        assert_eq!(view.stage(), Stage::ResultReady, "service {code}: {view:?}");
    }
}

/// Seed 003 §9 2)-5): a package checked on paper, with no scan at all, is
/// complete for the provider too — the request tells the workstation which
/// originals follow by courier, so its completeness check (seed 002 Rules
/// p.5 for 002, seven documents) agrees with the counter's.
#[tokio::test]
async fn a_package_present_only_on_paper_reaches_a_result() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let recipient = mesh.person(11).await;
    let mut references = Vec::new();
    for regulation in ["003", "002"] {
        let service = mesh.service(regulation).await;
        let on_paper: Vec<String> = service
            .documents
            .iter()
            .filter(|d| d.condition.is_empty())
            .map(|d| d.code.clone())
            .collect();
        assert!(!on_paper.is_empty(), "{regulation}");
        let draft = mesh
            .client
            .clone()
            .create_request(authorized(
                &token,
                pb::CreateRequestRequest {
                    regulation: regulation.into(),
                    recipient: Some(pb::Recipient {
                        iin: recipient.iin.clone(),
                        phone: recipient.phone.clone(),
                    }),
                    documents_present: on_paper,
                    ..Default::default()
                },
            ))
            .await
            .expect("drafted")
            .into_inner();
        mesh.consent(&token, &draft.reference).await;
        mesh.check(&token, &draft.reference).await.expect("checked");
        let receipt = mesh
            .accept(&token, &draft.reference)
            .await
            .expect("accepted");
        assert_eq!(receipt.kind(), ReceiptKind::Acceptance, "{regulation}");
        references.push((regulation, draft.reference));
    }
    for (regulation, reference) in references {
        let view = mesh
            .wait_stage(
                &token,
                &reference,
                &[Stage::ResultReady, Stage::NotAccepted],
            )
            .await;
        assert_eq!(view.stage(), Stage::ResultReady, "{regulation}: {view:?}");
    }
    let paper_rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM application_documents WHERE on_paper AND content IS NULL",
    )
    .fetch_one(&mesh.mesh.pool("workstation").await)
    .await
    .unwrap();
    assert!(paper_rows >= 2, "{paper_rows} originals recorded on paper");
}
