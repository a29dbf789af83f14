//! The message log: append-only and hash-chained.

use crate::helpers::*;
use egov_proto::envelope::DeliveryStatus;
use egov_proto::gateway::VerifyLogRequest;
use egov_trust::SystemId;

#[tokio::test]
async fn verify_log_finds_a_row_changed_behind_the_gateways_back() {
    let gw = spawn_gateway().await;
    let (_workstation, _) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    for i in 0..3 {
        let id = portal.send(application(&format!("log-{i}"))).await.unwrap();
        wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    }
    let verify = |from, to| {
        let mut client = gw.client.clone();
        let credential = gw.mesh.operator_read();
        async move {
            client
                .verify_log(VerifyLogRequest {
                    from_sequence: from,
                    to_sequence: to,
                    credential: Some(credential),
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let before = verify(0, 0).await;
    assert!(before.intact, "{}", before.problem);
    assert!(before.rows_checked >= 6, "messages and receipts are logged");

    // Someone with database access rewrites where a message went. The
    // trigger refuses plain updates...
    let pool = gw.mesh.pool("gateway").await;
    let refused = sqlx::query("UPDATE message_log SET receiver = 'notary' WHERE seq = 2")
        .execute(&pool)
        .await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    // ...so they switch it off first.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE message_log SET receiver = 'notary' WHERE seq = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let after = verify(0, 0).await;
    assert!(!after.intact);
    assert_eq!(after.first_bad_sequence, 2);
    assert!(after.problem.contains("changed"), "{}", after.problem);
    assert_eq!(after.rows_checked, 1, "row 1 is still fine");
    // A range that ends before the change is intact.
    assert!(verify(1, 1).await.intact);
    gw.stop().await;
}

#[tokio::test]
async fn verify_log_finds_a_deleted_row() {
    let gw = spawn_gateway().await;
    let (_workstation, _) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    for i in 0..2 {
        let id = portal.send(application(&format!("del-{i}"))).await.unwrap();
        wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
    }
    let pool = gw.mesh.pool("gateway").await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM message_log WHERE seq = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let report = gw
        .client
        .clone()
        .verify_log(VerifyLogRequest {
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!report.intact);
    assert_eq!(report.first_bad_sequence, 2);
    assert!(report.problem.contains("missing"), "{}", report.problem);
    gw.stop().await;
}
