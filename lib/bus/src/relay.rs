//! The relay: sends what this system owes the gateway once its transactions
//! have committed — receipts (delivered, processed, retrying, dead-lettered)
//! and the messages in the outbox. Woken after each commit, and by a slow
//! sweep so that rows left by a crash go out too.

use crate::amqp;
use crate::envelope::{self, Outgoing};
use crate::publisher;
use crate::receipts::processed_receipt;
use crate::state::Shared;
use egov_proto::envelope::{Envelope, Kind, Receipts, StatusChange};
use egov_proto::prost::Message;
use egov_trust::SystemId;
use sqlx::Row;
use std::sync::Arc;

/// Most processed-message receipts or outbox rows taken in one batch.
const BATCH: i64 = 500;

pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        tokio::select! {
            _ = shared.relay_woken() => {}
            _ = tokio::time::sleep(shared.settings.relay_sweep) => {}
            _ = shared.stopping().cancelled(), if !shared.stopping().is_cancelled() => {}
        }
        if !shared.stopping().is_cancelled() {
            // Let a few more receipts gather into the same envelope.
            tokio::time::sleep(shared.settings.receipt_flush).await;
        }
        let drained = shared.drained();
        if let Err(error) = flush_receipts(&shared).await {
            tracing::warn!(%error, "Could not send receipts to the gateway; will retry.");
        }
        if let Err(error) = flush_outbox(&shared).await {
            tracing::warn!(%error, "Could not send the outbox; will retry.");
        }
        if drained {
            break;
        }
    }
}

async fn flush_receipts(shared: &Arc<Shared>) -> anyhow::Result<()> {
    loop {
        let mut receipts = shared.receipts.take();
        let mut claim = None;
        if let Some(pool) = shared.pool() {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(
                "SELECT message_id, service, processed_at, rejection_code, rejection_detail
                 FROM bus_processed_messages
                 WHERE receipt_pending ORDER BY processed_at LIMIT $1 FOR UPDATE SKIP LOCKED",
            )
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
            let mut ids = Vec::with_capacity(rows.len());
            let receiver = shared.identity.system.to_string();
            for row in rows {
                let id: uuid::Uuid = row.get("message_id");
                receipts.push(processed_receipt(
                    &receiver,
                    id,
                    row.get("service"),
                    row.get("processed_at"),
                    row.get("rejection_code"),
                    row.get("rejection_detail"),
                ));
                ids.push(id);
            }
            // Receipts of messages that did not succeed, stored durably.
            let stored = sqlx::query(
                "SELECT id, message_id, status, code, detail, attempt, service, conversation_id,
                        correlation_id, at
                 FROM bus_receipts ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            )
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
            let mut stored_ids = Vec::with_capacity(stored.len());
            for row in stored {
                let id: uuid::Uuid = row.get("message_id");
                let at: chrono::DateTime<chrono::Utc> = row.get("at");
                receipts.push(StatusChange {
                    message_id: id.to_string(),
                    status: i32::from(row.get::<i16, _>("status")),
                    at: Some(envelope::timestamp(at)),
                    code: row.get("code"),
                    detail: row.get("detail"),
                    attempt: row.get::<i32, _>("attempt").max(1) as u32,
                    receiver: shared.identity.system.to_string(),
                    service: row.get("service"),
                    conversation_id: row.get("conversation_id"),
                    correlation_id: row.get("correlation_id"),
                });
                stored_ids.push(row.get::<i64, _>("id"));
            }
            claim = Some((tx, ids, stored_ids));
        }
        if receipts.is_empty() {
            return Ok(());
        }
        let full = claim.as_ref().is_some_and(|(_, ids, stored)| {
            ids.len() as i64 == BATCH || stored.len() as i64 == BATCH
        });
        let message = Outgoing::raw(
            SystemId::Gateway,
            "receipts",
            Kind::Receipt,
            Receipts {
                receipts: receipts.clone(),
            }
            .encode_to_vec(),
        );
        let header = message.header(shared.identity.system, chrono::Utc::now(), "");
        let properties = amqp::properties(&header, None, 1);
        let sealed = envelope::seal(&shared.identity, header, message.payload);
        // What came from memory goes back there if sending fails (the rest
        // stays in the database).
        let from_memory = receipts.len()
            - claim
                .as_ref()
                .map(|(_, ids, stored)| ids.len() + stored.len())
                .unwrap_or(0);
        let in_memory: Vec<StatusChange> = receipts.into_iter().take(from_memory).collect();
        match shared
            .publish_to(
                &shared.names.to_gateway(shared.identity.system),
                &sealed.encode_to_vec(),
                properties,
            )
            .await
        {
            Ok(()) => {
                if let Some((mut tx, ids, stored)) = claim {
                    sqlx::query(
                        "UPDATE bus_processed_messages SET receipt_pending = false
                         WHERE message_id = ANY($1)",
                    )
                    .bind(&ids)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM bus_receipts WHERE id = ANY($1)")
                        .bind(&stored)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
            }
            Err(error) => {
                shared.receipts.put_back(in_memory);
                return Err(error.into());
            }
        }
        if !full {
            return Ok(());
        }
    }
}

async fn flush_outbox(shared: &Arc<Shared>) -> anyhow::Result<()> {
    let Some(pool) = shared.pool() else {
        return Ok(());
    };
    loop {
        let mut tx = pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, envelope, traceparent FROM bus_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let session = shared
            .connector()
            .session(shared.settings.publish_timeout)
            .await?;
        let to = shared.names.to_gateway(shared.identity.system);
        let mut confirms = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let bytes: Vec<u8> = row.get("envelope");
            let header = Envelope::decode(bytes.as_slice())
                .ok()
                .and_then(|e| envelope::open_envelope(e).ok())
                .map(|o| o.header)
                .unwrap_or_default();
            // Published in a span of the trace the message was sent in.
            let traceparent: Option<String> = row.get("traceparent");
            let span = tracing::info_span!("outbox publish", message_id = %header.message_id, receiver = %header.receiver, service = %header.service);
            egov_runtime::propagation::continue_from(&span, traceparent.as_deref());
            let properties = span.in_scope(|| amqp::properties(&header, None, 1));
            confirms.push(session.publisher.start(&to, &bytes, properties).await?);
            ids.push(row.get::<i64, _>("id"));
        }
        for confirm in confirms {
            publisher::finish(&to, confirm).await?;
        }
        sqlx::query("DELETE FROM bus_outbox WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if (ids.len() as i64) < BATCH {
            return Ok(());
        }
    }
}
