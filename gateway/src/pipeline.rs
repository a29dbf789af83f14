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

use crate::gateway::Gateway;
use crate::log::{self, LogEntry, Logged};
use crate::notify::Notice;
use crate::store::{self, Change, Known, NewStatus};
use crate::verify::{Checked, Code, Passed, Refusal, RejectCode};
use chrono::{DateTime, Utc};
use egov_bus::{amqp, envelope, publisher};
use egov_proto::envelope::{DeliveryStatus, Kind, Receipts, Rejection, StatusChange};
use egov_proto::prost::Message;
use egov_trust::SystemId;
use futures_util::StreamExt;
use lapin::Acker;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// A message entering the gateway.
pub struct Admission {
    /// The envelope's bytes exactly as received.
    pub raw: Vec<u8>,
    pub origin: Origin,
    pub span: tracing::Span,
}

pub enum Origin {
    /// From the ingress queue: acknowledged when done.
    Amqp {
        acker: Acker,
        redelivered: bool,
        /// The gateway's own delivery attempt (1 = first).
        attempt: u32,
    },
    /// From the gRPC API: answered when done. With `bridge`, answers to
    /// this request come back to this gateway instance (gRPC Call).
    Grpc {
        done: oneshot::Sender<Admitted>,
        bridge: bool,
    },
}

impl Origin {
    fn attempt(&self) -> u32 {
        match self {
            Origin::Amqp { attempt, .. } => *attempt,
            Origin::Grpc { .. } => 1,
        }
    }
    fn is_amqp(&self) -> bool {
        matches!(self, Origin::Amqp { .. })
    }
}

/// What a gRPC sender is told.
#[derive(Debug)]
pub enum Admitted {
    Accepted {
        message_id: String,
        log_sequence: u64,
    },
    Refused(Refusal),
    Unavailable(String),
}

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

type Item = (Admission, Checked);

