//! The autopilot: with nobody at the desk and no API call, applications of
//! several regulations, from the portal and the State Corporation, come back
//! signed with the head's EDS — approved when their documents are complete,
//! refused on the matching ground when one is missing.

use crate::helpers::*;
use egov_bus::Outgoing;
use egov_proto::workstation as pb;
use egov_trust::SystemId;

#[tokio::test]
async fn the_autopilot_answers_applications_of_several_regulations_with_signed_results() {
    let ws = spawn(Options::autopilot()).await;
    // (regulation, from the State Corporation?, documents, expected state)
    let cases: Vec<(&str, bool, Vec<&str>, pb::State)> = vec![
        ("002", false, SEED_002_PORTAL.to_vec(), pb::State::Issued),
        (
            "002",
            false,
            vec!["application", "parental_care_absence_documents"],
            pb::State::Refused,
        ),
        ("003", false, vec!["application"], pb::State::Issued),
        ("004-01", false, vec!["application"], pb::State::Issued),
        ("004-05", false, vec!["application"], pb::State::Issued),
        ("001", true, vec!["application"], pb::State::Issued),
        ("003", false, vec![], pb::State::Refused),
        // Seed 000: no staff steps; the workstation decides by itself.
        ("000", false, vec!["application"], pb::State::Issued),
    ];
    let mut sent = Vec::new();
    for (i, (regulation, from_intake, documents, _)) in cases.iter().enumerate() {
        let conversation = format!("auto-{i}-{regulation}");
        let (bus, channel) = if *from_intake {
            (&ws.intake, pb::Channel::StateCorporation)
        } else {
            (&ws.portal, pb::Channel::Portal)
        };
        ws.submit_in(
            bus,
            application(regulation, channel, documents),
            &conversation,
        )
        .await;
        sent.push(conversation);
    }

    for ((regulation, from_intake, _, state), conversation) in cases.iter().zip(&sent) {
        let inbox = if *from_intake {
            &ws.intake_inbox
        } else {
            &ws.portal_inbox
        };
        let result = inbox.result(conversation).await;
        assert_eq!(result.state, *state as i32, "{regulation} ({conversation})");
        let document = verified(&result, &ws.staff.head);
        assert_eq!(&document.regulation, regulation);
        if *state == pb::State::Refused {
            let refusal = document.refusal.as_ref().expect("a reasoned refusal");
            assert!(!refusal.grounds.is_empty() && !refusal.reasons.is_empty());
            assert!(!refusal.missing_documents.is_empty());
        }
        // "Accepted" first, then one status per task, the last final.
        let statuses = inbox.all_statuses(conversation).await;
        assert_eq!(statuses[0].sequence, 1);
        assert_eq!(statuses[0].state, pb::State::Accepted as i32);
        assert_eq!(statuses.last().unwrap().state, *state as i32);
        let sequences: Vec<u32> = statuses.iter().map(|s| s.sequence).collect();
        assert_eq!(sequences, (1..=statuses.len() as u32).collect::<Vec<_>>());
    }

    // The refusals name their grounds: seed 002's ground 2 for the missing
    // income documents, and the incomplete package for the bank contract,
    // which no ground of row 9 concerns.
    let refusal = verified(&ws.portal_inbox.result(&sent[1]).await, &ws.staff.head);
    let grounds: Vec<&str> = refusal
        .refusal
        .as_ref()
        .unwrap()
        .grounds
        .iter()
        .map(|g| g.code.as_str())
        .collect();
    assert_eq!(
        grounds,
        vec!["income_exceeds_upkeep_costs", "incomplete_package"]
    );
    // The configured values went into seed 002's decision.
    let decision = verified(&ws.portal_inbox.result(&sent[0]).await, &ws.staff.head);
    assert_eq!(field(&decision, "allowance_amount"), Some("52000"));
    assert_eq!(
        field(&decision, "allowance_period"),
        Some("2026-12-01..2027-11-30")
    );

    // Every task was done by the autopilot, none by a person's call.
    let pool = ws.mesh.pool("workstation").await;
    let (tasks, by_autopilot, open): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE by_autopilot), count(*) FILTER (WHERE done_at IS NULL)
         FROM application_tasks",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((by_autopilot, open), (tasks, 0));
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "nobody logged in");
}

#[tokio::test]
async fn the_state_corporation_hands_back_an_unclaimed_result_and_asks_for_it_again() {
    // Seed 002 Rules p.11: stored one month, handed to the provider, sent
    // back on the State Corporation's request.
    let ws = spawn(Options::autopilot()).await;
    let conversation = "unclaimed";
    // The identity document is obtained through the gateway (p.9), so the
    // State Corporation's list asks the same four as the portal's.
    let app = application("002", pb::Channel::StateCorporation, &SEED_002_PORTAL);
    ws.submit_in(&ws.intake, app, conversation).await;
    let first = ws.intake_inbox.result(conversation).await;
    let payload = pb::UnclaimedResult {
        journal_number: first.journal_number.clone(),
        reference: String::new(),
    };
    for service in ["return-unclaimed-result", "request-unclaimed-result"] {
        ws.intake
            .send(
                Outgoing::request(SystemId::Workstation, service, payload.clone())
                    .conversation(conversation),
            )
            .await
            .unwrap();
    }
    let again = ws
        .intake_inbox
        .wait("the result sent again", |all| {
            let results: Vec<_> = all
                .iter()
                .filter_map(|(c, r)| match r {
                    Received::Result(r, id) if c == conversation => Some((r.clone(), id.clone())),
                    _ => None,
                })
                .collect();
            (results.len() == 2).then(|| (results[0].1.clone(), results[1].clone()))
        })
        .await;
    let (first_id, again) = again;
    // What the State Corporation checks: a second message (not the first
    // delivered twice) carrying the same result of the same application.
    assert_ne!(
        again.1, first_id,
        "the result is sent again as a new message"
    );
    assert_eq!(again.0.journal_number, first.journal_number);
    assert_eq!(again.0.document, first.document, "the same signed bytes");
}
