//! Consuming a system's inbox: verify the gateway's stamp, skip what was
//! already processed, run the handler inside a database transaction, and only
//! after the commit publish the answer, acknowledge the delivery and report
//! the receipt. A handler that fails is retried after growing delays, then
//! dead-lettered; every step is reported to the gateway.

use crate::amqp;
use crate::client::Shared;
use crate::envelope::{self, Opened, Outgoing};
use egov_proto::envelope::{DeliveryStatus, GatewayStamp, Kind, Rejection, StatusChange};
use egov_proto::prost::Message;
use egov_trust::SystemId;
use futures_util::future::BoxFuture;
use lapin::message::Delivery;
use lapin::options::BasicAckOptions;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use tracing::Instrument;

/// A message delivered to this system, its stamp checked.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub opened: Opened,
    pub stamp: GatewayStamp,
    /// 1 for the first delivery; counts retries after handler failures.
    pub attempt: u32,
    /// The broker delivered it before (a consumer died holding it).
    pub redelivered: bool,
}

impl Incoming {
    pub fn message_id(&self) -> &str {
        &self.opened.header.message_id
    }
    pub fn service(&self) -> &str {
        &self.opened.header.service
    }
    pub fn sender(&self) -> Option<SystemId> {
        SystemId::parse(&self.opened.header.sender)
    }
    pub fn kind(&self) -> Kind {
        self.opened.kind()
    }
    /// Decodes the payload as `M`.
    pub fn decode<M: Message + Default>(&self) -> Result<M, egov_proto::prost::DecodeError> {
        self.opened.decode()
    }
}

/// What a handler's work comes to.
#[derive(Debug)]
pub enum Outcome {
    /// Done; nothing to answer.
    Done,
    /// Answer the request with this payload (KIND_RESPONSE).
    Reply(Vec<u8>),
    /// Refuse the request with reasons (KIND_REJECT).
    Reject(Rejection),
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// May succeed later (a dependency is down): retried after a delay.
    #[error("transient: {0}")]
    Transient(anyhow::Error),
    /// Will never succeed (the message cannot be understood): dead-lettered.
    #[error("permanent: {0}")]
    Permanent(anyhow::Error),
}

impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        HandlerError::Transient(e.into())
    }
}

/// The handler's view of its transaction; messages it sends through
/// [`Context::send`] go out only if the transaction commits (outbox).
pub struct Context<'c> {
    pub db: &'c mut PgConnection,
    pub(crate) outgoing: Vec<Outgoing>,
}

impl Context<'_> {
    pub fn send(&mut self, message: Outgoing) {
        self.outgoing.push(message);
    }
}

/// A system's business logic for incoming messages.
pub trait Handler: Send + Sync + 'static {
    /// Called before the message's transaction begins, holding no database
    /// connection, so a handler that has to wait (a registry's simulated
    /// latency) does not hold one meanwhile. `Some(outcome)` settles the
    /// message without calling [`Handler::handle`]: the outcome is recorded
    /// and answered exactly as `handle`'s would be. By default every message
    /// goes on to `handle`.
    fn admit<'a>(
        &'a self,
        message: &'a Incoming,
    ) -> BoxFuture<'a, Result<Option<Outcome>, HandlerError>> {
        let _ = message;
        Box::pin(async { Ok(None) })
    }

    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        ctx: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>>;
}

/// The inbox to serve: a handler and the system's database.
#[derive(Clone)]
pub struct Inbox {
    pub handler: Arc<dyn Handler>,
    pub pool: PgPool,
}

