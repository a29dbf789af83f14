//! The gateway's queues: declared on every (re)connect, then consumed —
//! the ingress (every sender's messages), the expired queue (what expired in
//! a receiver's inbox) and this instance's bridge queue (answers to gRPC
//! Calls).

use crate::gateway::Gateway;
use crate::pipeline::deliver::{ack, requeue_after_pause};
use crate::pipeline::{Admission, Entrance, Origin};
use crate::store::Change;
use egov_bus::connection::{OnConnect, Session};
use egov_bus::{amqp, envelope, topology};
use egov_proto::envelope::{DeliveryStatus, Kind, StatusReport};
use egov_trust::SystemId;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub struct GatewayHook {
    pub gateway: Arc<Gateway>,
    pub entrance: Arc<Entrance>,
    /// Cancelled when shutdown begins: stop taking messages.
    pub stopping: CancellationToken,
}

impl OnConnect for GatewayHook {
    fn on_connect(&self, session: Arc<Session>) -> BoxFuture<'_, lapin::Result<()>> {
        Box::pin(async move {
            let gateway = &self.gateway;
            let names = &gateway.names;
            let setup = session.channel().await?;
            // With every system's inbox, so messages wait for receivers that
            // have not started yet.
            topology::declare_gateway(&setup, names, &gateway.retry_delays).await?;
            topology::declare_reply(&setup, gateway.bridge.queue()).await?;

            let ingress = session.channel().await?;
            ingress
                .basic_qos(gateway_prefetch(gateway), BasicQosOptions::default())
                .await?;
            let consumer = ingress
                .basic_consume(
                    names.ingress().into(),
                    "gateway".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            tokio::spawn(consume_ingress(
                self.entrance.clone(),
                ingress,
                consumer,
                session.ended.clone(),
                self.stopping.clone(),
            ));

            let expired = session.channel().await?;
            expired.basic_qos(64, BasicQosOptions::default()).await?;
            let consumer = expired
                .basic_consume(
                    names.gateway_expired().into(),
                    "gateway-expired".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            tokio::spawn(consume_expired(
                gateway.clone(),
                consumer,
                session.ended.clone(),
                self.stopping.clone(),
            ));

            let bridge = session.channel().await?;
            let consumer = bridge
                .basic_consume(
                    gateway.bridge.queue().into(),
                    "gateway-bridge".into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            tokio::spawn(consume_bridge(
                gateway.clone(),
                consumer,
                session.ended.clone(),
            ));
            Ok(())
        })
    }
}

fn gateway_prefetch(gateway: &Gateway) -> u16 {
    gateway.prefetch
}

async fn consume_ingress(
    entrance: Arc<Entrance>,
    channel: lapin::Channel,
    mut consumer: lapin::Consumer,
    ended: CancellationToken,
    stopping: CancellationToken,
) {
    let Some(pipeline) = entrance.pipeline() else {
        return;
    };
    loop {
        tokio::select! {
            _ = ended.cancelled() => break,
            _ = stopping.cancelled() => {
                let _ = channel.basic_cancel(consumer.tag(), BasicCancelOptions::default()).await;
                tracing::info!("Stopped consuming the ingress queue.");
                drop(pipeline);
                // The messages in the pipeline are acknowledged through this
                // channel: keep it open until the pipeline has drained.
                tokio::select! {
                    _ = entrance.drained() => {}
                    _ = ended.cancelled() => {}
                }
                return;
            }
            next = consumer.next() => match next {
                Some(Ok(delivery)) => {
                    tracing::debug!("Took a message from the ingress queue.");
                    let span = tracing::info_span!("gateway", message_id = tracing::field::Empty);
                    amqp::continue_trace(&delivery.properties, &span);
                    if let Some(id) = delivery.properties.message_id() {
                        span.record("message_id", id.as_str());
                    }
                    let admission = Admission {
                        origin: Origin::Amqp {
                            redelivered: delivery.redelivered,
                            attempt: amqp::attempt(&delivery.properties),
                            acker: delivery.acker,
                        },
                        raw: delivery.data,
                        span,
                    };
                    if !pipeline.submit(admission).await {
                        break;
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "The ingress consumer failed.");
                    break;
                }
                None => break,
            }
        }
    }
}

/// A message that expired in a receiver's inbox: record it and tell the
/// sender.
async fn consume_expired(
    gateway: Arc<Gateway>,
    mut consumer: lapin::Consumer,
    ended: CancellationToken,
    stopping: CancellationToken,
) {
    loop {
        let delivery = tokio::select! {
            _ = ended.cancelled() => break,
            _ = stopping.cancelled() => break,
            next = consumer.next() => match next {
                Some(Ok(delivery)) => delivery,
                _ => break,
            }
        };
        let recorded = match envelope::open(&delivery.data) {
            Ok(opened) => {
                // Only what the gateway itself delivered counts, and only
                // through its receiver's exchange: a system may publish to
                // its own exchange, so it could at most expire what was
                // delivered to it, which it could as well leave unanswered.
                let through_receivers_exchange = SystemId::parse(&opened.header.receiver)
                    .is_some_and(|r| delivery.exchange.as_str() == gateway.names.exchange(r));
                let ours = through_receivers_exchange
                    && envelope::verify_stamp(&gateway.trust, &opened.envelope, chrono::Utc::now())
                        .await
                        .is_ok();
                match (ours, opened.header.message_id.parse::<uuid::Uuid>()) {
                    (true, Ok(id)) => {
                        tracing::info!(message_id = %id, receiver = %opened.header.receiver, "A message expired in its receiver's queue.");
                        gateway
                            .record_change(Change {
                                message_id: id,
                                status: DeliveryStatus::Expired,
                                at: chrono::Utc::now(),
                                code: "message_expired".into(),
                                detail: format!(
                                    "it expired in {}'s queue before it was delivered",
                                    opened.header.receiver
                                ),
                                attempt: 1,
                                reported_by: None,
                            })
                            .await
                    }
                    _ => true,
                }
            }
            Err(_) => true,
        };
        if recorded {
            ack(&delivery.acker).await;
        } else {
            // The database is away; let the broker keep it.
            requeue_after_pause(&gateway, &delivery.acker).await;
        }
    }
}

/// What became of an answer that came back to the bridge.
fn bridge_change(answer: uuid::Uuid, taken: bool) -> Change {
    let (status, code, detail) = if taken {
        (DeliveryStatus::Processed, "", "")
    } else {
        (
            DeliveryStatus::Expired,
            "caller_gone",
            "the gRPC call had ended when its answer arrived",
        )
    };
    Change {
        message_id: answer,
        status,
        at: chrono::Utc::now(),
        code: code.to_owned(),
        detail: detail.to_owned(),
        attempt: 1,
        reported_by: None,
    }
}

/// Answers (and failures) of requests made through gRPC Call.
async fn consume_bridge(
    gateway: Arc<Gateway>,
    mut consumer: lapin::Consumer,
    ended: CancellationToken,
) {
    loop {
        let delivery = tokio::select! {
            _ = ended.cancelled() => break,
            next = consumer.next() => match next {
                Some(Ok(delivery)) => delivery,
                _ => break,
            }
        };
        let Ok(opened) = envelope::open(&delivery.data) else {
            continue;
        };
        match opened.kind() {
            Kind::Response | Kind::Reject => {
                let request = opened.header.correlation_id.clone();
                let answer_id = opened.header.message_id.parse::<uuid::Uuid>().ok();
                let taken = gateway.bridge.answer(&request, Ok(opened.envelope));
                // The gateway is this answer's last hop: settle its status.
                if let Some(id) = answer_id {
                    gateway.record_change(bridge_change(id, taken)).await;
                }
            }
            Kind::DeliveryStatus => {
                if let Ok(report) = opened.decode::<StatusReport>() {
                    for change in report.changes {
                        gateway
                            .bridge
                            .answer(&change.message_id, Err((change.code, change.detail)));
                    }
                }
            }
            _ => {}
        }
    }
}
