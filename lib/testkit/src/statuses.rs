//! The gateway's delivery statuses as a test checks them at its end: every
//! message settled, and how many ended in each status.

use std::collections::BTreeMap;
use std::time::Duration;

/// Waits (up to `patience`) until no message in the gateway's record
/// (`pool` on the gateway's schema) is still queued, delivered or
/// retrying, then returns how many ended in each status, by the status's
/// name (`DELIVERY_STATUS_PROCESSED` …). Panics naming what is still open.
pub async fn all_settled(pool: &sqlx::PgPool, patience: Duration) -> BTreeMap<String, i64> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let rows: Vec<(i16, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM message_status GROUP BY status")
                .fetch_all(pool)
                .await
                .expect("count the statuses");
        let counts: BTreeMap<String, i64> = rows
            .into_iter()
            .map(|(status, n)| {
                let name = egov_proto::envelope::DeliveryStatus::try_from(i32::from(status))
                    .map(|s| s.as_str_name().to_owned())
                    .unwrap_or_else(|_| format!("unknown {status}"));
                (name, n)
            })
            .collect();
        let open: i64 = [
            "DELIVERY_STATUS_QUEUED",
            "DELIVERY_STATUS_DELIVERED",
            "DELIVERY_STATUS_RETRYING",
        ]
        .iter()
        .filter_map(|s| counts.get(*s))
        .sum();
        if open == 0 {
            return counts;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery statuses still open after {patience:?}: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
