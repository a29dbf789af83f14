//! One inbox delivery to the end: verify the gateway's stamp, skip what was
//! already processed, run the handler inside a database transaction (its
//! outgoing messages into the outbox), and only after the commit publish
//! the answer, acknowledge the delivery and report the receipt.

use super::failures::{dead_letter_raw, hand_on_failure};
use super::report::{durable_receipt, receipt};
use crate::amqp;
use crate::envelope::{self, Outgoing};
use crate::handler::{Context, HandlerError, Inbox, Incoming, Outcome};
use crate::outbox;
use crate::state::Shared;
use egov_proto::envelope::{DeliveryStatus, Envelope, Kind};
use egov_proto::prost::Message;
use egov_trust::SystemId;
use lapin::message::Delivery;
use lapin::options::BasicAckOptions;
use std::sync::Arc;
use tracing::Instrument;

/// Processes one inbox delivery to the end: acknowledged or handed on, in a
/// span that continues the sender's trace (the handler runs inside it).
pub(super) async fn process(shared: &Arc<Shared>, inbox: &Inbox, delivery: Delivery) {
    let span = tracing::info_span!("inbox", system = %shared.identity.system, message_id = tracing::field::Empty, service = tracing::field::Empty);
    amqp::continue_trace(&delivery.properties, &span);
    process_in_span(shared, inbox, delivery, span.clone())
        .instrument(span)
        .await
}

async fn process_in_span(
    shared: &Arc<Shared>,
    inbox: &Inbox,
    delivery: Delivery,
    span: tracing::Span,
) {
    let ack = || async {
        if let Err(error) = delivery.acker.ack(BasicAckOptions::default()).await {
            tracing::warn!(%error, "Failed to acknowledge a delivery; it will be redelivered.");
        }
    };

    let opened = match envelope::open(&delivery.data) {
        Ok(opened) => opened,
        Err(error) => {
            tracing::error!(%error, "An undecodable message in the inbox; dead-lettering it.");
            shared.metrics.unreadable.inc();
            dead_letter_raw(shared, &delivery, &error.to_string()).await;
            return ack().await;
        }
    };
    span.record("message_id", opened.header.message_id.as_str());
    span.record("service", opened.header.service.as_str());
    let now = chrono::Utc::now();

    if opened.kind() == Kind::DeliveryStatus {
        match envelope::verify_from_gateway(&shared.trust, &opened, now).await {
            Ok(()) => shared.take_status_report(&opened),
            Err(error) => {
                tracing::error!(%error, "A status report not signed by the gateway; dead-lettering it.");
                dead_letter_raw(shared, &delivery, &error.to_string()).await;
            }
        }
        return ack().await;
    }

    let stamp = match envelope::verify_stamp(&shared.trust, &opened.envelope, now).await {
        Ok(stamp) => stamp,
        Err(error) => {
            tracing::error!(%error, "A message without a valid gateway stamp; dead-lettering it.");
            shared.metrics.unreadable.inc();
            dead_letter_raw(shared, &delivery, &error.to_string()).await;
            return ack().await;
        }
    };
    let incoming = Incoming {
        attempt: amqp::attempt(&delivery.properties),
        redelivered: delivery.redelivered,
        opened,
        stamp,
    };
    if incoming.opened.is_expired(now) {
        tracing::info!("The message expired before it could be handled; dropping it.");
        shared
            .metrics
            .handled(&incoming.opened.header.service, "expired");
        durable_receipt(
            shared,
            inbox,
            &incoming,
            DeliveryStatus::Expired,
            "message_expired",
            "",
        )
        .await;
        return ack().await;
    }
    receipt(shared, &incoming, DeliveryStatus::Delivered, "", "");

    let started = std::time::Instant::now();
    let handled = handle_once(shared, inbox, &incoming).await;
    let service = incoming.opened.header.service.as_str();
    shared
        .metrics
        .observe(service, started.elapsed().as_secs_f64());
    match &handled {
        Ok(Handled::Duplicate) => shared.metrics.handled(service, "duplicate"),
        Ok(Handled::Committed { rejected, .. }) => shared
            .metrics
            .handled(service, if *rejected { "rejected" } else { "processed" }),
        Err(HandlerError::Transient(_)) => shared.metrics.failed(service, "transient"),
        Err(HandlerError::Permanent(_)) => shared.metrics.failed(service, "permanent"),
    }
    match handled {
        Ok(Handled::Duplicate) => {
            tracing::info!("Already processed; acknowledging the duplicate.");
            ack().await
        }
        Ok(Handled::Committed { answer, .. }) => {
            if let Some(answer) = answer {
                publish_answer(shared, answer).await;
            }
            ack().await;
            shared.relay_wakeup();
        }
        Err(error) => {
            if hand_on_failure(shared, inbox, &delivery, &incoming, error).await {
                ack().await;
            }
        }
    }
}

