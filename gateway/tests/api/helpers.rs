//! A gateway per test, test systems around it, and ways to wait for what a
//! user would wait for (a status report, a delivered message) without sleeps.

use egov_bus::{Bus, Context, Handler, HandlerError, Inbox, Incoming, Outcome, Outgoing};
use egov_gateway::Application;
use egov_proto::envelope::{DeliveryStatus, StatusChange};
use egov_proto::gateway::gateway_client::GatewayClient;
use egov_proto::gateway::{GetStatusRequest, MessageStatus};
use egov_testkit::TestMesh;
use egov_trust::SystemId;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct TestGateway {
    pub mesh: TestMesh,
    pub client: GatewayClient<Channel>,
    pub address: std::net::SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Starts a gateway in-process on a free port, ready to route.
pub async fn spawn_gateway() -> TestGateway {
    spawn_gateway_with(&[]).await
}

/// As [`spawn_gateway`], with some settings overridden (`EGOV__…` pairs).
pub async fn spawn_gateway_with(overrides: &[(&str, &str)]) -> TestGateway {
    spawn_gateway_in(TestMesh::new().await, overrides).await
}

/// As [`spawn_gateway_with`], in a mesh the test prepared.
pub async fn spawn_gateway_in(mesh: TestMesh, overrides: &[(&str, &str)]) -> TestGateway {
    let mut source = mesh.source(SystemId::Gateway);
    for (key, value) in overrides {
        source.env.insert((*key).to_owned(), (*value).to_owned());
    }
    let settings: egov_gateway::Settings =
        egov_runtime::settings::load("gateway", &source).expect("gateway settings");
    let app = Application::build(settings)
        .await
        .expect("build the gateway");
    app.wait_ready(PATIENCE)
        .await
        .expect("the gateway connects");
    let address = app.address();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let client = GatewayClient::connect(format!("http://{address}"))
        .await
        .expect("connect to the gateway's gRPC API");
    TestGateway {
        mesh,
        client,
        address,
        shutdown,
        task,
    }
}

impl TestGateway {
    pub async fn stop(self) {
        self.stop_keeping_mesh().await;
    }

    /// Stops the gateway gracefully; the test keeps its database and queues.
    pub async fn stop_keeping_mesh(self) -> TestMesh {
        self.shutdown.cancel();
        self.task
            .await
            .expect("gateway task")
            .expect("gateway stops cleanly");
        self.mesh
    }

    /// A bus client for `system` that also consumes its inbox (so it hears
    /// status reports), with `handler` for business messages.
    pub async fn system(&self, system: SystemId, handler: Arc<dyn Handler>) -> Bus {
        let pool = self.mesh.pool(system.as_str()).await;
        self.mesh.bus(system, Some(Inbox { handler, pool })).await
    }

    /// A bus client for `system` with a handler that records and accepts.
    pub async fn recording(&self, system: SystemId) -> (Bus, Arc<Recorder>) {
        let recorder = Recorder::new(self.mesh.pool(system.as_str()).await).await;
        let bus = self.system(system, recorder.clone()).await;
        (bus, recorder)
    }

    pub async fn status(&self, message_id: &str) -> MessageStatus {
        self.client
            .clone()
            .get_status(GetStatusRequest {
                message_id: message_id.to_owned(),
                credential: Some(self.mesh.operator_read()),
            })
            .await
            .expect("GetStatus")
            .into_inner()
    }
}

/// Waits for the status report that says `message_id` reached `status`.
pub async fn wait_status(
    statuses: &mut broadcast::Receiver<StatusChange>,
    message_id: &str,
    status: DeliveryStatus,
) -> StatusChange {
    wait_report(statuses, status, Some(message_id)).await
}

/// Waits for the first report of any message reaching `status` (for a
/// message whose id the test does not hold, such as a failed call's).
pub async fn wait_any_status(
    statuses: &mut broadcast::Receiver<StatusChange>,
    status: DeliveryStatus,
) -> StatusChange {
    wait_report(statuses, status, None).await
}

async fn wait_report(
    statuses: &mut broadcast::Receiver<StatusChange>,
    status: DeliveryStatus,
    message_id: Option<&str>,
) -> StatusChange {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match statuses.recv().await {
                Ok(change)
                    if change.status == status as i32
                        && message_id.is_none_or(|id| change.message_id == id) =>
                {
                    return change;
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("status stream ended: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {status:?} report for {message_id:?} within {PATIENCE:?}"))
}

/// A handler that records each message (the "effect": a row per handling,
/// without a uniqueness constraint, so double handling would show), tells
/// the test, and can be held back by a gate.
pub struct Recorder {
    pub pool: sqlx::PgPool,
    seen: mpsc::UnboundedSender<(Incoming, tokio::time::Instant)>,
    pub received: tokio::sync::Mutex<mpsc::UnboundedReceiver<(Incoming, tokio::time::Instant)>>,
    gate: Option<Arc<Semaphore>>,
    answer: Option<Vec<u8>>,
    fail: bool,
    /// Refuses every message with this rejection (the receiver's verdict).
    refusal: Option<egov_proto::envelope::Rejection>,
    /// The trace id each message was handled under, by message id.
    traces: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
}

impl Recorder {
    pub async fn new(pool: sqlx::PgPool) -> Arc<Recorder> {
        Arc::new(Recorder::build(pool, None, None, false).await)
    }

    /// Holds every message until the test adds a permit to `gate`.
    pub async fn gated(pool: sqlx::PgPool, gate: Arc<Semaphore>) -> Arc<Recorder> {
        Arc::new(Recorder::build(pool, Some(gate), None, false).await)
    }

    /// Answers every request with `payload`.
    pub async fn answering(pool: sqlx::PgPool, payload: Vec<u8>) -> Arc<Recorder> {
        Arc::new(Recorder::build(pool, None, Some(payload), false).await)
    }

    /// Refuses every message, as a receiver that cannot accept what it got.
    pub async fn refusing(pool: sqlx::PgPool, code: &str, message: &str) -> Arc<Recorder> {
        let mut recorder = Recorder::build(pool, None, None, false).await;
        recorder.refusal = Some(egov_proto::envelope::Rejection {
            code: code.to_owned(),
            message: message.to_owned(),
            field: "payload".to_owned(),
        });
        Arc::new(recorder)
    }

    /// Fails every time, as a handler whose dependency is down.
    pub async fn failing(pool: sqlx::PgPool) -> Arc<Recorder> {
        Arc::new(Recorder::build(pool, None, None, true).await)
    }

    async fn build(
        pool: sqlx::PgPool,
        gate: Option<Arc<Semaphore>>,
        answer: Option<Vec<u8>>,
        fail: bool,
    ) -> Recorder {
        sqlx::query("CREATE TABLE IF NOT EXISTS effects (id bigserial PRIMARY KEY, message_id uuid NOT NULL, service text NOT NULL)")
            .execute(&pool)
            .await
            .expect("create the effects table");
        let (seen, received) = mpsc::unbounded_channel();
        Recorder {
            pool,
            seen,
            received: tokio::sync::Mutex::new(received),
            gate,
            answer,
            fail,
            refusal: None,
            traces: Default::default(),
        }
    }

    /// The trace id the handler ran under for this message.
    pub fn trace_of(&self, message_id: &str) -> Option<String> {
        self.traces
            .lock()
            .unwrap()
            .get(message_id)
            .cloned()
            .flatten()
    }

    /// The next message the handler saw.
    pub async fn next(&self) -> Incoming {
        self.next_timed().await.0
    }

    /// The next message the handler saw, with when the handler saw it.
    pub async fn next_timed(&self) -> (Incoming, tokio::time::Instant) {
        tokio::time::timeout(PATIENCE, async { self.received.lock().await.recv().await })
            .await
            .expect("a message reaches the handler in time")
            .expect("handler alive")
    }

    /// (rows, distinct message ids) of the effects table.
    pub async fn effects(&self) -> (i64, i64) {
        sqlx::query_as("SELECT count(*), count(DISTINCT message_id) FROM effects")
            .fetch_one(&self.pool)
            .await
            .expect("count effects")
    }
}

impl Handler for Recorder {
    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        ctx: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            self.traces.lock().unwrap().insert(
                message.message_id().to_owned(),
                egov_runtime::propagation::current_trace_id(),
            );
            let _ = self
                .seen
                .send((message.clone(), tokio::time::Instant::now()));
            if let Some(gate) = &self.gate {
                gate.acquire().await.expect("gate open").forget();
            }
            if self.fail {
                return Err(HandlerError::Transient(anyhow::anyhow!(
                    "the registry it needs is down"
                )));
            }
            let id: uuid::Uuid = message.message_id().parse().expect("uuid");
            sqlx::query("INSERT INTO effects (message_id, service) VALUES ($1, $2)")
                .bind(id)
                .bind(message.service())
                .execute(&mut *ctx.db)
                .await?;
            Ok(match (&self.refusal, &self.answer) {
                (Some(refusal), _) => Outcome::Reject(refusal.clone()),
                (None, Some(payload)) => Outcome::Reply(payload.clone()),
                (None, None) => Outcome::Done,
            })
        })
    }
}

