//! Each task's due time is its regulation's deadline on the working
//! calendar, from the registration; what is not done by then is overdue.
//! The tests register at a time they control (`REGISTERED_AT`, Monday
//! 6 April 2026, 10:00 in Almaty) and expect due times worked out by hand
//! from regulations/*.toml and regulations/calendar/2026.toml.

use crate::helpers::*;
use chrono::{DateTime, Utc};
use egov_bus::envelope::{from_timestamp, timestamp};
use egov_proto::workstation as pb;

fn time(t: &Option<egov_proto::prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(from_timestamp)
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}

/// (step, stage, due) of each task, in order, and when the result is due.
async fn due_times(
    ws: &TestWorkstation,
    regulation: &str,
) -> (Vec<(u32, pb::Stage, DateTime<Utc>)>, DateTime<Utc>) {
    let conversation = ws
        .submit(application(
            regulation,
            pb::Channel::Portal,
            &["application"],
        ))
        .await;
    let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
    let view = ws.application(&journal).await;
    assert_eq!(time(&view.registered_at), Some(utc(REGISTERED_AT)));
    let tasks = view
        .tasks
        .iter()
        .map(|t| (t.step, t.stage(), time(&t.due_at).expect("a due time")))
        .collect();
    (
        tasks,
        time(&view.result_expected_at).expect("a result time"),
    )
}

/// Seed 003 through the portal (regulations/003.toml): steps of 30 min,
/// 20 min (provider's hours 9:00-18:30, lunch 13:00-14:30), 28 calendar
/// days counting the day of intake, 1 calendar day, 30 min; the result in
/// 30 calendar days counting the day of intake. Almaty is UTC+5.
///
/// - step 1: 10:00 + 30 min = 10:30 on 6 April (05:30Z);
/// - step 2: 10:30 + 20 min = 10:50 (05:50Z);
/// - step 3: 6 April is day 1, day 28 is Sunday 3 May, not a working day,
///   so it ends at the close of Monday 4 May, 18:30 (13:30Z) (1 May, 7 May
///   and 9 May are the holidays nearby; 4 May is an ordinary Monday);
/// - step 4: from 18:30 on 4 May the next working moment is 5 May, day 1,
///   ending 18:30 (13:30Z);
/// - step 5: 30 min from the next working moment, 9:00 on 6 May: 9:30
///   (04:30Z);
/// - result: day 30 from 6 April is Tuesday 5 May, a working day: 18:30
///   (13:30Z). (The steps' 28 + 1 days end after it: the regulation's own
///   arithmetic.)
#[tokio::test]
async fn seed_003s_tasks_are_due_at_the_times_worked_out_from_its_regulation() {
    let ws = spawn(Options::default()).await;
    let (tasks, result) = due_times(&ws, "003").await;
    assert_eq!(
        tasks,
        vec![
            (1, pb::Stage::Register, utc("2026-04-06T05:30:00Z")),
            (2, pb::Stage::Assign, utc("2026-04-06T05:50:00Z")),
            (3, pb::Stage::Examine, utc("2026-05-04T13:30:00Z")),
            (4, pb::Stage::Sign, utc("2026-05-05T13:30:00Z")),
            (5, pb::Stage::Issue, utc("2026-05-06T04:30:00Z")),
        ]
    );
    assert_eq!(
        result,
        utc("2026-05-05T13:30:00Z"),
        "what the applicant is told"
    );
}

/// Seed 002 through the portal (regulations/002.toml): one step of 1
/// working day for register, examine, sign and issue, and the result in 1
/// working day, the day of intake not counted. Registered on Monday
/// 6 April, the one working day is Tuesday 7 April, to 18:30 (13:30Z).
#[tokio::test]
async fn seed_002s_tasks_are_due_at_the_end_of_the_next_working_day() {
    let ws = spawn(Options::default()).await;
    let (tasks, result) = due_times(&ws, "002").await;
    let due = utc("2026-04-07T13:30:00Z");
    assert_eq!(
        tasks,
        vec![
            (1, pb::Stage::Register, due),
            (1, pb::Stage::Examine, due),
            (1, pb::Stage::Sign, due),
            (1, pb::Stage::Issue, due),
        ]
    );
    assert_eq!(result, due, "what the applicant is told");
}

/// A year without holiday data is an error at start-up, naming the year:
/// a clock in a year the calendar does not have, and a clock late in the
/// last year it has, where a 30-day deadline runs into the next.
#[tokio::test]
async fn the_workstation_refuses_to_start_when_the_calendar_lacks_a_year_it_needs() {
    let last = egov_calendar::Calendar::embedded()
        .years()
        .max()
        .expect("calendar data");
    let mesh = egov_testkit::TestMesh::new().await;
    let staff = issue_staff(&mesh);
    for (at, missing) in [
        (format!("{}-03-02T05:00:00Z", last + 3), last + 3),
        (format!("{last}-12-21T05:00:00Z"), last + 1),
    ] {
        let mut settings = settings(&mesh, &staff, &Options::default());
        settings.workstation.registration_time = Some(utc(&at));
        let error = match egov_workstation::Application::build(settings).await {
            Ok(_) => panic!("started with a clock at {at}"),
            Err(error) => format!("{error:#}"),
        };
        assert!(
            error.contains(&format!("no data for {missing}")),
            "{at}: {error}"
        );
    }
}

#[tokio::test]
async fn tasks_not_done_by_their_due_time_are_listed_as_overdue() {
    let ws = spawn(Options::default()).await;
    let conversation = ws
        .submit(application("003", pb::Channel::Portal, &["application"]))
        .await;
    let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
    let view = ws.application(&journal).await;
    let first_due = time(&view.tasks[0].due_at).unwrap();
    let token = ws.login(&ws.staff.head).await;
    let overdue = |as_of: DateTime<Utc>| {
        let mut client = ws.client.clone();
        let token = token.clone();
        async move {
            client
                .list_overdue(TestWorkstation::authorized(
                    &token,
                    pb::ListOverdueRequest {
                        as_of: Some(timestamp(as_of)),
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .tasks
        }
    };
    // Before the clerk's due time: nothing is overdue.
    assert!(
        overdue(first_due - chrono::Duration::seconds(1))
            .await
            .is_empty()
    );
    // After it: the clerk's registration is.
    let late = overdue(first_due + chrono::Duration::seconds(1)).await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(
        (late[0].journal_number.as_str(), late[0].position),
        (journal.as_str(), 1)
    );
    assert!(late[0].overdue);
    // Long after: every task not done.
    let all = overdue(first_due + chrono::Duration::days(90)).await;
    assert_eq!(all.len(), view.tasks.len());
    // Done tasks are no longer overdue.
    ws.act(
        &ws.staff.clerk,
        &journal,
        1,
        pb::act_request::Action::Register(pb::Register::default()),
    )
    .await
    .unwrap();
    let after = overdue(first_due + chrono::Duration::seconds(1)).await;
    assert!(after.is_empty(), "{after:?}");
    // The task list shows the due time and whether it has passed.
    let tasks = ws.tasks(&ws.staff.head).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(time(&tasks[0].due_at), time(&view.tasks[1].due_at));
}
