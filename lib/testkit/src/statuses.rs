//! The gateway's delivery statuses as a test checks them at its end: every
//! message settled, and how many ended in each status.

use std::collections::BTreeMap;
use std::time::Duration;

/// Waits (up to `patience`) until no message in the gateway's record
/// (`pool` on the gateway's schema) is still queued, delivered or
/// retrying, then returns how many ended in each status, by the status's
/// name (`DELIVERY_STATUS_PROCESSED` …). Panics naming what is still open.
pub async fn all_settled(pool: &sqlx::PgPool, patience: Duration) -> BTreeMap<String, i64> {
    settled(pool, None, patience).await
}

/// As [`all_settled`], for the messages `ids` only (each must be on record).
pub async fn these_settled(
    pool: &sqlx::PgPool,
    ids: &[uuid::Uuid],
    patience: Duration,
) -> BTreeMap<String, i64> {
    settled(pool, Some(ids), patience).await
}

async fn settled(
    pool: &sqlx::PgPool,
    ids: Option<&[uuid::Uuid]>,
    patience: Duration,
) -> BTreeMap<String, i64> {
    crate::wait::until(patience, "every delivery status final", || async {
        let rows: Vec<(i16, i64)> = sqlx::query_as(
            "SELECT status, count(*) FROM message_status
             WHERE $1::uuid[] IS NULL OR message_id = ANY($1) GROUP BY status",
        )
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(|e| e.to_string())?;
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
        let recorded: i64 = counts.values().sum();
        let all_recorded = ids.is_none_or(|ids| recorded == ids.len() as i64);
        if open == 0 && all_recorded {
            Ok(counts)
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await
}
