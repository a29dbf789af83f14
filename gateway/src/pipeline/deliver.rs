//! After a batch is committed: countersign and publish what was accepted
//! (confirms pipelined), retry or dead-letter a failed delivery, and
//! acknowledge or answer each message. Also the ingress acknowledgement
//! policy: ack when done, requeue after a pause when a dependency is away.

use super::admission::{Admission, Admitted, Item, Origin};
use crate::gateway::Gateway;
use crate::log::Logged;
use crate::store::Change;
use crate::verify::{Checked, Code, Passed, Refusal};
use chrono::{DateTime, Utc};
use egov_bus::names::Address;
use egov_bus::{amqp, envelope, publisher};
use egov_proto::envelope::DeliveryStatus;
use egov_proto::prost::Message;
use lapin::Acker;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// What happens to each message once the batch is committed.
pub(super) enum Decision {
    /// Accepted: countersign and publish to `queue`.
    Deliver {
        queue: String,
        expiration: Option<Duration>,
        logged: Logged,
    },
    /// Already accepted earlier and redelivered to the gateway (a crash or
    /// a failed delivery): publish again; the receiver skips duplicates.
    Redeliver {
        queue: String,
        expiration: Option<Duration>,
        seq: i64,
        hash: Vec<u8>,
    },
    Refuse {
        refusal: Refusal,
        seq: i64,
    },
    /// A receipt: logged and applied (now or before); never delivered.
    Receipt {
        seq: i64,
    },
    Unavailable(String),
}

/// The log row a delivery is countersigned with.
struct Stamp<'a> {
    seq: i64,
    hash: &'a [u8],
    accepted_at: DateTime<Utc>,
}

/// Countersigns and publishes the batch's accepted messages, pipelining the
/// confirms, then acknowledges or answers each message.
pub(super) async fn deliver(gateway: &Arc<Gateway>, batch: Vec<Item>, decisions: Vec<Decision>) {
    let session = gateway
        .connector
        .session(gateway.publish_timeout)
        .await
        .ok();
    tracing::debug!(
        size = batch.len(),
        connected = session.is_some(),
        "Delivering a batch."
    );
    let mut in_flight = Vec::new();
    let mut done = Vec::new();
    for ((admission, checked), decision) in batch.into_iter().zip(decisions) {
        match decision {
            Decision::Deliver {
                queue,
                expiration,
                logged,
            } => {
                let Checked::Passed(p) = checked else {
                    continue;
                };
                let stamp = Stamp {
                    seq: logged.seq,
                    hash: &logged.hash,
                    accepted_at: logged.logged_at,
                };
                let seq = stamp.seq;
                let confirm = publish_stamped(
                    gateway,
                    session.as_deref(),
                    &admission,
                    &p,
                    &queue,
                    expiration,
                    stamp,
                )
                .await;
                in_flight.push((admission, p, queue, confirm, seq));
            }
            Decision::Redeliver {
                queue,
                expiration,
                seq,
                hash,
            } => {
                let Checked::Passed(p) = checked else {
                    continue;
                };
                let stamp = Stamp {
                    seq,
                    hash: &hash,
                    accepted_at: Utc::now(),
                };
                let confirm = publish_stamped(
                    gateway,
                    session.as_deref(),
                    &admission,
                    &p,
                    &queue,
                    expiration,
                    stamp,
                )
                .await;
                in_flight.push((admission, p, queue, confirm, seq));
            }
            other => done.push((admission, checked, other)),
        }
    }
    tracing::debug!("Published a batch; awaiting confirms.");
    for (admission, p, queue, confirm, seq) in in_flight {
        let outcome = match confirm {
            Ok(confirm) => publisher::finish(&Address::queue(queue.as_str()), confirm)
                .await
                .map_err(|e| e.to_string()),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                gateway.metrics.delivered.inc();
                succeed(admission, p.opened.header.message_id.clone(), seq).await
            }
            Err(error) => {
                let span = admission.span.clone();
                retry_delivery(gateway, admission, &p, seq, &error)
                    .instrument(span)
                    .await
            }
        }
    }
    for (admission, checked, decision) in done {
        match decision {
            Decision::Refuse { refusal, seq } => {
                tracing::info!(parent: &admission.span, code = refusal.code.as_str(), detail = %refusal.detail, log_sequence = seq, "Refused a message.");
                gateway.metrics.refused(refusal.code);
                match admission.origin {
                    Origin::Amqp { acker, .. } => ack(&acker).await,
                    Origin::Grpc { done, .. } => {
                        let _ = done.send(Admitted::Refused(refusal));
                    }
                }
            }
            Decision::Receipt { seq } => match admission.origin {
                Origin::Amqp { acker, .. } => ack(&acker).await,
                Origin::Grpc { done, .. } => {
                    let message_id = match &checked {
                        Checked::Passed(p) => p.opened.header.message_id.clone(),
                        _ => String::new(),
                    };
                    let _ = done.send(Admitted::Accepted {
                        message_id,
                        log_sequence: seq as u64,
                    });
                }
            },
            Decision::Unavailable(detail) => {
                tracing::warn!(parent: &admission.span, %detail, "Cannot verify now; the message will be tried again.");
                match admission.origin {
                    Origin::Amqp { acker, .. } => requeue_after_pause(gateway, &acker).await,
                    Origin::Grpc { done, .. } => {
                        let _ = done.send(Admitted::Unavailable(detail));
                    }
                }
            }
            Decision::Deliver { .. } | Decision::Redeliver { .. } => unreachable!("handled above"),
        }
    }
}

