//! The log writer: takes whatever has been verified as one batch, decides
//! each message against the record, and writes the batch (log rows,
//! statuses, status changes, chain head) in one statement, retrying while
//! the database is away. Delivery of a written batch runs on meanwhile.

use super::admission::{Admission, Admitted, Item, Origin};
use super::decide::{Addresses, OnRecord, Verdict, decide};
use super::deliver::{Decision, deliver};
use super::notices::{notify_queued, notify_refusal};
use super::records::{
    accepted_entry, answered_change, expired_change, new_status, receipt_changes, refusal_entry,
};
use crate::gateway::Gateway;
use crate::log::{self, LogEntry};
use crate::store::{self, Change, NewStatus};
use crate::verify::{Checked, Refusal, RejectCode};
use chrono::{DateTime, Utc};
use egov_proto::envelope::Kind;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

/// Takes whatever has been verified (up to `batch_max`) as one batch: the
/// busier the gateway, the bigger the batches, and no waiting when idle.
pub(super) async fn write_stage(gateway: Arc<Gateway>, mut input: mpsc::Receiver<Item>) {
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
        gateway.metrics.log_batch_size.observe(batch.len() as f64);
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

/// The ids on record that the batch refers to: its messages, the requests
/// its answers answer, and expired messages that may have been accepted.
fn referenced_ids(batch: &[Item]) -> Vec<uuid::Uuid> {
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
    ids
}

/// One batch: what is already on record, then one atomic statement.
async fn write_batch(
    gateway: &Gateway,
    batch: &[Item],
    head: &mut Option<log::Head>,
    retrying: bool,
) -> Result<Vec<Decision>, sqlx::Error> {
    let now = Utc::now();

    // Everything already on record that this batch refers to.
    let ids = referenced_ids(batch);
    let known = store::known(&gateway.pool, &ids).await?;
    tracing::debug!(ids = ids.len(), "Looked up what the batch refers to.");
    let addresses = Addresses {
        names: &gateway.names,
        bridge_queue: gateway.bridge.queue(),
    };

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
                let record = OnRecord {
                    known: &known,
                    accepted_here: &accepted_here,
                    rewriting: retrying,
                };
                match decide(p, admission.origin.arrival(), &record, &addresses) {
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
                        statuses.push(new_status(p, reply_queue.clone()));
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

    let started = std::time::Instant::now();
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
    gateway
        .metrics
        .log_write_seconds
        .observe(started.elapsed().as_secs_f64());
    let (logged, applied) = (written.logged, written.applied);
    for (pending, (_, checked)) in pending.iter().zip(batch) {
        if let (Pending::Deliver { .. } | Pending::Receipt(Receipt::New(_)), Checked::Passed(p)) =
            (pending, checked)
        {
            gateway
                .metrics
                .accepted(p.sender, p.receiver, &p.opened.header.service);
        }
    }

    // Tell senders what changed: queued messages, refusals, applied receipts.
    for index in queued_notices {
        if let (_, Checked::Passed(p)) = &batch[index] {
            notify_queued(gateway, p, now);
        }
    }
    for (admission, checked) in batch {
        if let Checked::Refused(refusal, Some(opened)) = checked
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

fn remaining(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Duration> {
    expires_at.map(|at| (at - now).to_std().unwrap_or(Duration::from_millis(1)))
}