enum Handled {
    Duplicate,
    /// Committed; with the answer to publish to a waiting caller, if any,
    /// and whether the handler's outcome was a rejection.
    Committed {
        answer: Option<Envelope>,
        rejected: bool,
    },
}

/// One transaction: claim the message id, run the handler, store its
/// outgoing messages in the outbox, commit.
async fn handle_once(
    shared: &Arc<Shared>,
    inbox: &Inbox,
    incoming: &Incoming,
) -> Result<Handled, HandlerError> {
    let header = &incoming.opened.header;
    let message_id: uuid::Uuid = header
        .message_id
        .parse()
        .map_err(|e| HandlerError::Permanent(anyhow::anyhow!("message id is not a UUID: {e}")))?;
    let admitted = inbox.handler.admit(incoming).await?;
    let synchronous = !header.reply_to.is_empty();
    // A synchronous request is a look-up whose caller waits: its commit does
    // not wait for the disk. Were the database to crash, only the record that
    // it was answered could be lost, and a look-up may be answered twice.
    // (A handler that writes what must survive sets synchronous_commit back.)
    let mut tx = if synchronous {
        inbox
            .pool
            .begin_with("BEGIN; SET LOCAL synchronous_commit TO OFF")
            .await?
    } else {
        inbox.pool.begin().await?
    };
    let claimed = sqlx::query(
        "INSERT INTO bus_processed_messages (message_id, sender, service, receipt_pending)
         VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(&header.sender)
    .bind(&header.service)
    // A synchronous request's answer tells the gateway it was processed.
    .bind(!synchronous)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        return Ok(Handled::Duplicate);
    }

    let mut ctx = Context {
        db: &mut tx,
        outgoing: Vec::new(),
    };
    let outcome = match admitted {
        Some(outcome) => outcome,
        None => inbox.handler.handle(incoming, &mut ctx).await?,
    };
    let mut outgoing = std::mem::take(&mut ctx.outgoing);
    let rejected = matches!(outcome, Outcome::Reject(_));
    if let Outcome::Reject(rejection) = &outcome {
        // The receipt will say REJECTED with the handler's code.
        sqlx::query(
            "UPDATE bus_processed_messages SET rejection_code = $2, rejection_detail = $3
             WHERE message_id = $1",
        )
        .bind(message_id)
        .bind(&rejection.code)
        .bind(rejection.message.chars().take(500).collect::<String>())
        .execute(&mut *tx)
        .await?;
    }
    let answer = answer_of(incoming, outcome);

    // An answer to a waiting caller goes out at once; any other message only
    // through the outbox, so it exists if and only if the commit happened.
    let mut direct = None;
    if let Some(answer) = answer {
        if synchronous {
            direct = Some(answer);
        } else {
            outgoing.push(answer);
        }
    }
    let now = chrono::Utc::now();
    for message in outgoing {
        let header = message.header(shared.identity.system, now, "");
        let id: uuid::Uuid = header.message_id.parse().map_err(|e| {
            HandlerError::Permanent(anyhow::anyhow!("outgoing message id is not a UUID: {e}"))
        })?;
        let sealed = envelope::seal(&shared.identity, header, message.payload);
        outbox::insert(&mut tx, id, &sealed).await?;
    }
    let direct = direct.map(|message| {
        let header = message.header(shared.identity.system, now, "");
        envelope::seal(&shared.identity, header, message.payload)
    });
    tx.commit().await?;
    Ok(Handled::Committed {
        answer: direct,
        rejected,
    })
}

/// The answer a handler's outcome makes to a request; nothing for any
/// other kind of message, or when the handler is simply done.
fn answer_of(incoming: &Incoming, outcome: Outcome) -> Option<Outgoing> {
    let (kind, payload) = match outcome {
        Outcome::Done => return None,
        Outcome::Reply(payload) => (Kind::Response, payload),
        Outcome::Reject(rejection) => (Kind::Reject, rejection.encode_to_vec()),
    };
    (incoming.kind() == Kind::Request).then(|| answer_to(incoming, kind, payload))
}