/// Countersigns the message with its log row and starts publishing it to
/// `queue`; the confirm is awaited by the caller.
async fn publish_stamped(
    gateway: &Gateway,
    session: Option<&egov_bus::connection::Session>,
    admission: &Admission,
    p: &Passed,
    queue: &str,
    expiration: Option<Duration>,
    stamp: Stamp<'_>,
) -> Result<lapin::PublisherConfirm, String> {
    let Some(session) = session else {
        return Err("no broker connection".into());
    };
    let mut stamped = p.opened.envelope.clone();
    envelope::stamp(
        &gateway.identity,
        &mut stamped,
        &p.opened.header.message_id,
        stamp.accepted_at,
        stamp.seq as u64,
        stamp.hash,
    );
    let properties = admission
        .span
        .in_scope(|| amqp::properties(&p.opened.header, expiration, admission.origin.attempt()));
    session
        .publisher
        .start(&Address::queue(queue), &stamped.encode_to_vec(), properties)
        .await
        .map_err(|e| e.to_string())
}

async fn succeed(admission: Admission, message_id: String, seq: i64) {
    match admission.origin {
        Origin::Amqp { acker, .. } => ack(&acker).await,
        Origin::Grpc { done, .. } => {
            let _ = done.send(Admitted::Accepted {
                message_id,
                log_sequence: seq as u64,
            });
        }
    }
}

/// The receiver's queue refused the message or the broker failed: try again
/// after the next delay (through the gateway's retry queue, which feeds the
/// ingress), and after the last, park it in the gateway's dead letters.
async fn retry_delivery(
    gateway: &Arc<Gateway>,
    admission: Admission,
    p: &Passed,
    seq: i64,
    error: &str,
) {
    let attempt = admission.origin.attempt();
    let message_id = p.opened.header.message_id.clone();
    let header = &p.opened.header;
    let now = Utc::now();
    let (queue, properties, dead) = match gateway.retry_delays.get(attempt as usize - 1) {
        Some(delay) => {
            tracing::warn!(%error, attempt, ?delay, "Delivery failed; retrying later.");
            let properties = amqp::properties(header, None, attempt + 1);
            (gateway.names.gateway_retry(*delay), properties, false)
        }
        None => {
            tracing::error!(%error, attempt, "Delivery failed on the last attempt; dead-lettering.");
            let properties = amqp::with_attempt(
                &amqp::properties(header, None, attempt),
                attempt,
                None,
                Some(error),
            );
            (gateway.names.gateway_dead(), properties, true)
        }
    };
    let parked = gateway
        .connector
        .session(gateway.publish_timeout)
        .await
        .map_err(|e| e.to_string());
    let parked = match parked {
        Ok(session) => session
            .publisher
            .publish(&Address::queue(queue), &admission.raw, properties)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let status = match (&parked, dead) {
        (Ok(()), false) => Some((
            DeliveryStatus::Retrying,
            "delivery_failed",
            attempt as i32 + 1,
        )),
        (Ok(()), true) => Some((
            DeliveryStatus::DeadLettered,
            "delivery_failed",
            attempt as i32,
        )),
        // Nowhere to put it: only a gRPC sender's copy is at risk; mark it so
        // that resending the same message delivers it.
        (Err(_), _) if !admission.origin.is_amqp() => {
            Some((DeliveryStatus::Queued, "delivery_failed", attempt as i32))
        }
        (Err(_), _) => None,
    };
    if let (Some((status, code, attempt)), Ok(id)) = (status, message_id.parse::<uuid::Uuid>()) {
        gateway
            .record_change(Change {
                message_id: id,
                status,
                at: now,
                code: code.to_owned(),
                detail: error.chars().take(500).collect(),
                attempt,
                reported_by: None,
            })
            .await;
    }
    match (admission.origin, parked) {
        (Origin::Amqp { acker, .. }, Ok(())) => ack(&acker).await,
        (Origin::Amqp { acker, .. }, Err(error)) => {
            tracing::error!(%error, "Could not park the message either; it stays in the ingress queue.");
            requeue_after_pause(gateway, &acker).await;
        }
        (Origin::Grpc { done, .. }, Ok(())) => {
            let _ = done.send(Admitted::Accepted {
                message_id,
                log_sequence: seq as u64,
            });
        }
        (Origin::Grpc { done, .. }, Err(error)) => {
            let _ = done.send(Admitted::Unavailable(format!(
                "accepted and logged (row {seq}) but not yet delivered: {error}; send it again to retry"
            )));
        }
    }
}

pub(crate) async fn ack(acker: &Acker) {
    if let Err(error) = acker.ack(BasicAckOptions::default()).await {
        tracing::warn!(%error, "Failed to acknowledge; the message will come again and be recognised.");
    }
}

/// Hands a delivery back to its queue after a pause (the first retry delay,
/// at most a second), so a dependency that is away (the CRL, the database,
/// the broker's receiving side) is not hammered in a tight loop.
pub(crate) async fn requeue_after_pause(gateway: &Gateway, acker: &Acker) {
    let pause = gateway
        .retry_delays
        .first()
        .copied()
        .unwrap_or(Duration::from_secs(1))
        .min(Duration::from_secs(1));
    tokio::time::sleep(pause).await;
    let _ = acker
        .nack(BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        })
        .await;
}
