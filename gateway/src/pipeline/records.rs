//! What the gateway writes about a message in a batch: its log entry, its
//! status row, and the status changes it makes to other messages.

use crate::log::{self, LogEntry};
use crate::store::{Change, NewStatus};
use crate::verify::{Code, Passed, Refusal, RejectCode};
use chrono::{DateTime, Utc};
use egov_bus::envelope;
use egov_proto::envelope::{DeliveryStatus, Kind, Receipts, Rejection};

pub(super) fn accepted_entry(p: &Passed, raw: &[u8]) -> LogEntry {
    let h = &p.opened.header;
    LogEntry {
        message_id: Some(p.message_id),
        kind: p.kind as i16,
        sender: h.sender.clone(),
        receiver: h.receiver.clone(),
        service: h.service.clone(),
        conversation_id: h.conversation_id.clone(),
        correlation_id: h.correlation_id.clone(),
        verdict: log::ACCEPTED.to_owned(),
        detail: String::new(),
        envelope: raw.to_vec(),
    }
}

pub(super) fn refusal_entry(
    refusal: &Refusal,
    opened: Option<&envelope::Opened>,
    raw: &[u8],
) -> LogEntry {
    let header = opened.map(|o| o.header.clone()).unwrap_or_default();
    LogEntry {
        message_id: header.message_id.parse().ok(),
        kind: header.kind as i16,
        sender: header.sender,
        receiver: header.receiver,
        service: header.service,
        conversation_id: header.conversation_id,
        correlation_id: header.correlation_id,
        verdict: refusal.code.as_str().to_owned(),
        detail: refusal.detail.clone(),
        // An envelope over the size limit is not kept: its header and its
        // size (in the detail) are the record, so an oversized message
        // cannot grow the log by its bytes.
        envelope: if refusal.code == RejectCode::PayloadTooLarge {
            Vec::new()
        } else {
            raw.to_vec()
        },
    }
}

/// The status row of a message accepted now.
pub(super) fn new_status(p: &Passed, reply_queue: Option<String>) -> NewStatus {
    NewStatus {
        message_id: p.message_id,
        sender: p.sender.to_string(),
        receiver: p.receiver.to_string(),
        service: p.opened.header.service.clone(),
        kind: p.kind as i16,
        conversation_id: p.opened.header.conversation_id.clone(),
        correlation_id: p.opened.header.correlation_id.clone(),
        signed_hash: p.signed_hash.to_vec(),
        reply_queue,
        expires_at: p.expires_at,
        // Nobody is told about receipts. A sender over gRPC is told in its
        // inbox too: a partner without AMQP reads it with Receive.
        notify_sender: p.kind != Kind::Receipt,
        log_seq: 0, // filled in once the log assigns it
        // The gateway is a receipt's receiver: applied is processed.
        status: if p.kind == Kind::Receipt {
            DeliveryStatus::Processed
        } else {
            DeliveryStatus::Queued
        },
    }
}

pub(super) fn expired_change(id: uuid::Uuid, at: DateTime<Utc>, detail: &str) -> Change {
    Change {
        message_id: id,
        status: DeliveryStatus::Expired,
        at,
        code: RejectCode::MessageExpired.as_str().to_owned(),
        detail: detail.to_owned(),
        attempt: 1,
        reported_by: None,
    }
}

/// What an answer says of its request: processed, or refused by the
/// receiver with its code (KIND_REJECT carries a Rejection).
pub(super) fn answered_change(p: &Passed, request: uuid::Uuid, now: DateTime<Utc>) -> Change {
    let (status, code, detail) = match p.kind {
        Kind::Reject => match p.opened.decode::<Rejection>() {
            Ok(r) => (DeliveryStatus::Rejected, r.code, r.message),
            Err(_) => (
                DeliveryStatus::Rejected,
                "rejected".to_owned(),
                "the receiver refused it (its rejection does not decode)".to_owned(),
            ),
        },
        _ => (DeliveryStatus::Processed, String::new(), String::new()),
    };
    Change {
        message_id: request,
        status,
        at: now,
        code,
        detail,
        attempt: 1,
        reported_by: Some(p.sender.to_string()),
    }
}

/// A receiver's receipts, as status changes only it may make.
pub(super) fn receipt_changes(p: &Passed) -> Vec<Change> {
    let Ok(receipts) = p.opened.decode::<Receipts>() else {
        tracing::warn!(sender = %p.sender, "A receipt whose payload does not decode; ignored.");
        return Vec::new();
    };
    receipts
        .receipts
        .into_iter()
        .filter_map(|r| {
            let status = DeliveryStatus::try_from(r.status).ok()?;
            if matches!(status, DeliveryStatus::Unspecified | DeliveryStatus::Queued) {
                return None;
            }
            Some(Change {
                message_id: r.message_id.parse().ok()?,
                status,
                at: r
                    .at
                    .as_ref()
                    .and_then(envelope::from_timestamp)
                    .unwrap_or_else(Utc::now),
                code: r.code,
                detail: r.detail,
                attempt: r.attempt.max(1) as i32,
                reported_by: Some(p.sender.to_string()),
            })
        })
        .collect()
}
