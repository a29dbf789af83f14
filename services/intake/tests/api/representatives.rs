//! A representative (diagram 1, process 2: only with a notarised power of
//! attorney) checked in БНАЖ (process 3, condition 1; process 4 names what
//! could not be obtained), and checked again when the result is handed
//! over (seed 002 Rules p.11; seed 003 §10 2)).

use crate::counter::*;
use crate::helpers::*;
use egov_proto::intake::{self as pb, Stage};

fn entry(iin: &str, number: &str) -> Option<pb::RepresentativeEntry> {
    Some(pb::RepresentativeEntry {
        iin: iin.into(),
        power_of_attorney_number: number.into(),
        power_of_attorney_date: TestIntake::poa_date(),
        surname: "Омаров".into(),
        given_name: "Ерлан".into(),
        patronymic: String::new(),
    })
}

#[tokio::test]
async fn condition_1_each_power_of_attorney_answer_of_the_notary() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let recipient = mesh.person(20).await;
    let today = egov_notary::handler::today_in_almaty();
    let valid = mesh
        .power_of_attorney("2026-00000201", &recipient.iin, &["003"], |_| {})
        .await;
    let expired = mesh
        .power_of_attorney("2026-00000202", &recipient.iin, &["003"], |p| {
            p.issued_on = today - chrono::Days::new(400);
            p.valid_until = today - chrono::Days::new(30);
        })
        .await;
    let revoked = mesh
        .power_of_attorney("2026-00000203", &recipient.iin, &["003"], |p| {
            p.revoked_on = Some(today - chrono::Days::new(10));
        })
        .await;
    let elsewhere = mesh
        .power_of_attorney("2026-00000204", &recipient.iin, &["004-02"], |_| {})
        .await;
    let cases = [
        (valid.as_str(), "2026-00000201", None),
        (expired.as_str(), "2026-00000202", Some("poa_expired")),
        (revoked.as_str(), "2026-00000203", Some("poa_revoked")),
        (
            elsewhere.as_str(),
            "2026-00000204",
            Some("poa_out_of_scope"),
        ),
        (valid.as_str(), "2026-99999999", Some("poa_not_found")),
    ];
    for (representative, number, expected) in cases {
        let draft = mesh
            .create(
                &token,
                "003",
                &recipient,
                entry(representative, number),
                &[],
            )
            .await
            .expect("drafted");
        mesh.consent(&token, &draft.reference).await;
        let checked = mesh.check(&token, &draft.reference).await;
        match expected {
            None => assert_eq!(checked.expect(number).stage(), Stage::Checked),
            Some(expected) => {
                let error = checked.unwrap_err();
                assert_eq!(code(&error), expected, "{number}");
                let view = mesh.view(&token, &draft.reference).await;
                assert_eq!(view.stage(), Stage::Draft);
                assert!(
                    view.lookup_problem.contains("БНАЖ"),
                    "{}",
                    view.lookup_problem
                );
            }
        }
    }
    // A representative without the power's number is not entered at all.
    let error = mesh
        .create(&token, "003", &recipient, entry(&valid, ""), &[])
        .await
        .unwrap_err();
    assert_eq!(code(&error), "missing_field");
    assert_eq!(mesh.count("bus_outbox").await, 0, "nothing sent");
}

#[tokio::test]
async fn process_9_the_result_to_a_representative_and_refused_once_the_power_is_revoked() {
    let mesh = TestIntake::start(true).await;
    let token = mesh.token("operator").await;
    let issuer = mesh.token("issuer").await;
    let recipient = mesh.person(21).await;
    let other = mesh.person(22).await;
    let representative = mesh
        .power_of_attorney("2026-00000301", &recipient.iin, &["003"], |_| {})
        .await;
    let second = mesh
        .power_of_attorney("2026-00000302", &other.iin, &["003"], |_| {})
        .await;

    // The recipient's representative takes the result on a valid power.
    let first = mesh
        .take(
            &token,
            "003",
            &recipient,
            entry(&representative, "2026-00000301"),
        )
        .await;
    mesh.wait_stage(&token, &first.reference, &[Stage::ResultReady])
        .await;
    let issued = mesh
        .issue(&issuer, &first.reference, &representative, "2026-00000301")
        .await
        .expect("handed to the representative");
    let view = issued.request.unwrap();
    assert_eq!(view.stage(), Stage::Issued);
    assert_eq!(view.issued_to_iin, representative);

    // The power was valid when the request was taken, revoked before the
    // hand-over: БНАЖ is asked again and the hand-over is refused.
    let taken = mesh
        .take(&token, "003", &other, entry(&second, "2026-00000302"))
        .await;
    mesh.wait_stage(&token, &taken.reference, &[Stage::ResultReady])
        .await;
    mesh.revoke("2026-00000302").await;
    let error = mesh
        .issue(&issuer, &taken.reference, &second, "2026-00000302")
        .await
        .unwrap_err();
    assert_eq!(code(&error), "poa_revoked");
    assert_eq!(
        mesh.view(&token, &taken.reference).await.stage(),
        Stage::ResultReady,
        "still there for the recipient"
    );
    mesh.issue(&issuer, &taken.reference, &other.iin, "")
        .await
        .expect("the recipient in person");
}
