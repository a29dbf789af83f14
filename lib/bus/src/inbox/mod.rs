//! Consuming a system's inbox: verify the gateway's stamp, skip what was
//! already processed, run the handler inside a database transaction, and only
//! after the commit publish the answer, acknowledge the delivery and report
//! the receipt. A handler that fails is retried after growing delays, then
//! dead-lettered; every step is reported to the gateway.
//!
//! - this module: the consumer (pausing when told to, stopping at shutdown);
//! - `process`: one delivery, the handler's transaction, the answer;
//! - `failures`: retry and dead letters;
//! - `report`: receipts about incoming messages.

mod failures;
mod process;
mod report;

pub use crate::handler::{Context, Handler, HandlerError, Inbox, Incoming, Outcome};

use crate::connection::{OnConnect, Session};
use crate::state::Shared;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Consumes the inbox, pausing when told to and stopping at shutdown.
pub(crate) struct InboxHook {
    pub(crate) shared: Arc<Shared>,
    pub(crate) inbox: Inbox,
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
                            tracker.spawn(async move { process::process(&shared, &inbox, delivery).await });
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
                        tracker.spawn(async move { process::process(&shared, &inbox, delivery).await });
                    }
                    Some(Err(error)) => return Err(error),
                    None => return Ok(()),
                }
            }
        }
    }
}
