//! The gateway's path for every message, from either entrance (the AMQP
//! ingress queue or the gRPC API):
//!
//! ```text
//! verify (in parallel, order kept) → log writer (one transaction per batch:
//! duplicates, answers, receipts; append to the hash chain; statuses)
//! → deliver (countersign, publish with confirms) → acknowledge
//! ```
//!
//! An AMQP delivery is acknowledged only after its message is logged and
//! confirmed in the receiver's queue (or parked), so a crash anywhere
//! redelivers it, and the message id makes the redelivery harmless.
//!
//! - [`admission`]: a message entering, and what its sender is told;
//! - `decide`: the verdict against the record (pure: duplicates, answers,
//!   receipts, routes);
//! - `write`: the log writer (batches, retry of the write);
//! - `records`: log entries, status rows and changes;
//! - `notices`: telling senders of queued and refused messages;
//! - [`deliver`]: countersign, publish, retry, dead-letter, acknowledge.

pub mod admission;
mod decide;
pub mod deliver;
mod notices;
mod records;
mod write;

pub use admission::{Admission, Admitted, Origin};

use self::admission::Item;
use crate::gateway::Gateway;
use crate::verify::Checked;
use chrono::Utc;
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Clone)]
pub struct Pipeline {
    input: mpsc::Sender<Admission>,
}

impl Pipeline {
    /// Starts the stages; they run until every `Pipeline` clone is dropped
    /// and what was submitted has been delivered.
    pub fn start(gateway: Arc<Gateway>) -> (Pipeline, tokio::task::JoinHandle<()>) {
        let (input, rx) = mpsc::channel(gateway.tuning.batch_max * 2);
        let task = tokio::spawn(run(gateway, rx));
        (Pipeline { input }, task)
    }

    /// Hands a message to the pipeline; false if it is shutting down.
    pub async fn submit(&self, admission: Admission) -> bool {
        self.input.send(admission).await.is_ok()
    }
}

/// The way into the pipeline for the ingress consumer and the gRPC API:
/// open while the gateway accepts messages, closed at shutdown so the
/// pipeline can drain and stop.
pub struct Entrance {
    open: Mutex<Option<Pipeline>>,
    /// Cancelled once the pipeline has drained (the ingress channel stays
    /// open until then, for the acknowledgements).
    drained: CancellationToken,
}

impl Entrance {
    pub fn new(pipeline: Pipeline) -> Entrance {
        Entrance {
            open: Mutex::new(Some(pipeline)),
            drained: CancellationToken::new(),
        }
    }

    /// The pipeline, unless shutting down.
    pub fn pipeline(&self) -> Option<Pipeline> {
        self.open.lock().expect("entrance lock").clone()
    }

    pub fn close(&self) {
        self.open.lock().expect("entrance lock").take();
    }

    pub fn mark_drained(&self) {
        self.drained.cancel();
    }

    pub async fn drained(&self) {
        self.drained.cancelled().await
    }
}

async fn run(gateway: Arc<Gateway>, input: mpsc::Receiver<Admission>) {
    let (checked_tx, checked_rx) = mpsc::channel(gateway.tuning.batch_max * 2);
    let verifier = tokio::spawn(verify_stage(gateway.clone(), input, checked_tx));
    write::write_stage(gateway, checked_rx).await;
    let _ = verifier.await;
}

/// The sender's rate, checked once its signature has proved who it is (so
/// nobody spends another's allowance). A message the gateway is trying
/// again (its own retry, a redelivery) was counted when it came first;
/// receipts are the receiver's duty, not its traffic.
fn rate_limit(gateway: &Gateway, admission: &Admission, checked: Checked) -> Checked {
    let Some(limiter) = &gateway.limiter else {
        return checked;
    };
    let passed = match checked {
        Checked::Passed(passed) => passed,
        other => return other,
    };
    let first_try = admission.origin.attempt() == 1 && !admission.origin.arrival().redelivered;
    if !first_try || passed.kind == egov_proto::envelope::Kind::Receipt {
        return Checked::Passed(passed);
    }
    match limiter.allow(&passed.sender) {
        Ok(()) => Checked::Passed(passed),
        Err(wait) => Checked::Refused(
            crate::verify::Refusal {
                code: crate::verify::RejectCode::RateLimited,
                detail: format!(
                    "{} sends more than gateway.rate_limit_per_second = {} (burst {}); try again in {} ms",
                    passed.sender,
                    gateway.tuning.rate_limit_per_second,
                    gateway.tuning.rate_limit_burst,
                    wait.as_millis().max(1)
                ),
            },
            Some(Box::new(passed.opened)),
        ),
    }
}

/// Verifies in parallel (signature checks are the CPU-heavy part) and passes
/// results on in arrival order.
async fn verify_stage(
    gateway: Arc<Gateway>,
    input: mpsc::Receiver<Admission>,
    out: mpsc::Sender<Item>,
) {
    let admissions = futures_util::stream::unfold(input, |mut rx| async move {
        rx.recv().await.map(|admission| (admission, rx))
    });
    let concurrency = gateway.tuning.verify_concurrency;
    let checked = admissions
        .map(|admission| {
            let gateway = gateway.clone();
            tokio::spawn(async move {
                let span = admission.span.clone();
                let started = std::time::Instant::now();
                let checked = gateway
                    .verifier()
                    .check(&admission.raw, Utc::now())
                    .instrument(span)
                    .await;
                let checked = rate_limit(&gateway, &admission, checked);
                gateway
                    .metrics
                    .verify_seconds
                    .observe(started.elapsed().as_secs_f64());
                (admission, checked)
            })
        })
        .buffered(concurrency);
    let mut checked = std::pin::pin!(checked);
    while let Some(joined) = checked.next().await {
        match joined {
            Ok(item) => {
                if out.send(item).await.is_err() {
                    break;
                }
            }
            Err(error) => tracing::error!(%error, "A verification task failed."),
        }
    }
}