/// Processes one inbox delivery to the end: acknowledged or handed on, in a
/// span that continues the sender's trace (the handler runs inside it).
pub(crate) async fn process(shared: &Arc<Shared>, inbox: &Inbox, delivery: Delivery) {
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
            shared.dead_letter_raw(&delivery, &error.to_string()).await;
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
                shared.dead_letter_raw(&delivery, &error.to_string()).await;
            }
        }
        return ack().await;
    }

    let stamp = match envelope::verify_stamp(&shared.trust, &opened.envelope, now).await {
        Ok(stamp) => stamp,
        Err(error) => {
            tracing::error!(%error, "A message without a valid gateway stamp; dead-lettering it.");
            shared.dead_letter_raw(&delivery, &error.to_string()).await;
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
            .durable_receipt(
                inbox,
                &incoming,
                DeliveryStatus::Expired,
                "message_expired",
                "",
            )
            .await;
        return ack().await;
    }
    shared.receipt(&incoming, DeliveryStatus::Delivered, "", "");

    match handle_once(shared, inbox, &incoming).await {
        Ok(Handled::Duplicate) => {
            tracing::info!("Already processed; acknowledging the duplicate.");
            ack().await
        }
        Ok(Handled::Committed(answer)) => {
            if let Some(answer) = answer {
                shared.publish_answer(answer).await;
            }
            ack().await;
            shared.relay_wakeup();
        }
        Err(HandlerError::Transient(error)) => {
            let attempt = incoming.attempt;
            match shared.settings.retry_delays.get(attempt as usize - 1) {
                Some(delay) => {
                    tracing::warn!(error = %format!("{error:#}"), attempt, ?delay, "The handler failed; retrying later.");
                    if shared.retry_later(&delivery, &incoming, *delay).await {
                        shared
                            .durable_receipt(
                                inbox,
                                &incoming,
                                DeliveryStatus::Retrying,
                                "handler_failed",
                                &format!("{error:#}"),
                            )
                            .await;
                        ack().await;
                    }
                    // If the retry could not be published, the delivery stays
                    // unacknowledged and the broker redelivers it.
                }
                None => {
                    tracing::error!(error = %format!("{error:#}"), attempt, "The handler failed on the last attempt; dead-lettering.");
                    let reason = format!("{error:#}");
                    if shared.dead_letter(&delivery, &incoming, &reason).await {
                        shared
                            .durable_receipt(
                                inbox,
                                &incoming,
                                DeliveryStatus::DeadLettered,
                                "retries_exhausted",
                                &reason,
                            )
                            .await;
                        ack().await;
                    }
                }
            }
        }
        Err(HandlerError::Permanent(error)) => {
            let reason = format!("{error:#}");
            tracing::error!(error = %reason, "The handler cannot process this message; dead-lettering.");
            if shared.dead_letter(&delivery, &incoming, &reason).await {
                shared
                    .durable_receipt(
                        inbox,
                        &incoming,
                        DeliveryStatus::DeadLettered,
                        "handler_refused",
                        &reason,
                    )
                    .await;
                ack().await;
            }
        }
    }
}

enum Handled {
    Duplicate,
    /// Committed; with the answer to publish to a waiting caller, if any.
    Committed(Option<egov_proto::envelope::Envelope>),
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
    let answer = match outcome {
        Outcome::Done => None,
        Outcome::Reply(payload) => Some((Kind::Response, payload)),
        Outcome::Reject(rejection) => Some((Kind::Reject, rejection.encode_to_vec())),
    }
    .filter(|_| incoming.kind() == Kind::Request)
    .map(|(kind, payload)| answer_to(incoming, kind, payload));

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
        sqlx::query("INSERT INTO bus_outbox (message_id, envelope) VALUES ($1, $2)")
            .bind(id)
            .bind(sealed.encode_to_vec())
            .execute(&mut *tx)
            .await?;
    }
    let direct = direct.map(|message| {
        let header = message.header(shared.identity.system, now, "");
        envelope::seal(&shared.identity, header, message.payload)
    });
    tx.commit().await?;
    Ok(Handled::Committed(direct))
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

/// A receipt entry about an incoming message.
pub(crate) fn receipt_entry(
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

/// A receipt entry about a message with this header.
pub(crate) fn receipt_of(
    header: &egov_proto::envelope::Header,
    attempt: u32,
    status: DeliveryStatus,
    code: &str,
    detail: &str,
) -> StatusChange {
    StatusChange {
        message_id: header.message_id.clone(),
        status: status as i32,
        at: Some(envelope::timestamp(chrono::Utc::now())),
        code: code.to_owned(),
        detail: detail.chars().take(500).collect(),
        attempt,
        receiver: header.receiver.clone(),
        service: header.service.clone(),
        conversation_id: header.conversation_id.clone(),
        correlation_id: header.correlation_id.clone(),
    }
}
