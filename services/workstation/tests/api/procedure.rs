//! The staff procedure by API calls, each in its role: an application from
//! the portal (diagram 2) goes through every step, a wrong role is refused at
//! each, and the portal gets a status per step and the result signed with
//! the head's EDS.

use crate::helpers::*;
use egov_proto::workstation::{self as pb, act_request::Action};
use egov_workstation::staff::Role;

fn register() -> Action {
    Action::Register(pb::Register {
        note: "в журнал".into(),
    })
}

fn assign(login: &str) -> Action {
    Action::Assign(pb::Assign {
        specialist_login: login.into(),
        resolution: "рассмотреть".into(),
    })
}

fn approve(fields: &[(&str, &str)]) -> Action {
    Action::Approve(pb::Approve {
        fields: fields
            .iter()
            .map(|(name, value)| pb::FormField {
                name: (*name).into(),
                value: (*value).into(),
            })
            .collect(),
        result_code: String::new(),
    })
}

fn sign() -> Action {
    Action::Sign(pb::Sign {})
}

fn issue() -> Action {
    Action::Issue(pb::Issue {})
}

/// Every role but `role` tries `action` on the task and is refused.
async fn others_are_refused(
    ws: &TestWorkstation,
    journal: &str,
    position: u32,
    role: Role,
    action: &Action,
) {
    for other in Role::STAFF.into_iter().filter(|r| *r != role) {
        let error = ws
            .act(ws.staff.of(other), journal, position, action.clone())
            .await
            .expect_err("a wrong role is refused");
        assert_eq!(error.code(), tonic::Code::PermissionDenied, "{error:?}");
        assert_eq!(
            code(&error),
            "wrong_role",
            "{other} at task {position}: {error:?}"
        );
    }
}

#[tokio::test]
async fn an_application_goes_through_every_staff_step_and_the_portal_gets_the_signed_result() {
    // Arrange: seed 003 (establishing guardianship), whose five steps are
    // the clerk's, the head's, the specialist's, the head's and the clerk's.
    let ws = spawn(Options::default()).await;
    let conversation = ws
        .submit(application("003", pb::Channel::Portal, &["application"]))
        .await;

    // The first status: accepted, with the date and time of the result.
    let accepted = ws.portal_inbox.accepted(&conversation).await;
    assert_eq!(accepted.state, pb::State::Accepted as i32);
    assert!(accepted.result_expected_at.is_some());
    assert!(
        accepted.text.contains("Результат ожидается") && accepted.text.contains("Asia/Almaty"),
        "{}",
        accepted.text
    );
    assert_eq!(accepted.reference, "ref-003");
    let journal = accepted.journal_number.clone();

    // Act: each step in its role; the wrong roles refused before it.
    let steps: Vec<(Role, Action)> = vec![
        (Role::OfficeClerk, register()),
        (Role::Head, assign(&ws.staff.specialist.login)),
        (
            Role::Specialist,
            approve(&[("guardian", "Ахметова Динара Болатовна")]),
        ),
        (Role::Head, sign()),
        (Role::OfficeClerk, issue()),
    ];
    for (i, (role, action)) in steps.into_iter().enumerate() {
        let position = i as u32 + 1;
        let listed = ws.tasks(ws.staff.of(role)).await;
        assert!(
            listed
                .iter()
                .any(|t| t.journal_number == journal && t.position == position),
            "task {position} is on the {role}'s list: {listed:?}"
        );
        others_are_refused(&ws, &journal, position, role, &action).await;
        let view = ws
            .act(ws.staff.of(role), &journal, position, action.clone())
            .await
            .unwrap_or_else(|e| panic!("{role} does task {position}: {e:?}"));
        assert!(view.tasks[i].done_at.is_some());
        assert_eq!(view.tasks[i].done_by, ws.staff.of(role).login);
        // The same act again is not done twice.
        let again = ws
            .act(ws.staff.of(role), &journal, position, action)
            .await
            .expect_err("a task is done once");
        assert!(
            ["task_not_current", "procedure_finished"].contains(&code(&again)),
            "{again:?}"
        );
        // A status for the step.
        let status = ws.portal_inbox.status(&conversation, position + 1).await;
        assert_eq!(status.step, view.tasks[i].step);
    }

    // Assert: the result, signed with the head's EDS over the bytes sent.
    let result = ws.portal_inbox.result(&conversation).await;
    assert_eq!(result.state, pb::State::Issued as i32);
    assert_eq!(result.journal_number, journal);
    let document = verified(&result, &ws.staff.head);
    assert_eq!(document.regulation, "003");
    assert_eq!(document.result_code, "resolution");
    assert_eq!(document.signer_iin, ws.staff.head.iin);
    assert_eq!(
        field(&document, "guardian"),
        Some("Ахметова Динара Болатовна")
    );
    // The workstation keeps exactly those bytes.
    let kept = ws.document(&journal).await;
    assert_eq!(kept.document.unwrap(), result.document.clone().unwrap());

    // One status per step after "accepted", in order, the last "issued".
    let statuses = ws.portal_inbox.all_statuses(&conversation).await;
    let sequences: Vec<u32> = statuses.iter().map(|s| s.sequence).collect();
    assert_eq!(sequences, vec![1, 2, 3, 4, 5, 6]);
    let stages: Vec<&str> = statuses.iter().map(|s| s.stage.as_str()).collect();
    assert_eq!(
        stages,
        vec!["", "register", "assign", "examine", "sign", "issue"]
    );
    assert_eq!(statuses[5].state, pb::State::Issued as i32);
    assert_eq!(ws.portal_inbox.results(&conversation).len(), 1);

    // The step log: who did what.
    let view = ws.application(&journal).await;
    assert_eq!(view.state, pb::State::Issued as i32);
    assert_eq!(view.current_position, 0);
    let log: Vec<(&str, bool)> = view
        .tasks
        .iter()
        .map(|t| (t.done_by.as_str(), t.by_autopilot))
        .collect();
    assert_eq!(
        log,
        vec![
            ("clerk", false),
            ("head", false),
            ("specialist", false),
            ("head", false),
            ("clerk", false)
        ]
    );
}

