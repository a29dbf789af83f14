//! Receipts about incoming messages: "delivered" from memory, the failures
//! (retrying, dead-lettered, expired) stored before the delivery is
//! acknowledged, so a crash right after still reports them.

use crate::handler::{Inbox, Incoming};
use crate::receipts::{self, receipt_of};
use crate::state::Shared;
use egov_proto::envelope::{DeliveryStatus, StatusChange};

/// A receipt entry about an incoming message.
pub(super) fn receipt_entry(
    incoming: &Incoming,
    status: DeliveryStatus,
    code: &str,
    detail: &str,
) -> StatusChange {
    receipt_of(
        &incoming.opened.header,
        incoming.attempt,
        status,
        code,
        detail,
    )
}

/// Queues a receipt for the gateway (sent within `receipt_flush`).
pub(super) fn receipt(
    shared: &Shared,
    incoming: &Incoming,
    status: DeliveryStatus,
    code: &str,
    detail: &str,
) {
    // A waiting caller's answer tells the gateway enough.
    if !incoming.opened.header.reply_to.is_empty() && status == DeliveryStatus::Delivered {
        return;
    }
    shared.queue_receipt(receipt_entry(incoming, status, code, detail));
}

/// Records a receipt about a message that did not succeed (retrying,
/// dead-lettered, expired) in the system's database, so the relay hands
/// it to the gateway even after a crash; from memory if the database is
/// away.
pub(super) async fn durable_receipt(
    shared: &Shared,
    inbox: &Inbox,
    incoming: &Incoming,
    status: DeliveryStatus,
    code: &str,
    detail: &str,
) {
    let entry = receipt_entry(incoming, status, code, detail);
    match receipts::store(&inbox.pool, &entry).await {
        Ok(()) => shared.relay_wakeup(),
        Err(error) => {
            tracing::warn!(%error, "Could not store a receipt; sending it from memory.");
            receipt(shared, incoming, status, code, detail);
        }
    }
}
