//! The electronic queue (seed 002 Standard row 7): talons taken at the
//! branch or booked for a time in the State Corporation's working hours,
//! called in one order without expedited service. The queue's clock is
//! fixed by the test (a Wednesday, 10:00 in Almaty).

use crate::counter::*;
use crate::helpers::*;
use chrono::{DateTime, Duration, Utc};
use egov_proto::intake::{self as pb, TalonKind};

/// 2026-12-02 10:00 Asia/Almaty (UTC+5), a working Wednesday.
fn wednesday_10_00() -> DateTime<Utc> {
    "2026-12-02T05:00:00Z".parse().expect("a time")
}

impl TestIntake {
    async fn talon(
        &self,
        iin: &str,
        regulation: &str,
        booked_for: Option<DateTime<Utc>>,
    ) -> Result<pb::Talon, tonic::Status> {
        self.client
            .clone()
            .take_talon(pb::TakeTalonRequest {
                iin: iin.into(),
                regulation: regulation.into(),
                booked_for: booked_for.map(egov_bus::envelope::timestamp),
            })
            .await
            .map(|r| r.into_inner())
    }

    async fn call_next(&self, token: &str) -> Result<pb::Talon, tonic::Status> {
        self.client
            .clone()
            .call_next_talon(authorized(token, pb::CallNextTalonRequest {}))
            .await
            .map(|r| r.into_inner())
    }
}

#[tokio::test]
async fn the_queue_calls_talons_in_one_order_and_a_booking_from_its_time() {
    let mesh = TestIntake::start(false).await;
    let now = wednesday_10_00();
    mesh.state.queue_clock.set(now);
    let operator = mesh.token("operator").await;
    let issuer = mesh.token("issuer").await;
    let [a, b, c] = [1, 2, 3].map(|n| {
        let birth = chrono::NaiveDate::from_ymd_opt(1990, 1, n).expect("a date");
        (100..)
            .find_map(|serial| egov_trust::Iin::generate(birth, egov_trust::iin::Sex::Male, serial))
            .expect("an IIN")
            .to_string()
    });

    let first = mesh.talon(&a, "002", None).await.expect("a talon");
    let second = mesh.talon(&b, "003", None).await.expect("a talon");
    assert_eq!(
        (first.number.as_str(), first.kind()),
        ("A001", TalonKind::WalkIn)
    );
    assert_eq!((second.number.as_str(), second.ahead), ("A002", 1));
    // Booked through the portal for 10:30 the same day.
    let booked = mesh
        .talon(&c, "002", Some(now + Duration::minutes(30)))
        .await
        .expect("a booking");
    assert_eq!(
        (booked.number.as_str(), booked.kind()),
        ("B001", TalonKind::Booked)
    );
    assert_eq!(booked.ahead, 2);

    // What a booking may not be, and who may not queue.
    for (at, why) in [
        (now - Duration::minutes(5), "in the past"),
        (now + Duration::hours(11), "21:00, after closing"),
        (now + Duration::days(4), "Sunday"),
    ] {
        let error = mesh.talon(&c, "002", Some(at)).await.unwrap_err();
        assert_eq!(code(&error), "outside_working_hours", "{why}");
    }
    // The same IIN with its check digit changed.
    let check = a.as_bytes()[11] - b'0';
    let bad_iin = format!("{}{}", &a[..11], (check + 1) % 10);
    assert_eq!(
        code(&mesh.talon(&bad_iin, "002", None).await.unwrap_err()),
        "invalid_iin"
    );
    assert_eq!(
        code(&mesh.talon(&a, "000", None).await.unwrap_err()),
        "channel_not_offered"
    );
    let courier = mesh.token("courier").await;
    assert_eq!(
        code(&mesh.call_next(&courier).await.unwrap_err()),
        "wrong_role"
    );

    // No expedited service: walk-ins in the order taken; the booking is
    // not called before its time, whoever is calling.
    let called = mesh.call_next(&operator).await.expect("called");
    assert_eq!(
        (called.number.as_str(), called.called_by.as_str()),
        ("A001", "operator")
    );
    assert_eq!(
        mesh.call_next(&issuer).await.expect("called").number,
        "A002"
    );
    let error = mesh.call_next(&operator).await.unwrap_err();
    assert_eq!(code(&error), "queue_empty");

    // 10:31: the booking's time has come, and it goes before a walk-in
    // taken after it was due.
    mesh.state.queue_clock.set(now + Duration::minutes(31));
    let late = mesh.talon(&a, "002", None).await.expect("a talon");
    assert_eq!(late.number, "A003");
    assert_eq!(
        mesh.call_next(&operator).await.expect("called").number,
        "B001"
    );
    assert_eq!(
        mesh.call_next(&operator).await.expect("called").number,
        "A003"
    );

    // Two operators calling at once get two different talons.
    for iin in [&a, &b] {
        mesh.talon(iin, "002", None).await.expect("a talon");
    }
    let (x, y) = tokio::join!(mesh.call_next(&operator), mesh.call_next(&issuer));
    let (x, y) = (x.expect("called"), y.expect("called"));
    assert_ne!(x.number, y.number);
    assert_eq!(mesh.count("talons WHERE called_at IS NULL").await, 0);
}
