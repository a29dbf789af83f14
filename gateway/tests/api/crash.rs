//! The gateway killed (SIGKILL, no graceful shutdown) in the middle of a
//! thousand asynchronous messages: after a restart every message reaches
//! the handler, and the handler's effect happens exactly once. The test
//! asserts the kill interrupted the gateway's work: it had accepted some of
//! the messages, not all.

use crate::helpers::*;
use egov_trust::SystemId;
use tokio::process::Child;

const MESSAGES: usize = 1000;

/// How many requests the gateway's log records as accepted.
async fn accepted_requests(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM message_log WHERE kind = $1 AND verdict = 'accepted'")
        .bind(egov_proto::envelope::Kind::Request as i16)
        .fetch_one(pool)
        .await
        .expect("count accepted requests")
}

/// Starts the gateway binary with the test's settings in its environment and
/// returns once it logs that it is ready.
async fn start_gateway_process(env: &std::collections::HashMap<String, String>) -> Child {
    egov_testkit::process::start(
        "gateway",
        env!("CARGO_BIN_EXE_egov-gateway"),
        env,
        None,
        "Gateway ready",
        PATIENCE,
    )
    .await
}

#[tokio::test]
async fn a_gateway_killed_mid_stream_loses_nothing_and_duplicates_no_effect() {
    // Arrange: a gateway process, a receiver and a sender.
    let mesh = egov_testkit::TestMesh::new().await;
    let env = mesh.env(SystemId::Gateway);
    let mut gateway = start_gateway_process(&env).await;
    let receiver = Recorder::new(mesh.pool("workstation").await).await;
    let workstation_pool = mesh.pool("workstation").await;
    let _workstation = mesh
        .bus(
            SystemId::Workstation,
            Some(egov_bus::Inbox {
                handler: receiver.clone(),
                pool: workstation_pool,
            }),
        )
        .await;
    // The sender consumes its inbox, so it hears its status reports.
    let portal_recorder = Recorder::new(mesh.pool("portal").await).await;
    let portal = mesh
        .bus(
            SystemId::Portal,
            Some(egov_bus::Inbox {
                handler: portal_recorder,
                pool: mesh.pool("portal").await,
            }),
        )
        .await;
    let reports = collect_reports(portal.statuses());

    // Act: a thousand applications published, the gateway working on them…
    let sends = tokio::spawn({
        let portal = portal.clone();
        futures_util::future::join_all((0..MESSAGES).map(move |i| {
            let portal = portal.clone();
            async move {
                portal
                    .send(application(&format!("crash-{i}")))
                    .await
                    .expect("published")
            }
        }))
    });
    // …and the gateway killed once it has accepted some, but not all.
    let pool = mesh.pool("gateway").await;
    egov_testkit::wait::until(
        PATIENCE,
        "the gateway has accepted a fifth of the messages",
        || async {
            let accepted = accepted_requests(&pool).await;
            if accepted >= (MESSAGES / 5) as i64 {
                Ok(())
            } else {
                Err(format!("{accepted} accepted"))
            }
        },
    )
    .await;
    gateway.kill().await.expect("kill -9 the gateway");
    let _ = gateway.wait().await;
    // The guard: what the dead gateway had done. Messages it had not yet
    // accepted wait in its ingress; messages not yet handled are somewhere
    // between the gateway's publish and the receiver's commit.
    let accepted_at_kill = accepted_requests(&pool).await;
    let (handled_at_kill, _) = receiver.effects().await;
    eprintln!(
        "at the kill: {accepted_at_kill} of {MESSAGES} accepted by the gateway, \
         {handled_at_kill} handled"
    );
    assert!(
        accepted_at_kill < MESSAGES as i64,
        "the gateway had accepted all {MESSAGES} before the kill: nothing was left in its ingress"
    );
    assert!(
        handled_at_kill < MESSAGES as i64,
        "all {MESSAGES} were handled before the kill: nothing was in flight"
    );
    let ids: Vec<String> = sends.await.expect("the senders");

    // A new gateway process takes over the same queues and log.
    let _restarted = start_gateway_process(&env).await;

    // Assert: every message reaches the handler, each effect exactly once.
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    loop {
        let (rows, distinct) = receiver.effects().await;
        assert_eq!(rows, distinct, "an effect happened twice");
        if rows == MESSAGES as i64 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {rows} of {MESSAGES} effects"
        );
        // Wait for the handler's next message, not a fixed time.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), receiver.next()).await;
    }
    let mut handled_ids: Vec<String> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT message_id FROM effects")
            .fetch_all(&receiver.pool)
            .await
            .unwrap()
            .into_iter()
            .map(|id| id.to_string())
            .collect();
    handled_ids.sort();
    let mut sent = ids;
    sent.sort();
    assert_eq!(handled_ids, sent, "exactly the messages sent, each once");

    // The log survived the kill intact, and accepted each message once (the
    // log has no key on the message id: a second acceptance would show).
    let report = egov_gateway::log::verify(&pool, 0, 0).await.unwrap();
    assert!(report.intact, "{}", report.problem);
    let (accepted, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT message_id) FROM message_log
         WHERE kind = $1 AND verdict = 'accepted'",
    )
    .bind(egov_proto::envelope::Kind::Request as i16)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((accepted, distinct), (MESSAGES as i64, MESSAGES as i64));

    // And every delivery status is final and true: processed.
    let counts = settled_statuses(&pool, &sent).await;
    assert_eq!(
        counts,
        std::collections::BTreeMap::from([(
            "DELIVERY_STATUS_PROCESSED".to_owned(),
            MESSAGES as i64
        )])
    );
    // The sender heard every final status too, the ones whose report the
    // killed gateway had not sent included (reported again after restart).
    reports
        .wait_all(
            &sent,
            egov_proto::envelope::DeliveryStatus::Processed,
            PATIENCE,
        )
        .await;
}
