//! The bus as a system sees it: send messages to the gateway, make
//! synchronous calls (and take their answers from this process's reply
//! queue), serve an inbox, hear about delivery statuses.

use crate::amqp;
use crate::calls::{Waiting, WaitingCalls, reply_of};
use crate::connection::{Connector, ConnectorSettings, OnConnect, Session};
use crate::envelope::{self, Opened, Outgoing};
use crate::error::{BusError, CallError};
use crate::inbox::{Inbox, InboxHook};
use crate::names::{self, Names};
use crate::outbox;
use crate::receipts::{ReceiptQueue, receipt_of};
use crate::settings::BusSettings;
use crate::state::Shared;
use crate::topology;
use egov_proto::envelope::{DeliveryStatus, Envelope, Kind, StatusChange};
use egov_proto::prost::Message;
use egov_trust::{Identity, SystemId, TrustStore};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lapin::message::Delivery;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use crate::calls::Reply;

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
        let names = settings
            .names()
            .map_err(|e| BusError::Settings(e.to_string()))?;
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
            calls: WaitingCalls::default(),
            statuses,
            receipts: ReceiptQueue::default(),
            wake_relay: Notify::new(),
            consuming,
            stopping: CancellationToken::new(),
            in_flight: TaskTracker::new(),
            pool: inbox.as_ref().map(|i| i.pool.clone()),
            metrics: Default::default(),
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

    /// Registers the inbox's metrics (`egov_inbox_…`) in a service's
    /// registry.
    pub fn register_metrics(&self, registry: &mut egov_runtime::metrics::Registry) {
        self.shared.metrics.register(registry);
    }

    pub fn system(&self) -> SystemId {
        self.shared.identity.system
    }

    /// The mesh's trust store (CA, revocation list), for checking what
    /// others present (an operator's credential; the runner checks TLS
    /// clients' certificates with it too).
    pub fn trust(&self) -> &Arc<egov_trust::TrustStore> {
        &self.shared.trust
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

    /// The broker probe of a service's health (`Runner::probe("broker", …)`).
    pub fn connected_probe(&self) -> impl Fn() -> std::future::Ready<bool> + Send + Sync + 'static {
        let bus = self.clone();
        move || std::future::ready(bus.is_connected())
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
                &self.shared.names.to_gateway(self.system()),
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
        self.shared.calls.insert(
            id.clone(),
            Waiting {
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
        self.shared.calls.remove(&id);
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
        outbox::insert(db, uuid, &envelope).await?;
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

// === answers to calls ===

/// An answer on this instance's reply queue.
async fn take_reply(shared: &Shared, delivery: Delivery) {
    let opened = match envelope::open(&delivery.data) {
        Ok(opened) => opened,
        Err(error) => {
            return tracing::warn!(%error, "An undecodable message on the reply queue.");
        }
    };
    let now = chrono::Utc::now();
    if opened.kind() == Kind::DeliveryStatus {
        match envelope::verify_from_gateway(&shared.trust, &opened, now).await {
            Ok(()) => shared.take_status_report(&opened),
            Err(error) => tracing::error!(%error, "A status report not signed by the gateway."),
        }
        return;
    }
    if let Err(error) = envelope::verify_stamp(&shared.trust, &opened.envelope, now).await {
        return tracing::error!(%error, "An answer without a valid gateway stamp; ignoring it.");
    }
    let Some(waiting) = shared.calls.remove(&opened.header.correlation_id) else {
        // Its receiver is gone: the gateway records the answer as expired.
        answer_receipt(
            shared,
            &opened,
            DeliveryStatus::Expired,
            "caller_gone",
            "the call had timed out when its answer arrived",
        );
        return tracing::info!(correlation_id = %opened.header.correlation_id, "An answer to no waiting call (it timed out); dropping it.");
    };
    // Handed to the waiting call: this system, the answer's receiver,
    // has processed it.
    answer_receipt(shared, &opened, DeliveryStatus::Processed, "", "");
    let answer = reply_of(opened, &waiting.request_hash);
    let _ = waiting.answer.send(answer);
}

/// Queues a receipt about an answer taken from the reply queue (which is
/// consumed without acknowledgements, so this is its only trace).
fn answer_receipt(
    shared: &Shared,
    answer: &Opened,
    status: DeliveryStatus,
    code: &str,
    detail: &str,
) {
    // Not worth a message of its own per call: it rides with the next flush.
    shared.queue_receipt_lazily(receipt_of(&answer.header, 1, status, code, detail));
}

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
                            Some(Ok(delivery)) => take_reply(&shared, delivery).await,
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
