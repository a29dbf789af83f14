//! Storage of unclaimed results (seed 002 Rules p.11; seed 003 §10 2);
//! issue 11, point 6): a result nobody collects is kept one calendar month
//! — the same date of the next month, the last day of a shorter one — then
//! returned to the provider; asked for again, it comes back and is handed
//! over. The storage clock is the test's (`intake.storage_time`, moved with
//! `StorageClock::set`); the sweep runs in the background every 100 ms.

use crate::counter::{authorized, code, openssl_verifies};
use crate::helpers::{PATIENCE, TestIntake};
use chrono::{DateTime, Utc};
use egov_proto::intake::{self as pb, Stage};

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}

/// A time of the view, which must be there.
macro_rules! at {
    ($view:expr, $field:ident) => {
        $view
            .$field
            .as_ref()
            .and_then(egov_bus::envelope::from_timestamp)
            .unwrap_or_else(|| panic!("no {} in {:?}", stringify!($field), $view))
    };
}

/// The intake with its storage clock at `start` and a quick sweep.
async fn mesh_at(start: &str) -> TestIntake {
    TestIntake::start_with(
        true,
        &[
            ("EGOV_INTAKE__INTAKE__STORAGE_TIME", start),
            ("EGOV_INTAKE__INTAKE__STORAGE_SWEEP_EVERY", "100ms"),
        ],
    )
    .await
}

impl TestIntake {
    /// A request of seed 003 taken and its result arrived (autopilot).
    async fn result_ready(&self, token: &str, n: u16) -> (pb::RequestView, String) {
        let recipient = self.person(n).await;
        let receipt = self.take(token, "003", &recipient, None).await;
        let view = self
            .wait_stage(token, &receipt.reference, &[Stage::ResultReady])
            .await;
        (view, recipient.iin)
    }

    /// At `moment` a sweep returns nothing and the result is still here.
    async fn still_kept_at(&self, token: &str, reference: &str, moment: &str) {
        self.state.storage_clock.set(utc(moment));
        // A sweep of our own at this moment, besides the background one.
        self.state.return_unclaimed().await.expect("a sweep");
        let view = self.view(token, reference).await;
        assert_eq!(view.stage(), Stage::ResultReady, "still kept at {moment}");
    }

    /// At `moment` the background sweep returns the result to the provider,
    /// which marks it returned.
    async fn returned_at(&self, token: &str, reference: &str, moment: &str) -> pb::RequestView {
        self.state.storage_clock.set(utc(moment));
        let view = self
            .wait_stage(token, reference, &[Stage::ReturnedToProvider])
            .await;
        assert_eq!(at!(view, returned_at), utc(moment));
        let pool = self.mesh.pool("workstation").await;
        let what = format!("the provider records the returned result of {reference}");
        egov_testkit::wait::until(PATIENCE, &what, || async {
            let returned: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM results r JOIN applications a ON a.id = r.application_id
                 WHERE a.reference = $1 AND r.returned_at IS NOT NULL",
            )
            .bind(reference)
            .fetch_one(&pool)
            .await
            .map_err(|e| e.to_string())?;
            if returned == 1 {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        })
        .await;
        view
    }

    async fn ask_again(&self, token: &str, reference: &str) -> pb::RequestView {
        self.client
            .clone()
            .ask_for_returned_result(authorized(
                token,
                pb::AskForReturnedResultRequest {
                    reference: reference.into(),
                },
            ))
            .await
            .expect("asked for the returned result")
            .into_inner()
    }
}