#[tokio::test]
async fn the_head_assigns_a_specialist_and_another_cannot_examine() {
    let ws = spawn(Options::default()).await;
    let conversation = ws
        .submit(application("003", pb::Channel::Portal, &["application"]))
        .await;
    let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
    ws.act(&ws.staff.clerk, &journal, 1, register())
        .await
        .unwrap();
    // Only a specialist can be assigned.
    let error = ws
        .act(&ws.staff.head, &journal, 2, assign(&ws.staff.clerk.login))
        .await
        .expect_err("a clerk is no examiner");
    assert_eq!(code(&error), "not_an_examiner");
    ws.act(
        &ws.staff.head,
        &journal,
        2,
        assign(&ws.staff.specialist.login),
    )
    .await
    .unwrap();
    let error = ws
        .act(&ws.staff.other_specialist, &journal, 3, approve(&[]))
        .await
        .expect_err("the case is someone else's");
    assert_eq!(code(&error), "not_assigned");
    assert!(
        ws.tasks(&ws.staff.other_specialist).await.is_empty(),
        "not on the other specialist's list"
    );
    // The wrong action for the task is refused with its field.
    let error = ws
        .act(&ws.staff.specialist, &journal, 3, sign())
        .await
        .expect_err("examining is not signing");
    assert_eq!(code(&error), "wrong_action");
    assert!(error.message().contains("action"), "{error:?}");
    let error = ws
        .act(&ws.staff.specialist, &journal, 3, assign("x"))
        .await
        .expect_err("examining is not assigning");
    assert_eq!(code(&error), "wrong_action");
}

#[tokio::test]
async fn seed_002s_decision_carries_its_form_fields_and_the_head_signs_the_specialists_step() {
    // Seed 002 has one step, the specialist's (register, examine, sign,
    // issue); the signature is the head's (Rules p.10).
    let ws = spawn(Options::default()).await;
    let mut app = application("002", pb::Channel::Portal, &SEED_002_PORTAL);
    app.form = vec![
        pb::FormField {
            name: "appointment_decision".into(),
            value: "Приказ № 45 отдела образования".into(),
        },
        pb::FormField {
            name: "appointment_date".into(),
            value: "2026-10-01".into(),
        },
    ];
    let conversation = ws.submit(app).await;
    let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
    let specialist = &ws.staff.specialist;
    ws.act(specialist, &journal, 1, register()).await.unwrap();
    // A bad value is refused with its field.
    let error = ws
        .act(
            specialist,
            &journal,
            2,
            approve(&[("allowance_amount", "много")]),
        )
        .await
        .expect_err("not an amount");
    assert_eq!(code(&error), "invalid_value");
    assert!(
        error.message().contains("approve.fields[0].value"),
        "{error:?}"
    );
    let error = ws
        .act(
            specialist,
            &journal,
            2,
            approve(&[("head_signature", "me")]),
        )
        .await
        .expect_err("the signature is the head's");
    assert_eq!(code(&error), "field_not_settable");
    ws.act(
        specialist,
        &journal,
        2,
        approve(&[
            ("birth_certificate_number", "0045871"),
            ("birth_certificate_date", "2015-06-02"),
            ("birth_certificate_issuer", "РАГС г. Алматы"),
            ("child_name", "Ахметов Ерлан"),
            ("child_birth_date", "2015-05-28"),
            ("allowance_period", "2026-12-01..2027-11-30"),
            ("allowance_amount", "52000"),
        ]),
    )
    .await
    .unwrap();
    let error = ws
        .act(specialist, &journal, 3, sign())
        .await
        .expect_err("a specialist cannot sign");
    assert_eq!(code(&error), "wrong_role");
    let error = ws
        .act(&ws.staff.clerk, &journal, 3, sign())
        .await
        .expect_err("a clerk cannot sign");
    assert_eq!(code(&error), "wrong_role");
    ws.act(&ws.staff.head, &journal, 3, sign()).await.unwrap();
    ws.act(specialist, &journal, 4, issue()).await.unwrap();

    let result = ws.portal_inbox.result(&conversation).await;
    let decision = verified(&result, &ws.staff.head);
    assert_eq!(decision.result_code, "decision");
    assert_eq!(decision.form, "decision");
    for (name, value) in [
        ("decision_number", journal.as_str()),
        ("case_number", journal.as_str()),
        ("body_name", "Отдел образования города (egov-mesh)"),
        ("citizen", "Ахметова Динара Болатовна"),
        ("birth_certificate_number", "0045871"),
        ("appointment_decision", "Приказ № 45 отдела образования"),
        ("appointment_date", "2026-10-01"),
        ("allowance_amount", "52000"),
        ("allowance_period", "2026-12-01..2027-11-30"),
        ("head_name", "Руководителева Айгерим"),
    ] {
        assert_eq!(field(&decision, name), Some(value), "{name}");
    }
    assert!(field(&decision, "decision_date").is_some());
    assert!(field(&decision, "application_date").is_some());
    assert!(
        field(&decision, "head_signature")
            .unwrap()
            .contains(&ws.staff.head.iin)
    );
    assert_eq!(field(&decision, "refusal_reason"), None);
}

