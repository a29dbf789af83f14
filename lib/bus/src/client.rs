//! The bus as a system sees it: send messages to the gateway, make
//! synchronous calls, serve an inbox, hear about delivery statuses.

use crate::amqp;
use crate::connection::{Connector, ConnectorSettings, OnConnect, Session};
use crate::envelope::{self, Opened, Outgoing};
use crate::error::{BusError, CallError};
use crate::inbox::{self, Inbox, Incoming};
use crate::names::{self, Names};
use crate::settings::BusSettings;
use crate::topology;
use egov_proto::envelope::{DeliveryStatus, Envelope, Kind, Rejection, StatusChange, StatusReport};
use egov_proto::prost::Message;
use egov_trust::{Identity, SystemId, TrustStore};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, message::Delivery};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// An answer to a synchronous call.
#[derive(Debug)]
pub enum Reply {
    /// KIND_RESPONSE: the receiver's answer.
    Response(Opened),
    /// KIND_REJECT: the receiver's reasoned refusal.
    Rejected(Rejection, Opened),
}

impl Reply {
    pub fn opened(&self) -> &Opened {
        match self {
            Reply::Response(o) | Reply::Rejected(_, o) => o,
        }
    }
}

struct Pending {
    request_hash: [u8; 32],
    answer: oneshot::Sender<Result<Reply, CallError>>,
}

/// State shared by the bus handle, its consumers and its relay.
pub(crate) struct Shared {
    pub(crate) settings: BusSettings,
    pub(crate) names: Names,
    pub(crate) identity: Arc<Identity>,
    pub(crate) trust: Arc<TrustStore>,
    instance: String,
    connector: OnceLock<Connector>,
    pending: Mutex<HashMap<String, Pending>>,
    statuses: broadcast::Sender<StatusChange>,
    /// Receipts not yet sent to the gateway (processed ones live in the
    /// database until sent).
    receipts: Mutex<Vec<StatusChange>>,
    wake_relay: Notify,
    /// Whether the inbox consumer should be consuming (fault mode `down`
    /// switches it off).
    consuming: watch::Sender<bool>,
    /// Cancelled when shutdown begins: consumers stop taking messages.
    stopping: CancellationToken,
    /// In-flight handler tasks, awaited on shutdown.
    in_flight: TaskTracker,
    pool: Option<sqlx::PgPool>,
}

/// A handle to the bus; cheap to clone.
#[derive(Clone)]
pub struct Bus {
    shared: Arc<Shared>,
    relay: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

/// The bus's tables live in the service's schema beside the service's own,
/// with their own migration history table.
static BUS_MIGRATOR: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| {
        let mut migrator = sqlx::migrate!("./migrations");
        migrator.table_name = std::borrow::Cow::Borrowed("_egov_bus_migrations");
        migrator
    });

impl Bus {
    /// Connects (in the background, retrying) and, with `inbox`, serves it.
    pub async fn start(
        settings: BusSettings,
        identity: Arc<Identity>,
        trust: Arc<TrustStore>,
        inbox: Option<Inbox>,
    ) -> Result<Bus, BusError> {
        let names =
            Names::new(&settings.namespace).map_err(|e| BusError::Settings(e.to_string()))?;
        if let Some(inbox) = &inbox {
            BUS_MIGRATOR.run(&inbox.pool).await?;
        }
        let (statuses, _) = broadcast::channel(4096);
        let (consuming, _) = watch::channel(true);
        let shared = Arc::new(Shared {
            instance: names::new_instance(),
            names,
            identity,
            trust,
            connector: OnceLock::new(),
            pending: Mutex::new(HashMap::new()),
            statuses,
            receipts: Mutex::new(Vec::new()),
            wake_relay: Notify::new(),
            consuming,
            stopping: CancellationToken::new(),
            in_flight: TaskTracker::new(),
            pool: inbox.as_ref().map(|i| i.pool.clone()),
            settings,
        });
        let mut hooks: Vec<Arc<dyn OnConnect>> = vec![Arc::new(ReplyHook {
            shared: shared.clone(),
        })];
        if let Some(inbox) = inbox {
            hooks.push(Arc::new(InboxHook {
                shared: shared.clone(),
                inbox,
            }));
        }
        let system = shared.identity.system;
        let connector = Connector::start(
            ConnectorSettings {
                url: shared.settings.url.clone(),
                connection_name: format!(
                    "{}/{system}/{}",
                    shared.names.namespace(),
                    shared.instance
                ),
                reconnect_min: shared.settings.reconnect_min,
                reconnect_max: shared.settings.reconnect_max,
            },
            hooks,
        );
        let _ = shared.connector.set(connector);
        let relay = tokio::spawn(crate::relay::run(shared.clone()));
        Ok(Bus {
            shared,
            relay: Arc::new(Mutex::new(Some(relay))),
        })
    }