/// Waits until the gateway's record shows every message of `ids` settled,
/// then returns how many ended in each status (by status name).
pub async fn settled_statuses(
    gateway_pool: &sqlx::PgPool,
    ids: &[String],
) -> std::collections::BTreeMap<String, i64> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.parse().expect("uuid")).collect();
    egov_testkit::statuses::these_settled(gateway_pool, &ids, PATIENCE * 3).await
}

/// The latest status reported to a sender for each message (the furthest
/// along the lifecycle), kept as the stream brings them.
#[derive(Default)]
pub struct Reports {
    seen: std::sync::Mutex<std::collections::HashMap<String, DeliveryStatus>>,
    changed: tokio::sync::Notify,
}

impl Reports {
    pub fn get(&self, id: &str) -> Option<DeliveryStatus> {
        self.seen.lock().unwrap().get(id).copied()
    }

    /// Waits until every message of `ids` was reported `status`: woken by
    /// each report, never by a timer.
    pub async fn wait_all(&self, ids: &[String], status: DeliveryStatus, patience: Duration) {
        let waited = tokio::time::timeout(patience, async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if ids.iter().all(|id| self.get(id) == Some(status)) {
                    return;
                }
                changed.await;
            }
        })
        .await;
        if waited.is_err() {
            let missing = ids.iter().filter(|id| self.get(id) != Some(status)).count();
            panic!(
                "{missing} of {} never reported {status:?} to the sender",
                ids.len()
            );
        }
    }
}