/// Arrived 31 January: kept until 28 February (the month's last day), not
/// 2 March (30 days); returned then; asked for again it comes back, is
/// kept anew, and is handed over.
#[tokio::test]
async fn an_unclaimed_result_goes_back_after_a_calendar_month_across_a_31_day_month_and_comes_back_when_asked()
 {
    // 10:00 in Almaty (UTC+5).
    let mesh = mesh_at("2027-01-31T05:00:00Z").await;
    let token = mesh.token("operator").await;
    let issuer = mesh.token("issuer").await;
    let (view, iin) = mesh.result_ready(&token, 31).await;
    let reference = view.reference.clone();
    assert_eq!(at!(view, result_arrived_at), utc("2027-01-31T05:00:00Z"));
    assert_eq!(at!(view, keep_until), utc("2027-02-28T05:00:00Z"));

    mesh.still_kept_at(&token, &reference, "2027-02-27T05:00:00Z")
        .await;
    mesh.still_kept_at(&token, &reference, "2027-02-28T04:59:59Z")
        .await;
    mesh.returned_at(&token, &reference, "2027-02-28T05:00:00Z")
        .await;

    // The recipient comes on 15 March: the result is the provider's now.
    let error = mesh.issue(&issuer, &reference, &iin, "").await.unwrap_err();
    assert_eq!(code(&error), "no_result_yet");
    mesh.state.storage_clock.set(utc("2027-03-15T06:00:00Z"));
    let asked = mesh.ask_again(&issuer, &reference).await;
    assert!(
        matches!(asked.stage(), Stage::AskedBack | Stage::ResultReady),
        "{asked:?}"
    );
    let back = mesh
        .wait_stage(&token, &reference, &[Stage::ResultReady])
        .await;
    assert_eq!(
        at!(back, keep_until),
        utc("2027-04-15T06:00:00Z"),
        "kept anew for a calendar month"
    );
    // Back at the counter: nothing more to ask for.
    let twice = mesh
        .client
        .clone()
        .ask_for_returned_result(authorized(
            &issuer,
            pb::AskForReturnedResultRequest {
                reference: reference.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&twice), "wrong_stage");

    let issued = mesh
        .issue(&issuer, &reference, &iin, "")
        .await
        .expect("handed over");
    assert_eq!(issued.request.as_ref().unwrap().stage(), Stage::Issued);
    openssl_verifies(&mesh.mesh, &issued.cms).expect("the provider's signature");
    // A handed-over result never goes back.
    mesh.state.storage_clock.set(utc("2027-12-31T00:00:00Z"));
    assert_eq!(mesh.state.return_unclaimed().await.expect("a sweep"), 0);
}

/// Across February: arrived 28 February 2027 → 28 March (not 30 March, as
/// 30 days would give); arrived 29 February 2028 → 29 March.
#[tokio::test]
async fn an_unclaimed_result_goes_back_after_a_calendar_month_across_february() {
    let mesh = mesh_at("2027-02-28T05:00:00Z").await;
    let token = mesh.token("operator").await;
    let (first, _) = mesh.result_ready(&token, 41).await;
    assert_eq!(at!(first, keep_until), utc("2027-03-28T05:00:00Z"));
    mesh.still_kept_at(&token, &first.reference, "2027-03-27T05:00:00Z")
        .await;
    mesh.returned_at(&token, &first.reference, "2027-03-28T05:00:00Z")
        .await;

    // A leap year: 29 February has its own date in March.
    mesh.state.storage_clock.set(utc("2028-02-29T05:00:00Z"));
    let (second, _) = mesh.result_ready(&token, 42).await;
    assert_eq!(at!(second, keep_until), utc("2028-03-29T05:00:00Z"));
    mesh.still_kept_at(&token, &second.reference, "2028-03-28T05:00:00Z")
        .await;
    mesh.returned_at(&token, &second.reference, "2028-03-29T05:00:00Z")
        .await;
}

/// Only a returned result can be asked for again.
#[tokio::test]
async fn a_result_still_kept_is_not_asked_for_again() {
    let mesh = mesh_at("2027-01-10T05:00:00Z").await;
    let token = mesh.token("operator").await;
    let (view, _) = mesh.result_ready(&token, 51).await;
    let error = mesh
        .client
        .clone()
        .ask_for_returned_result(authorized(
            &token,
            pb::AskForReturnedResultRequest {
                reference: view.reference.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "wrong_stage");
}