    pub fn system(&self) -> SystemId {
        self.shared.identity.system
    }

    pub fn names(&self) -> &Names {
        &self.shared.names
    }

    /// This process's reply address (the suffix of its reply queue).
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }

    /// The broker connection name (tests close it to simulate a broker fault).
    pub fn connection_name(&self) -> String {
        format!(
            "{}/{}/{}",
            self.shared.names.namespace(),
            self.system(),
            self.shared.instance
        )
    }

    pub fn is_connected(&self) -> bool {
        self.shared.connector().is_connected()
    }

    /// Waits until the first connection and its setup are done.
    pub async fn wait_connected(&self, wait: Duration) -> Result<(), BusError> {
        self.shared
            .connector()
            .session(wait)
            .await
            .map(|_| ())
            .map_err(|e| BusError::Unavailable(e.0))
    }

    /// Signs `message` as this system.
    pub fn seal(&self, message: &Outgoing, reply_to: &str) -> Envelope {
        let header = message.header(self.system(), chrono::Utc::now(), reply_to);
        envelope::seal(&self.shared.identity, header, message.payload.clone())
    }

    /// Signs and sends a message; returns its id once the broker has
    /// confirmed it into the gateway's ingress. Whether the gateway accepts
    /// it arrives later as a status (see [`Bus::statuses`]).
    pub async fn send(&self, message: Outgoing) -> Result<String, BusError> {
        let header = message.header(self.system(), chrono::Utc::now(), "");
        let id = header.message_id.clone();
        let properties = amqp::properties(&header, None, 1);
        let sealed = envelope::seal(&self.shared.identity, header, message.payload);
        self.publish_with(&sealed, properties).await?;
        Ok(id)
    }

    /// Publishes an already sealed envelope to the gateway's ingress.
    pub async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        let header = envelope::open_envelope(envelope.clone())
            .map(|o| o.header)
            .unwrap_or_default();
        self.publish_with(envelope, amqp::properties(&header, None, 1))
            .await
    }

    async fn publish_with(
        &self,
        envelope: &Envelope,
        properties: lapin::BasicProperties,
    ) -> Result<(), BusError> {
        self.shared
            .publish_to(
                &self.shared.names.ingress(),
                &envelope.encode_to_vec(),
                properties,
            )
            .await
    }

    /// Sends a synchronous request and waits for the answer, at most
    /// `deadline`; the request expires then and is never delivered later.
    pub async fn call(&self, message: Outgoing, deadline: Duration) -> Result<Reply, CallError> {
        let mut message = message.ttl(deadline);
        message.kind = Kind::Request;
        let header = message.header(self.system(), chrono::Utc::now(), &self.shared.instance);
        let id = header.message_id.clone();
        let properties = amqp::properties(&header, None, 1);
        let envelope = envelope::seal(&self.shared.identity, header, message.payload);
        let (answer, waiting) = oneshot::channel();
        self.shared.pending_lock().insert(
            id.clone(),
            Pending {
                request_hash: egov_trust::sha256(&envelope.signed),
                answer,
            },
        );
        let outcome = tokio::time::timeout(deadline, async {
            self.publish_with(&envelope, properties).await?;
            waiting
                .await
                .unwrap_or_else(|_| Err(CallError::BadResponse("the bus stopped".into())))
        })
        .await;
        self.shared.pending_lock().remove(&id);
        outcome.unwrap_or(Err(CallError::Timeout(deadline)))
    }

    /// Delivery status changes of this system's messages, as the gateway
    /// reports them (subscribe before sending to hear every one).
    pub fn statuses(&self) -> broadcast::Receiver<StatusChange> {
        self.shared.statuses.subscribe()
    }

    /// Stops consuming the inbox: messages wait in the queue (fault mode
    /// `down`). Handlers already running finish.
    pub fn pause_inbox(&self) {
        self.shared.consuming.send_replace(false);
    }

    pub fn resume_inbox(&self) {
        self.shared.consuming.send_replace(true);
    }

    /// Puts a message in this system's outbox inside the caller's
    /// transaction: it is sent if and only if that transaction commits. Call
    /// [`Bus::wake_relay`] after the commit to send it at once.
    pub async fn enqueue(
        &self,
        db: &mut sqlx::PgConnection,
        message: &Outgoing,
    ) -> Result<String, BusError> {
        let envelope = self.seal(message, "");
        let id = envelope::open_envelope(envelope.clone())
            .map(|o| o.header.message_id)
            .unwrap_or_default();
        let uuid: uuid::Uuid = id
            .parse()
            .map_err(|e| BusError::Settings(format!("message id {id}: {e}")))?;
        sqlx::query("INSERT INTO bus_outbox (message_id, envelope) VALUES ($1, $2)")
            .bind(uuid)
            .bind(envelope.encode_to_vec())
            .execute(db)
            .await?;
        Ok(id)
    }

    pub fn wake_relay(&self) {
        self.shared.relay_wakeup();
    }

    /// Graceful stop: no new deliveries, in-flight handlers finish and are
    /// acknowledged, receipts and the outbox are flushed, then the connection
    /// closes.
    pub async fn shutdown(&self) {
        self.shared.stopping.cancel();
        self.shared.in_flight.close();
        self.shared.in_flight.wait().await;
        self.shared.relay_wakeup();
        let relay = self.relay.lock().expect("relay lock").take();
        if let Some(relay) = relay {
            let _ = relay.await;
        }
        self.shared.connector().close().await;
    }
}

