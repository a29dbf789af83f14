//! Each task's due time is the working calendar's answer for its
//! regulation (the deadline plan of egov-regulations on the Provider
//! schedule, from the registration); what is not done by then is overdue.

use crate::helpers::*;
use chrono::{DateTime, Utc};
use egov_bus::envelope::{from_timestamp, timestamp};
use egov_calendar::Calendar;
use egov_proto::workstation as pb;
use egov_regulations::{Channel, Registry};

fn time(t: &Option<egov_proto::prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(from_timestamp)
}

#[tokio::test]
async fn each_tasks_due_time_is_the_calendars_answer_for_its_regulation() {
    let ws = spawn(Options::default()).await;
    let registry = Registry::embedded().unwrap();
    let calendar = Calendar::embedded();
    for regulation in ["001", "002", "003", "004-02", "004-05", "004-08"] {
        let conversation = ws
            .submit(application(
                regulation,
                pb::Channel::Portal,
                &["application"],
            ))
            .await;
        let journal = ws.portal_inbox.accepted(&conversation).await.journal_number;
        let view = ws.application(&journal).await;
        let registered = time(&view.registered_at).unwrap();
        let plan = egov_regulations::plan(
            registry.get(regulation).unwrap(),
            Channel::Portal,
            registered,
            &calendar,
        )
        .unwrap();
        assert!(!view.tasks.is_empty());
        for task in &view.tasks {
            let step = plan
                .steps
                .iter()
                .find(|s| s.number == task.step)
                .expect("every task belongs to a step of the plan");
            assert_eq!(
                time(&task.due_at),
                Some(step.due),
                "{regulation} task {} ({:?})",
                task.position,
                task.stage
            );
        }
        assert_eq!(
            time(&view.result_expected_at),
            plan.result_due.or(plan.steps_due),
            "{regulation}: the time the applicant is told"
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