async fn run(gateway: Arc<Gateway>, input: mpsc::Receiver<Admission>) {
    let (checked_tx, checked_rx) = mpsc::channel(gateway.tuning.batch_max * 2);
    let verifier = tokio::spawn(verify_stage(gateway.clone(), input, checked_tx));
    write_stage(gateway, checked_rx).await;
    let _ = verifier.await;
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
                let checked = gateway
                    .verifier()
                    .check(&admission.raw, Utc::now())
                    .instrument(span)
                    .await;
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

/// Takes whatever has been verified (up to `batch_max`) as one batch: the
/// busier the gateway, the bigger the batches, and no waiting when idle.
async fn write_stage(gateway: Arc<Gateway>, mut input: mpsc::Receiver<Item>) {
    let deliveries = TaskTracker::new();
    // The chain head as this writer left it (re-read after any doubt).
    let mut head: Option<log::Head> = None;
    while let Some(first) = input.recv().await {
        let mut batch = vec![first];
        while batch.len() < gateway.tuning.batch_max {
            match input.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        tracing::debug!(size = batch.len(), "Writing a batch.");
        let mut backoff = Duration::from_millis(100);
        let mut retrying = false;
        let decisions = loop {
            match write_batch(&gateway, &batch, &mut head, retrying).await {
                Ok(decisions) => break decisions,
                Err(error) => {
                    // Whether the write landed is unknown: read the head again,
                    // and take this batch's own messages, if found logged, as
                    // logged (to be delivered), not as duplicates.
                    head = None;
                    retrying = true;
                    tracing::error!(%error, size = batch.len(), ?backoff, "Cannot write to the message log; holding the batch and retrying.");
                    // gRPC callers are told now; AMQP deliveries wait (unacknowledged).
                    batch = answer_unavailable(batch, "the message log is unavailable");
                    if batch.is_empty() {
                        break Vec::new();
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        };
        if decisions.is_empty() {
            continue;
        }
        tracing::debug!(size = decisions.len(), "Logged a batch.");
        let gateway = gateway.clone();
        deliveries.spawn(async move { deliver(&gateway, batch, decisions).await });
    }
    deliveries.close();
    deliveries.wait().await;
}

fn answer_unavailable(batch: Vec<Item>, why: &str) -> Vec<Item> {
    let mut kept = Vec::with_capacity(batch.len());
    for (admission, checked) in batch {
        match admission.origin {
            Origin::Grpc { done, .. } => {
                let _ = done.send(Admitted::Unavailable(why.to_owned()));
            }
            origin @ Origin::Amqp { .. } => kept.push((
                Admission {
                    origin,
                    ..admission
                },
                checked,
            )),
        }
    }
    kept
}

/// What happens to each message once the batch is committed.
enum Decision {
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

/// One batch: what is already on record, then one atomic statement.
async fn write_batch(
    gateway: &Gateway,
    batch: &[Item],
    head: &mut Option<log::Head>,
    retrying: bool,
) -> Result<Vec<Decision>, sqlx::Error> {
    let now = Utc::now();
    let names = &gateway.names;

    // Everything already on record that this batch refers to.
    let mut ids: Vec<uuid::Uuid> = Vec::new();
    for (_, checked) in batch {
        match checked {
            Checked::Passed(p) => {
                ids.push(p.message_id);
                if matches!(p.kind, Kind::Response | Kind::Reject)
                    && let Ok(request) = p.opened.header.correlation_id.parse()
                {
                    ids.push(request);
                }
            }
            Checked::Refused(r, Some(opened)) if r.code == RejectCode::MessageExpired => {
                if let Ok(id) = opened.header.message_id.parse() {
                    ids.push(id);
                }
            }
            _ => {}
        }
    }
    let known = store::known(&gateway.pool, &ids).await?;
    tracing::debug!(ids = ids.len(), "Looked up what the batch refers to.");

    let mut entries: Vec<LogEntry> = Vec::new();
    let mut pending: Vec<Pending> = Vec::with_capacity(batch.len());
    let mut statuses: Vec<NewStatus> = Vec::new();
    // For each status row, the log entry it belongs to.
    let mut status_entry: Vec<usize> = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut accepted_here: HashMap<uuid::Uuid, [u8; 32]> = HashMap::new();
    let mut queued_notices: Vec<usize> = Vec::new();

    for (index, (admission, checked)) in batch.iter().enumerate() {
        match checked {
            Checked::Unavailable(detail) => pending.push(Pending::Unavailable(detail.clone())),
            Checked::Refused(refusal, opened) => {
                if refusal.code == RejectCode::MessageExpired
                    && let Some(opened) = opened
                    && let Ok(id) = opened.header.message_id.parse::<uuid::Uuid>()
                    && known
                        .get(&id)
                        .is_some_and(|k| k.signed_hash == opened.signed_hash())
                {
                    // An accepted message came back (a retry) after it expired.
                    changes.push(expired_change(
                        id,
                        now,
                        "it expired before it could be delivered",
                    ));
                }
                entries.push(refusal_entry(refusal, opened.as_deref(), &admission.raw));
                pending.push(Pending::Refuse(refusal.clone(), entries.len() - 1));
            }
            Checked::Passed(p) => {
                let decided = decide(gateway, admission, p, &known, &accepted_here, retrying);
                match decided {
                    Verdict::Refuse(refusal) => {
                        entries.push(refusal_entry(&refusal, Some(&p.opened), &admission.raw));
                        pending.push(Pending::Refuse(refusal, entries.len() - 1));
                    }
                    Verdict::ReceiptSeen { seq } => {
                        pending.push(Pending::Receipt(Receipt::Seen(seq)))
                    }
                    Verdict::Redeliver { queue, seq, hash } => pending.push(Pending::Redeliver {
                        queue,
                        expiration: remaining(p.expires_at, now),
                        seq,
                        hash,
                    }),
                    Verdict::Accept { queue, reply_queue } => {
                        accepted_here.insert(p.message_id, p.signed_hash);
                        entries.push(accepted_entry(p, &admission.raw));
                        let entry = entries.len() - 1;
                        statuses.push(NewStatus {
                            message_id: p.message_id,
                            sender: p.sender.to_string(),
                            receiver: p.receiver.to_string(),
                            service: p.opened.header.service.clone(),
                            kind: p.kind as i16,
                            conversation_id: p.opened.header.conversation_id.clone(),
                            correlation_id: p.opened.header.correlation_id.clone(),
                            signed_hash: p.signed_hash.to_vec(),
                            reply_queue: reply_queue.clone(),
                            expires_at: p.expires_at,
                            // Nobody is told about receipts.
                            notify_sender: admission.origin.is_amqp() && p.kind != Kind::Receipt,
                            log_seq: 0, // filled in once the log assigns it
                            // The gateway is a receipt's receiver: applied is processed.
                            status: if p.kind == Kind::Receipt {
                                DeliveryStatus::Processed
                            } else {
                                DeliveryStatus::Queued
                            },
                        });
                        status_entry.push(entry);
                        match p.kind {
                            Kind::Receipt => {
                                changes.extend(receipt_changes(p));
                                pending.push(Pending::Receipt(Receipt::New(entry)));
                            }
                            Kind::Response | Kind::Reject => {
                                if let Ok(request) = p.opened.header.correlation_id.parse() {
                                    changes.push(answered_change(p, request, now));
                                }
                                pending.push(Pending::Deliver {
                                    queue,
                                    expiration: remaining(p.expires_at, now),
                                    entry,
                                });
                            }
                            _ => {
                                if admission.origin.is_amqp() && reply_queue.is_none() {
                                    queued_notices.push(index);
                                }
                                pending.push(Pending::Deliver {
                                    queue,
                                    expiration: remaining(p.expires_at, now),
                                    entry,
                                });
                            }
                        }
                    }
                }
            }
        }
    }

    let written = crate::batch::write(
        &gateway.pool,
        head,
        &entries,
        &mut statuses,
        &status_entry,
        &changes,
        now,
    )
    .await?;
    let (logged, applied) = (written.logged, written.applied);
    gateway
        .metrics
        .accepted
        .fetch_add(statuses.len() as u64, std::sync::atomic::Ordering::Relaxed);

    // Tell senders what changed: queued messages, refusals, applied receipts.
    for index in queued_notices {
        if let (_, Checked::Passed(p)) = &batch[index] {
            gateway.notifier.notify(Notice {
                queue: names.inbox(p.sender),
                sender: p.sender,
                change: status_change(&p.opened.header, DeliveryStatus::Queued, now, "", ""),
            });
        }
    }
    for (admission, checked) in batch {
        let opened = match checked {
            Checked::Refused(_, Some(opened)) => Some(opened.as_ref()),
            _ => None,
        };
        if let (Checked::Refused(refusal, _), Some(opened)) = (checked, opened)
            && admission.origin.is_amqp()
        {
            notify_refusal(gateway, opened, refusal, now);
        }
    }
    for (pending, (admission, checked)) in pending.iter().zip(batch) {
        if let (Pending::Refuse(refusal, _), Checked::Passed(p)) = (pending, checked)
            && admission.origin.is_amqp()
        {
            notify_refusal(gateway, &p.opened, refusal, now);
        }
    }
    for change in applied {
        gateway.notify_applied(&change);
    }

    Ok(pending
        .into_iter()
        .map(|p| match p {
            Pending::Deliver {
                queue,
                expiration,
                entry,
                ..
            } => Decision::Deliver {
                queue,
                expiration,
                logged: logged[entry],
            },
            Pending::Redeliver {
                queue,
                expiration,
                seq,
                hash,
            } => Decision::Redeliver {
                queue,
                expiration,
                seq,
                hash,
            },
            Pending::Refuse(refusal, entry) => Decision::Refuse {
                refusal,
                seq: logged[entry].seq,
            },
            Pending::Receipt(Receipt::New(entry)) => Decision::Receipt {
                seq: logged[entry].seq,
            },
            Pending::Receipt(Receipt::Seen(seq)) => Decision::Receipt { seq },
            Pending::Unavailable(detail) => Decision::Unavailable(detail),
        })
        .collect())
}

/// A decision before the log has assigned sequence numbers.
enum Pending {
    Deliver {
        queue: String,
        expiration: Option<Duration>,
        entry: usize,
    },
    Redeliver {
        queue: String,
        expiration: Option<Duration>,
        seq: i64,
        hash: Vec<u8>,
    },
    Refuse(Refusal, usize),
    Receipt(Receipt),
    Unavailable(String),
}

/// A receipts envelope: logged now (its log entry), or already applied
/// earlier (its log row) and come back through a redelivery or a retry.
enum Receipt {
    New(usize),
    Seen(i64),
}

enum Verdict {
    Accept {
        queue: String,
        reply_queue: Option<String>,
    },
    Redeliver {
        queue: String,
        seq: i64,
        hash: Vec<u8>,
    },
    /// The same receipts envelope again: applied once already.
    ReceiptSeen {
        seq: i64,
    },
    Refuse(Refusal),
}

/// The checks that need the record: duplicates, and whether an answer
/// answers a request this gateway delivered.
fn decide(
    gateway: &Gateway,
    admission: &Admission,
    p: &Passed,
    known: &HashMap<uuid::Uuid, Known>,
    accepted_here: &HashMap<uuid::Uuid, [u8; 32]>,
    retrying: bool,
) -> Verdict {
    let names = &gateway.names;
    let header = &p.opened.header;
    let refuse = |code, detail: String| Verdict::Refuse(Refusal { code, detail });

    // Where it goes.
    let (queue, reply_queue) = match p.kind {
        Kind::Response | Kind::Reject => {
            let request = header
                .correlation_id
                .parse()
                .ok()
                .and_then(|id: uuid::Uuid| known.get(&id));
            let Some(request) = request
                .filter(|r| r.receiver == p.sender.as_str() && r.sender == p.receiver.as_str())
            else {
                return refuse(
                    RejectCode::UnknownRequest,
                    format!(
                        "no request {} from {} to {} passed through the gateway",
                        header.correlation_id, p.receiver, p.sender
                    ),
                );
            };
            if request.signed_hash != header.request_hash.as_ref() {
                return refuse(
                    RejectCode::RequestHashMismatch,
                    format!(
                        "request_hash does not match the signed bytes of request {}",
                        header.correlation_id
                    ),
                );
            }
            let queue = request
                .reply_queue
                .clone()
                .unwrap_or_else(|| names.inbox(p.receiver));
            (queue, None)
        }
        Kind::Receipt => (String::new(), None),
        _ => {
            let reply_queue = match &admission.origin {
                Origin::Grpc { bridge: true, .. } => Some(gateway.bridge.queue().to_owned()),
                _ if !header.reply_to.is_empty() => Some(names.reply(p.sender, &header.reply_to)),
                _ => None,
            };
            (names.inbox(p.receiver), reply_queue)
        }
    };

    // Seen before?
    if let Some(hash) = accepted_here.get(&p.message_id) {
        let same = hash == &p.signed_hash;
        return refuse(RejectCode::DuplicateMessageId, duplicate_detail(same, None));
    }
    if let Some(existing) = known.get(&p.message_id) {
        // Receipts go to no queue: whatever brought them back (a redelivery
        // after a crash, a reconnect, a retried batch), they were applied.
        if p.kind == Kind::Receipt && existing.signed_hash == p.signed_hash {
            return Verdict::ReceiptSeen {
                seq: existing.log_seq,
            };
        }
        // The same bytes again after a crash or a failed delivery are
        // delivered again (the receiver skips what it has processed); any
        // other reuse of the id is refused, as SMEV 3's MessageIsAlreadySent.
        let same = existing.signed_hash == p.signed_hash;
        let resend_after_failure = retrying
            || matches!(
                &admission.origin,
                Origin::Amqp {
                    redelivered: true,
                    ..
                }
            )
            || admission.origin.attempt() > 1
            || (existing.status == DeliveryStatus::Queued && existing.code == "delivery_failed");
        if same && resend_after_failure {
            return Verdict::Redeliver {
                queue,
                seq: existing.log_seq,
                hash: existing.log_hash.clone(),
            };
        }
        return refuse(
            RejectCode::DuplicateMessageId,
            duplicate_detail(same, Some(existing)),
        );
    }
    Verdict::Accept { queue, reply_queue }
}

fn duplicate_detail(same: bool, existing: Option<&Known>) -> String {
    let what = if same {
        "this message was already accepted"
    } else {
        "another message with this id was already accepted"
    };
    match existing {
        Some(k) => format!(
            "{what} (log row {}, status {}); it is not delivered again",
            k.log_seq,
            k.status.as_str_name()
        ),
        None => format!("{what} in the same batch; it is not delivered again"),
    }
}

fn remaining(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Duration> {
    expires_at.map(|at| (at - now).to_std().unwrap_or(Duration::from_millis(1)))
}

fn accepted_entry(p: &Passed, raw: &[u8]) -> LogEntry {
    let h = &p.opened.header;
    LogEntry {
        message_id: Some(p.message_id),
        kind: p.kind as i16,
        sender: h.sender.clone(),
        receiver: h.receiver.clone(),
        service: h.service.clone(),
        conversation_id: h.conversation_id.clone(),
        correlation_id: h.correlation_id.clone(),
        verdict: log::ACCEPTED.to_owned(),
        detail: String::new(),
        envelope: raw.to_vec(),
    }
}

fn refusal_entry(refusal: &Refusal, opened: Option<&envelope::Opened>, raw: &[u8]) -> LogEntry {
    let header = opened.map(|o| o.header.clone()).unwrap_or_default();
    LogEntry {
        message_id: header.message_id.parse().ok(),
        kind: header.kind as i16,
        sender: header.sender,
        receiver: header.receiver,
        service: header.service,
        conversation_id: header.conversation_id,
        correlation_id: header.correlation_id,
        verdict: refusal.code.as_str().to_owned(),
        detail: refusal.detail.clone(),
        envelope: raw.to_vec(),
    }
}

fn expired_change(id: uuid::Uuid, at: DateTime<Utc>, detail: &str) -> Change {
    Change {
        message_id: id,
        status: DeliveryStatus::Expired,
        at,
        code: RejectCode::MessageExpired.as_str().to_owned(),
        detail: detail.to_owned(),
        attempt: 1,
        reported_by: None,
    }
}

/// What an answer says of its request: processed, or refused by the
/// receiver with its code (KIND_REJECT carries a Rejection).
fn answered_change(p: &Passed, request: uuid::Uuid, now: DateTime<Utc>) -> Change {
    let (status, code, detail) = match p.kind {
        Kind::Reject => match p.opened.decode::<Rejection>() {
            Ok(r) => (DeliveryStatus::Rejected, r.code, r.message),
            Err(_) => (
                DeliveryStatus::Rejected,
                "rejected".to_owned(),
                "the receiver refused it (its rejection does not decode)".to_owned(),
            ),
        },
        _ => (DeliveryStatus::Processed, String::new(), String::new()),
    };
    Change {
        message_id: request,
        status,
        at: now,
        code,
        detail,
        attempt: 1,
        reported_by: Some(p.sender.to_string()),
    }
}

/// A receiver's receipts, as status changes only it may make.
fn receipt_changes(p: &Passed) -> Vec<Change> {
    let Ok(receipts) = p.opened.decode::<Receipts>() else {
        tracing::warn!(sender = %p.sender, "A receipt whose payload does not decode; ignored.");
        return Vec::new();
    };
    receipts
        .receipts
        .into_iter()
        .filter_map(|r| {
            let status = DeliveryStatus::try_from(r.status).ok()?;
            if matches!(status, DeliveryStatus::Unspecified | DeliveryStatus::Queued) {
                return None;
            }
            Some(Change {
                message_id: r.message_id.parse().ok()?,
                status,
                at: r
                    .at
                    .as_ref()
                    .and_then(envelope::from_timestamp)
                    .unwrap_or_else(Utc::now),
                code: r.code,
                detail: r.detail,
                attempt: r.attempt.max(1) as i32,
                reported_by: Some(p.sender.to_string()),
            })
        })
        .collect()
}

pub(crate) fn status_change(
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

/// Tells the claimed sender why its message was refused: on a waiting
/// caller's reply queue, or in its inbox.
fn notify_refusal(
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

/// After the commit: countersign and publish what was accepted, pipelining
/// the confirms, then acknowledge or answer each message.
async fn deliver(gateway: &Arc<Gateway>, batch: Vec<Item>, decisions: Vec<Decision>) {
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
                let seq = logged.seq;
                let confirm = publish_stamped(
                    gateway,
                    session.as_deref(),
                    &admission,
                    &p,
                    &queue,
                    expiration,
                    logged.logged_at,
                    seq,
                    &logged.hash,
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
                let confirm = publish_stamped(
                    gateway,
                    session.as_deref(),
                    &admission,
                    &p,
                    &queue,
                    expiration,
                    Utc::now(),
                    seq,
                    &hash,
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
            Ok(confirm) => publisher::finish(&queue, confirm)
                .await
                .map_err(|e| e.to_string()),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                gateway
                    .metrics
                    .delivered
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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

#[allow(clippy::too_many_arguments)]
async fn publish_stamped(
    gateway: &Gateway,
    session: Option<&egov_bus::connection::Session>,
    admission: &Admission,
    p: &Passed,
    queue: &str,
    expiration: Option<Duration>,
    accepted_at: DateTime<Utc>,
    seq: i64,
    log_hash: &[u8],
) -> Result<lapin::PublisherConfirm, String> {
    let Some(session) = session else {
        return Err("no broker connection".into());
    };
    let mut stamped = p.opened.envelope.clone();
    envelope::stamp(
        &gateway.identity,
        &mut stamped,
        &p.opened.header.message_id,
        accepted_at,
        seq as u64,
        log_hash,
    );
    let properties = admission
        .span
        .in_scope(|| amqp::properties(&p.opened.header, expiration, admission.origin.attempt()));
    session
        .publisher
        .start(queue, &stamped.encode_to_vec(), properties)
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
            .publish(&queue, &admission.raw, properties)
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