/// The answer to a request: same conversation, correlated, bound to the
/// request's exact bytes by their hash.
fn answer_to(incoming: &Incoming, kind: Kind, payload: Vec<u8>) -> Outgoing {
    let request = &incoming.opened.header;
    let receiver = SystemId::parse(&request.sender).unwrap_or(SystemId::Gateway);
    let mut answer = Outgoing::raw(receiver, &request.service, kind, payload)
        .conversation(request.conversation_id.clone())
        .acting_user(request.acting_user.clone());
    answer.correlation_id = request.message_id.clone();
    answer.request_hash = incoming.opened.signed_hash().to_vec();
    if let Some(expires) = incoming.opened.expires_at() {
        let left = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
        answer.ttl = Some(left.max(std::time::Duration::from_millis(1)));
    }
    answer
}

/// Sends the answer to a waiting caller through the gateway.
async fn publish_answer(shared: &Shared, answer: Envelope) {
    let header = envelope::open_envelope(answer.clone())
        .map(|o| o.header)
        .unwrap_or_default();
    let properties = amqp::properties(&header, None, 1);
    if let Err(error) = shared
        .publish_to(
            &shared.names.to_gateway(shared.identity.system),
            &answer.encode_to_vec(),
            properties,
        )
        .await
    {
        tracing::warn!(%error, "Could not publish the answer; the caller will time out.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Opened;
    use egov_proto::envelope::{GatewayStamp, Header, Rejection};

    /// A request from intake to the notary, signed bytes `b"request bytes"`.
    fn request(kind: Kind) -> Incoming {
        let header = Header {
            message_id: "0192f3a4-5b6c-7d8e-9f00-112233445566".to_owned(),
            conversation_id: "case-7".to_owned(),
            sender: "intake".to_owned(),
            receiver: "notary".to_owned(),
            service: "poa-lookup".to_owned(),
            acting_user: "900101300017".to_owned(),
            kind: kind as i32,
            ..Header::default()
        };
        Incoming {
            opened: Opened {
                envelope: Envelope {
                    signed: b"request bytes".to_vec().into(),
                    ..Envelope::default()
                },
                header,
                payload: Default::default(),
            },
            stamp: GatewayStamp::default(),
            attempt: 1,
            redelivered: false,
        }
    }

    #[test]
    fn an_answer_goes_back_to_the_asker_bound_to_the_requests_bytes() {
        let incoming = request(Kind::Request);
        let answer = answer_to(&incoming, Kind::Response, b"found".to_vec());
        assert_eq!(answer.receiver, SystemId::Intake);
        assert_eq!(answer.service, "poa-lookup");
        assert_eq!(answer.kind, Kind::Response);
        assert_eq!(answer.payload, b"found");
        assert_eq!(answer.conversation_id, "case-7");
        assert_eq!(answer.acting_user, "900101300017");
        assert_eq!(answer.correlation_id, incoming.opened.header.message_id);
        assert_eq!(
            answer.request_hash,
            egov_trust::sha256(b"request bytes").to_vec()
        );
        assert_eq!(answer.ttl, None);
    }

    #[test]
    fn an_answer_expires_when_its_request_does() {
        let mut incoming = request(Kind::Request);
        let expires = chrono::Utc::now() + chrono::Duration::seconds(30);
        incoming.opened.header.expires_at = Some(envelope::timestamp(expires));
        let ttl = answer_to(&incoming, Kind::Response, Vec::new())
            .ttl
            .expect("a ttl");
        assert!(ttl <= std::time::Duration::from_secs(30));
        assert!(ttl > std::time::Duration::from_secs(25));

        // Already past: the shortest ttl, never a late delivery.
        incoming.opened.header.expires_at = Some(envelope::timestamp(
            chrono::Utc::now() - chrono::Duration::seconds(1),
        ));
        let ttl = answer_to(&incoming, Kind::Response, Vec::new()).ttl;
        assert_eq!(ttl, Some(std::time::Duration::from_millis(1)));
    }

    #[test]
    fn only_a_request_is_answered_and_a_rejection_carries_its_reasons() {
        let rejection = Rejection {
            code: "poa_not_found".into(),
            message: "no such power of attorney".into(),
            ..Rejection::default()
        };
        let answer = answer_of(&request(Kind::Request), Outcome::Reject(rejection.clone()))
            .expect("an answer");
        assert_eq!(answer.kind, Kind::Reject);
        assert_eq!(
            Rejection::decode(answer.payload.as_slice()).unwrap(),
            rejection
        );

        assert!(answer_of(&request(Kind::Request), Outcome::Done).is_none());
        assert!(answer_of(&request(Kind::Notification), Outcome::Reply(b"x".to_vec())).is_none());
    }
}
