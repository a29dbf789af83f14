//! What the pipeline tells senders itself: that a message is queued, and
//! why one was refused. (Changes applied to status rows are reported by
//! `Gateway::notify_applied`.)

use crate::gateway::Gateway;
use crate::notify::Notice;
use crate::verify::{Code, Passed, Refusal};
use chrono::{DateTime, Utc};
use egov_bus::envelope;
use egov_proto::envelope::{DeliveryStatus, StatusChange};
use egov_trust::SystemId;

pub(super) fn status_change(
    header: &egov_proto::envelope::Header,
    status: DeliveryStatus,
    at: DateTime<Utc>,
    code: &str,
    detail: &str,
) -> StatusChange {
    StatusChange {
        message_id: header.message_id.clone(),
        status: status as i32,
        at: Some(envelope::timestamp(at)),
        code: code.to_owned(),
        detail: detail.to_owned(),
        attempt: 1,
        receiver: header.receiver.clone(),
        service: header.service.clone(),
        conversation_id: header.conversation_id.clone(),
        correlation_id: header.correlation_id.clone(),
    }
}

/// Tells an asynchronous message's sender, in its inbox, that the message
/// is queued.
pub(super) fn notify_queued(gateway: &Gateway, p: &Passed, now: DateTime<Utc>) {
    gateway.notifier.notify(Notice {
        queue: gateway.names.inbox(p.sender),
        sender: p.sender,
        change: status_change(&p.opened.header, DeliveryStatus::Queued, now, "", ""),
    });
}

/// Tells the claimed sender why its message was refused: on a waiting
/// caller's reply queue, or in its inbox.
pub(super) fn notify_refusal(
    gateway: &Gateway,
    opened: &envelope::Opened,
    refusal: &Refusal,
    now: DateTime<Utc>,
) {
    let header = &opened.header;
    let Some(sender) = SystemId::parse(&header.sender).filter(|s| *s != SystemId::Gateway) else {
        return;
    };
    let queue = if !header.reply_to.is_empty() && egov_bus::names::valid_instance(&header.reply_to)
    {
        gateway.names.reply(sender, &header.reply_to)
    } else {
        gateway.names.inbox(sender)
    };
    gateway.notifier.notify(Notice {
        queue,
        sender,
        change: status_change(
            header,
            DeliveryStatus::Rejected,
            now,
            refusal.code.as_str(),
            &refusal.detail,
        ),
    });
}