/// Drains a sender's status stream into [`Reports`].
pub fn collect_reports(mut statuses: broadcast::Receiver<StatusChange>) -> Arc<Reports> {
    let reports = Arc::new(Reports::default());
    let into = reports.clone();
    tokio::spawn(async move {
        loop {
            match statuses.recv().await {
                Ok(change) => {
                    let status = DeliveryStatus::try_from(change.status)
                        .unwrap_or(DeliveryStatus::Unspecified);
                    {
                        let mut seen = into.seen.lock().unwrap();
                        let entry = seen.entry(change.message_id).or_insert(status);
                        if rank(status) > rank(*entry) {
                            *entry = status;
                        }
                    }
                    into.changed.notify_waiters();
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    panic!("the test lost {n} status reports (it read too slowly)")
                }
                Err(_) => break,
            }
        }
    });
    reports
}

/// The lifecycle's order, as the gateway's `delivery_rank`.
pub fn rank(status: DeliveryStatus) -> u8 {
    use DeliveryStatus::*;
    match status {
        Unspecified => 0,
        Queued => 1,
        Delivered | Retrying => 2,
        Expired | DeadLettered => 3,
        Processed | Rejected => 4,
    }
}

/// An application submission from the portal (diagram 2, process 5).
pub fn application(conversation: &str) -> Outgoing {
    Outgoing::raw(
        SystemId::Workstation,
        "submit-application",
        egov_proto::envelope::Kind::Request,
        b"application form".to_vec(),
    )
    .conversation(conversation)
}

/// A "person by IIN" look-up (diagram 1, process 3).
pub fn lookup() -> Outgoing {
    Outgoing::raw(
        SystemId::Individuals,
        "person-by-iin",
        egov_proto::envelope::Kind::Request,
        b"900101300017".to_vec(),
    )
}
