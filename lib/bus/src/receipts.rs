//! Receipts: what this system tells the gateway about the messages it
//! receives (delivered, processed, rejected, retrying, dead-lettered,
//! expired). "Delivered" waits in memory ([`ReceiptQueue`]); a message's
//! failure is stored in `bus_receipts` before its delivery is acknowledged,
//! and "processed" is a column of the processed-messages row, so both
//! survive a crash. The relay sends them all.

use crate::envelope;
use chrono::{DateTime, Utc};
use egov_proto::envelope::{DeliveryStatus, Header, StatusChange};
use std::sync::Mutex;

/// The longest detail a receipt carries.
const DETAIL_CHARS: usize = 500;

/// A receipt entry about a message with this header.
pub(crate) fn receipt_of(
    header: &Header,
    attempt: u32,
    status: DeliveryStatus,
    code: &str,
    detail: &str,
) -> StatusChange {
    StatusChange {
        message_id: header.message_id.clone(),
        status: status as i32,
        at: Some(envelope::timestamp(Utc::now())),
        code: code.to_owned(),
        detail: detail.chars().take(DETAIL_CHARS).collect(),
        attempt,
        receiver: header.receiver.clone(),
        service: header.service.clone(),
        conversation_id: header.conversation_id.clone(),
        correlation_id: header.correlation_id.clone(),
    }
}

/// The receipt of a row of `bus_processed_messages`: the handler's
/// verdict, processed or refused with its code.
pub(crate) fn processed_receipt(
    receiver: &str,
    message_id: uuid::Uuid,
    service: String,
    processed_at: DateTime<Utc>,
    rejection_code: Option<String>,
    rejection_detail: Option<String>,
) -> StatusChange {
    let status = match rejection_code {
        Some(_) => DeliveryStatus::Rejected,
        None => DeliveryStatus::Processed,
    };
    StatusChange {
        message_id: message_id.to_string(),
        status: status as i32,
        code: rejection_code.unwrap_or_default(),
        detail: rejection_detail.unwrap_or_default(),
        at: Some(envelope::timestamp(processed_at)),
        receiver: receiver.to_owned(),
        service,
        ..StatusChange::default()
    }
}

/// Stores a receipt in `bus_receipts`, to be sent by the relay even after
/// a crash. An entry whose message id is not a UUID is not stored.
pub(crate) async fn store(pool: &sqlx::PgPool, entry: &StatusChange) -> Result<(), sqlx::Error> {
    let Ok(id) = entry.message_id.parse::<uuid::Uuid>() else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO bus_receipts (message_id, status, code, detail, attempt, service,
             conversation_id, correlation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(entry.status as i16)
    .bind(&entry.code)
    .bind(&entry.detail)
    .bind(entry.attempt as i32)
    .bind(&entry.service)
    .bind(&entry.conversation_id)
    .bind(&entry.correlation_id)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Receipts held in memory until the relay sends them.
#[derive(Default)]
pub(crate) struct ReceiptQueue {
    held: Mutex<Vec<StatusChange>>,
}

impl ReceiptQueue {
    pub(crate) fn push(&self, receipt: StatusChange) {
        self.lock().push(receipt);
    }

    /// Everything held, to send.
    pub(crate) fn take(&self) -> Vec<StatusChange> {
        std::mem::take(&mut *self.lock())
    }

    /// Puts back receipts that could not be sent, ahead of those queued
    /// meanwhile, so they keep their order.
    pub(crate) fn put_back(&self, mut receipts: Vec<StatusChange>) {
        let mut held = self.lock();
        receipts.append(&mut held);
        *held = receipts;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<StatusChange>> {
        self.held.lock().expect("receipts lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            message_id: "0192f3a4-5b6c-7d8e-9f00-112233445566".to_owned(),
            correlation_id: "0192f3a4-0000-7000-8000-000000000001".to_owned(),
            conversation_id: "case-1".to_owned(),
            sender: "intake".to_owned(),
            receiver: "notary".to_owned(),
            service: "poa-lookup".to_owned(),
            ..Header::default()
        }
    }

    #[test]
    fn a_receipt_names_the_message_as_its_receiver_saw_it() {
        let receipt = receipt_of(
            &header(),
            3,
            DeliveryStatus::Retrying,
            "handler_failed",
            "db down",
        );
        assert_eq!(receipt.message_id, header().message_id);
        assert_eq!(receipt.status, DeliveryStatus::Retrying as i32);
        assert_eq!(receipt.code, "handler_failed");
        assert_eq!(receipt.detail, "db down");
        assert_eq!(receipt.attempt, 3);
        assert_eq!(receipt.receiver, "notary");
        assert_eq!(receipt.service, "poa-lookup");
        assert_eq!(receipt.conversation_id, "case-1");
        assert_eq!(receipt.correlation_id, header().correlation_id);
        assert!(receipt.at.is_some());
    }

    #[test]
    fn a_receipts_detail_is_cut_to_500_characters() {
        let long = "ж".repeat(800);
        let receipt = receipt_of(&header(), 1, DeliveryStatus::DeadLettered, "x", &long);
        assert_eq!(receipt.detail.chars().count(), 500);
    }

    #[test]
    fn a_processed_row_with_a_rejection_code_is_reported_rejected_with_it() {
        let id = uuid::Uuid::now_v7();
        let at = Utc::now();
        let rejected = processed_receipt(
            "notary",
            id,
            "poa-lookup".into(),
            at,
            Some("poa_not_found".into()),
            Some("no such power of attorney".into()),
        );
        assert_eq!(rejected.status, DeliveryStatus::Rejected as i32);
        assert_eq!(rejected.code, "poa_not_found");
        assert_eq!(rejected.detail, "no such power of attorney");
        assert_eq!(rejected.message_id, id.to_string());
        assert_eq!(rejected.receiver, "notary");
        assert_eq!(rejected.at, Some(envelope::timestamp(at)));

        let processed = processed_receipt("notary", id, "poa-lookup".into(), at, None, None);
        assert_eq!(processed.status, DeliveryStatus::Processed as i32);
        assert_eq!(processed.code, "");
    }

    #[test]
    fn receipts_put_back_after_a_failed_send_go_before_newer_ones() {
        let queue = ReceiptQueue::default();
        let receipt = |code: &str| receipt_of(&header(), 1, DeliveryStatus::Delivered, code, "");
        queue.push(receipt("first"));
        let taken = queue.take();
        assert!(queue.take().is_empty());
        queue.push(receipt("newer"));
        queue.put_back(taken);
        let codes: Vec<String> = queue.take().into_iter().map(|r| r.code).collect();
        assert_eq!(codes, ["first", "newer"]);
    }
}