// === impl Shared ===

impl Shared {
    pub(crate) fn connector(&self) -> &Connector {
        self.connector.get().expect("set at start")
    }

    fn pending_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().expect("pending calls lock")
    }

    pub(crate) fn stopping(&self) -> &CancellationToken {
        &self.stopping
    }

    pub(crate) fn pool(&self) -> Option<&sqlx::PgPool> {
        self.pool.as_ref()
    }

    /// Whether shutdown has begun and every in-flight handler has finished.
    pub(crate) fn drained(&self) -> bool {
        self.stopping.is_cancelled() && self.in_flight.is_closed() && self.in_flight.is_empty()
    }

    pub(crate) fn relay_wakeup(&self) {
        self.wake_relay.notify_one();
    }

    pub(crate) async fn relay_woken(&self) {
        self.wake_relay.notified().await
    }

    pub(crate) fn take_receipts(&self) -> Vec<StatusChange> {
        std::mem::take(&mut *self.receipts.lock().expect("receipts lock"))
    }

    pub(crate) fn return_receipts(&self, mut receipts: Vec<StatusChange>) {
        let mut held = self.receipts.lock().expect("receipts lock");
        receipts.append(&mut held);
        *held = receipts;
    }

    /// Queues a receipt for the gateway (sent within `receipt_flush`).
    pub(crate) fn receipt(
        &self,
        incoming: &Incoming,
        status: DeliveryStatus,
        code: &str,
        detail: &str,
    ) {
        // A waiting caller's answer tells the gateway enough.
        if !incoming.opened.header.reply_to.is_empty() && status == DeliveryStatus::Delivered {
            return;
        }
        self.receipts
            .lock()
            .expect("receipts lock")
            .push(inbox::receipt_entry(incoming, status, code, detail));
        self.relay_wakeup();
    }

    /// Queues a receipt about an answer taken from the reply queue (which is
    /// consumed without acknowledgements, so this is its only trace).
    fn answer_receipt(&self, answer: &Opened, status: DeliveryStatus, code: &str, detail: &str) {
        self.receipts
            .lock()
            .expect("receipts lock")
            .push(inbox::receipt_of(&answer.header, 1, status, code, detail));
        self.relay_wakeup();
    }

    /// Records a receipt about a message that did not succeed (retrying,
    /// dead-lettered, expired) in the system's database, so the relay hands
    /// it to the gateway even after a crash; from memory if the database is
    /// away.
    pub(crate) async fn durable_receipt(
        &self,
        inbox: &Inbox,
        incoming: &Incoming,
        status: DeliveryStatus,
        code: &str,
        detail: &str,
    ) {
        let entry = inbox::receipt_entry(incoming, status, code, detail);
        let stored = match entry.message_id.parse::<uuid::Uuid>() {
            Ok(id) => sqlx::query(
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
            .execute(&inbox.pool)
            .await
            .map(|_| ()),
            Err(_) => Ok(()),
        };
        match stored {
            Ok(()) => self.relay_wakeup(),
            Err(error) => {
                tracing::warn!(%error, "Could not store a receipt; sending it from memory.");
                self.receipt(incoming, status, code, detail);
            }
        }
    }

    /// Publishes to a queue, waiting for a connection and retrying after a
    /// connection failure, for at most `publish_timeout`.
    pub(crate) async fn publish_to(
        &self,
        queue: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BusError> {
        let limit = self.settings.publish_timeout;
        let started = tokio::time::Instant::now();
        loop {
            let left = limit.saturating_sub(started.elapsed());
            let session = self
                .connector()
                .session(left)
                .await
                .map_err(|_| BusError::Unavailable(limit))?;
            match tokio::time::timeout(
                left,
                session.publisher.publish(queue, body, properties.clone()),
            )
            .await
            {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(error)) if error.is_connection_failure() => {
                    tracing::warn!(%error, queue, "Publishing failed on a broken connection; retrying on a new one.");
                    self.connector().report_broken(&session);
                }
                Ok(Err(error)) => return Err(error.into()),
                Err(_) => return Err(BusError::Unavailable(limit)),
            }
        }
    }

    pub(crate) async fn publish_answer(&self, answer: Envelope) {
        let header = envelope::open_envelope(answer.clone())
            .map(|o| o.header)
            .unwrap_or_default();
        let properties = amqp::properties(&header, None, 1);
        if let Err(error) = self
            .publish_to(&self.names.ingress(), &answer.encode_to_vec(), properties)
            .await
        {
            tracing::warn!(%error, "Could not publish the answer; the caller will time out.");
        }
    }

    /// Moves a failed message to the retry queue for `delay`; true if done.
    pub(crate) async fn retry_later(
        &self,
        delivery: &Delivery,
        incoming: &Incoming,
        delay: Duration,
    ) -> bool {
        let expiration = incoming
            .opened
            .expires_at()
            .map(|at| (at - chrono::Utc::now()).to_std().unwrap_or_default());
        let properties =
            amqp::with_attempt(&delivery.properties, incoming.attempt + 1, expiration, None);
        let queue = self.names.retry(self.identity.system, delay);
        match self.publish_to(&queue, &delivery.data, properties).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, queue, "Could not schedule the retry.");
                false
            }
        }
    }

    /// Parks a message in this system's dead-letter queue; true if done.
    pub(crate) async fn dead_letter(
        &self,
        delivery: &Delivery,
        incoming: &Incoming,
        reason: &str,
    ) -> bool {
        let properties =
            amqp::with_attempt(&delivery.properties, incoming.attempt, None, Some(reason));
        self.park(delivery, properties).await
    }

    /// Parks a message that could not even be verified.
    pub(crate) async fn dead_letter_raw(&self, delivery: &Delivery, reason: &str) {
        let properties = amqp::with_attempt(
            &delivery.properties,
            amqp::attempt(&delivery.properties),
            None,
            Some(reason),
        );
        self.park(delivery, properties).await;
    }

    async fn park(&self, delivery: &Delivery, properties: BasicProperties) -> bool {
        let queue = self.names.dead(self.identity.system);
        match self.publish_to(&queue, &delivery.data, properties).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, queue, "Could not dead-letter the message.");
                false
            }
        }
    }

    /// A status report from the gateway: tell subscribers, and fail any call
    /// whose request was refused.
    pub(crate) fn take_status_report(&self, opened: &Opened) {
        let Ok(report) = opened.decode::<StatusReport>() else {
            tracing::warn!("A status report that does not decode.");
            return;
        };
        for change in report.changes {
            let status =
                DeliveryStatus::try_from(change.status).unwrap_or(DeliveryStatus::Unspecified);
            if matches!(
                status,
                DeliveryStatus::Rejected | DeliveryStatus::Expired | DeliveryStatus::DeadLettered
            ) && let Some(pending) = self.pending_lock().remove(&change.message_id)
            {
                let _ = pending.answer.send(Err(CallError::Refused {
                    code: change.code.clone(),
                    detail: change.detail.clone(),
                }));
            }
            let _ = self.statuses.send(change);
        }
    }

    /// An answer on this instance's reply queue.
    async fn take_reply(&self, delivery: Delivery) {
        let opened = match envelope::open(&delivery.data) {
            Ok(opened) => opened,
            Err(error) => {
                return tracing::warn!(%error, "An undecodable message on the reply queue.");
            }
        };
        let now = chrono::Utc::now();
        if opened.kind() == Kind::DeliveryStatus {
            match envelope::verify_from_gateway(&self.trust, &opened, now).await {
                Ok(()) => self.take_status_report(&opened),
                Err(error) => tracing::error!(%error, "A status report not signed by the gateway."),
            }
            return;
        }
        if let Err(error) = envelope::verify_stamp(&self.trust, &opened.envelope, now).await {
            return tracing::error!(%error, "An answer without a valid gateway stamp; ignoring it.");
        }
        let Some(pending) = self.pending_lock().remove(&opened.header.correlation_id) else {
            // Its receiver is gone: the gateway records the answer as expired.
            self.answer_receipt(
                &opened,
                DeliveryStatus::Expired,
                "caller_gone",
                "the call had timed out when its answer arrived",
            );
            return tracing::info!(correlation_id = %opened.header.correlation_id, "An answer to no waiting call (it timed out); dropping it.");
        };
        // Handed to the waiting call: this system, the answer's receiver,
        // has processed it.
        self.answer_receipt(&opened, DeliveryStatus::Processed, "", "");
        let answer = if opened.header.request_hash.as_ref() != pending.request_hash {
            Err(CallError::BadResponse(
                "the answer's request_hash does not match the request's bytes".into(),
            ))
        } else {
            match opened.kind() {
                Kind::Response => Ok(Reply::Response(opened)),
                Kind::Reject => match opened.decode::<Rejection>() {
                    Ok(rejection) => Ok(Reply::Rejected(rejection, opened)),
                    Err(e) => Err(CallError::BadResponse(format!(
                        "rejection does not decode: {e}"
                    ))),
                },
                other => Err(CallError::BadResponse(format!("unexpected kind {other:?}"))),
            }
        };
        let _ = pending.answer.send(answer);
    }
}

