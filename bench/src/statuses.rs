//! How every message of a run ended, from the gateway's record: printed as
//! `bench <name>.status.<status> <count> messages` and
//! `bench <name>.not_final <count> messages`, which must be 0 (a message
//! still queued or delivered after its receiver processed it is a lie).

use egov_proto::envelope::DeliveryStatus;
use egov_testkit::TestMesh;
use std::time::{Duration, Instant};

/// Waits (outside the timed part, at most a minute) for the last receipts,
/// then prints the counts. Call it while the gateway still runs.
pub async fn report(name: &str, mesh: &TestMesh) -> anyhow::Result<()> {
    let pool = mesh.pool("gateway").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let not_final = loop {
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM message_status WHERE status IN (1, 2, 7)")
                .fetch_one(&pool)
                .await?;
        if open == 0 || Instant::now() > deadline {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let counts: Vec<(i16, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM message_status GROUP BY status ORDER BY 1")
            .fetch_all(&pool)
            .await?;
    for (status, count) in counts {
        let status =
            DeliveryStatus::try_from(i32::from(status)).unwrap_or(DeliveryStatus::Unspecified);
        let label = status
            .as_str_name()
            .trim_start_matches("DELIVERY_STATUS_")
            .to_lowercase();
        crate::line(&format!("{name}.status.{label}"), count as f64, "messages");
    }
    crate::line(&format!("{name}.not_final"), not_final as f64, "messages");
    pool.close().await;
    Ok(())
}