#[tokio::test]
async fn an_incomplete_application_ends_in_a_refusal_that_names_its_ground() {
    // Seed 002 without the child's income documents (Standard row 8,
    // portal item 5), which ground 2 of row 9 concerns.
    let ws = spawn(Options::default()).await;
    let conversation = ws
        .submit(application(
            "002",
            pb::Channel::Portal,
            &[
                "application",
                "parental_care_absence_documents",
                "bank_account_contract",
            ],
        ))
        .await;
    let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
    let specialist = &ws.staff.specialist;
    ws.act(specialist, &journal, 1, register()).await.unwrap();
    let refuse = |grounds: &[&str], reasons: &[&str]| {
        Action::Refuse(pb::Refuse {
            grounds: grounds.iter().map(|g| (*g).into()).collect(),
            reasons: reasons.iter().map(|r| (*r).into()).collect(),
            missing_documents: vec!["child_income_documents".into()],
        })
    };
    let error = ws
        .act(specialist, &journal, 2, refuse(&["no_such_ground"], &["x"]))
        .await
        .expect_err("grounds come from the regulation's list");
    assert_eq!(code(&error), "unknown_ground");
    let error = ws
        .act(
            specialist,
            &journal,
            2,
            refuse(&["income_exceeds_upkeep_costs"], &[]),
        )
        .await
        .expect_err("a refusal gives its reasons");
    assert_eq!(code(&error), "missing_field");
    ws.act(
        specialist,
        &journal,
        2,
        refuse(
            &["income_exceeds_upkeep_costs"],
            &["не представлены сведения о доходах ребенка"],
        ),
    )
    .await
    .unwrap();
    ws.act(&ws.staff.head, &journal, 3, sign()).await.unwrap();
    ws.act(specialist, &journal, 4, issue()).await.unwrap();

    let result = ws.portal_inbox.result(&conversation).await;
    assert_eq!(result.state, pb::State::Refused as i32);
    let refusal = verified(&result, &ws.staff.head);
    assert_eq!(refusal.kind, "refusal");
    assert_eq!(refusal.result_code, "reasoned_refusal");
    let reasons = refusal.refusal.as_ref().unwrap();
    assert_eq!(reasons.grounds[0].code, "income_exceeds_upkeep_costs");
    assert!(
        reasons.grounds[0].source.starts_with("seed 002"),
        "{:?}",
        reasons.grounds
    );
    assert_eq!(reasons.missing_documents, vec!["child_income_documents"]);
    // The decision form's "refused because" line carries the ground.
    assert!(
        field(&refusal, "refusal_reason")
            .unwrap()
            .contains("income")
    );
    let statuses = ws.portal_inbox.all_statuses(&conversation).await;
    assert_eq!(statuses.last().unwrap().state, pb::State::Refused as i32);
}

#[tokio::test]
async fn a_head_whose_eds_is_revoked_cannot_sign() {
    let ws = spawn(Options::default()).await;
    let conversation = ws
        .submit(application("003", pb::Channel::Portal, &["application"]))
        .await;
    let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
    for (i, (who, action)) in [
        (&ws.staff.clerk, register()),
        (&ws.staff.head, assign(&ws.staff.specialist.login)),
        (&ws.staff.specialist, approve(&[])),
    ]
    .into_iter()
    .enumerate()
    {
        ws.act(who, &journal, i as u32 + 1, action).await.unwrap();
    }
    let serial = egov_trust::CertificateInfo::parse(&ws.staff.head.certificate_der)
        .unwrap()
        .serial_hex();
    ws.mesh.pki.revoke(&serial);
    let error = ws
        .act(&ws.staff.head, &journal, 4, sign())
        .await
        .expect_err("a revoked EDS signs nothing");
    assert_eq!(code(&error), "certificate_revoked", "{error:?}");
    // Nothing was signed; the task is still the head's.
    let view = ws.application(&journal).await;
    assert_eq!(view.current_position, 4);
    assert!(view.tasks[3].done_at.is_none());
}