// === connection hooks ===

/// Declares this system's queues and consumes its reply queue.
struct ReplyHook {
    shared: Arc<Shared>,
}

impl OnConnect for ReplyHook {
    fn on_connect(&self, session: Arc<Session>) -> BoxFuture<'_, lapin::Result<()>> {
        Box::pin(async move {
            let shared = self.shared.clone();
            let channel = session.channel().await?;
            let system = shared.identity.system;
            topology::declare_system(
                &channel,
                &shared.names,
                system,
                &shared.settings.retry_delays,
            )
            .await?;
            let queue = shared.names.reply(system, &shared.instance);
            topology::declare_reply(&channel, &queue).await?;
            let mut consumer = channel
                .basic_consume(
                    queue.as_str().into(),
                    "replies".into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            let ended = session.ended.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = ended.cancelled() => break,
                        next = consumer.next() => match next {
                            Some(Ok(delivery)) => shared.take_reply(delivery).await,
                            Some(Err(error)) => { tracing::warn!(%error, "Reply consumer failed."); break }
                            None => break,
                        }
                    }
                }
            });
            Ok(())
        })
    }
}

/// Consumes the inbox, pausing when told to and stopping at shutdown.
struct InboxHook {
    shared: Arc<Shared>,
    inbox: Inbox,
}

impl OnConnect for InboxHook {
    fn on_connect(&self, session: Arc<Session>) -> BoxFuture<'_, lapin::Result<()>> {
        Box::pin(async move {
            let channel = session.channel().await?;
            channel
                .basic_qos(self.shared.settings.prefetch, BasicQosOptions::default())
                .await?;
            let shared = self.shared.clone();
            let inbox = self.inbox.clone();
            let ended = session.ended.clone();
            tokio::spawn(async move {
                if let Err(error) = consume_inbox(&shared, &inbox, &channel, &ended).await {
                    tracing::warn!(%error, "Inbox consumer failed; it restarts with the next connection.");
                    shared.connector().report_broken(&session);
                }
            });
            Ok(())
        })
    }
}

async fn consume_inbox(
    shared: &Arc<Shared>,
    inbox: &Inbox,
    channel: &lapin::Channel,
    ended: &CancellationToken,
) -> lapin::Result<()> {
    let queue = shared.names.inbox(shared.identity.system);
    let mut consuming = shared.consuming.subscribe();
    loop {
        // Wait until consuming is wanted.
        while !*consuming.borrow_and_update() {
            tokio::select! {
                _ = ended.cancelled() => return Ok(()),
                _ = shared.stopping.cancelled() => return Ok(()),
                changed = consuming.changed() => if changed.is_err() { return Ok(()) },
            }
        }
        let mut consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "inbox".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue, "Consuming the inbox.");
        loop {
            tokio::select! {
                _ = ended.cancelled() => return Ok(()),
                _ = shared.stopping.cancelled() => {
                    let _ = channel.basic_cancel(consumer.tag(), BasicCancelOptions::default()).await;
                    tracing::info!(queue, "Stopped consuming the inbox for shutdown.");
                    // The channel must outlive the handlers still running:
                    // their acknowledgements go through it.
                    shared.in_flight.close();
                    shared.in_flight.wait().await;
                    return Ok(());
                }
                _ = consuming.changed() => {
                    if !*consuming.borrow() {
                        channel.basic_cancel(consumer.tag(), BasicCancelOptions::default()).await?;
                        // Deliveries the broker pushed before the cancel are
                        // handled, not left unacknowledged on the channel;
                        // the stream ends at the broker's cancel-ok.
                        while let Some(next) = consumer.next().await {
                            let delivery = next?;
                            let tracker = shared.in_flight.clone();
                            let shared = shared.clone();
                            let inbox = inbox.clone();
                            tracker.spawn(async move { inbox::process(&shared, &inbox, delivery).await });
                        }
                        tracing::info!(queue, "Paused consuming the inbox.");
                        break;
                    }
                }
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        let tracker = shared.in_flight.clone();
                        let shared = shared.clone();
                        let inbox = inbox.clone();
                        tracker.spawn(async move { inbox::process(&shared, &inbox, delivery).await });
                    }
                    Some(Err(error)) => return Err(error),
                    None => return Ok(()),
                }
            }
        }
    }
}
