//! A delivery that is not simply acknowledged: a handler's failure is
//! retried after growing delays (a queue per delay), then dead-lettered;
//! what cannot even be verified is dead-lettered at once.

use super::report::durable_receipt;
use crate::amqp;
use crate::handler::{HandlerError, Inbox, Incoming};
use crate::state::Shared;
use egov_proto::envelope::DeliveryStatus;
use lapin::BasicProperties;
use lapin::message::Delivery;
use std::time::Duration;

/// What becomes of a message whose handler failed.
#[derive(Debug, PartialEq)]
pub(super) enum NextStep {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Park it in the system's dead letters, reported with this code.
    DeadLetter { code: &'static str },
}

/// A transient failure is retried after the delay for its attempt, and
/// dead-lettered after the last; a permanent one is dead-lettered at once.
pub(super) fn next_step(error: &HandlerError, attempt: u32, delays: &[Duration]) -> NextStep {
    match error {
        HandlerError::Transient(_) => match delays.get(attempt as usize - 1) {
            Some(delay) => NextStep::RetryAfter(*delay),
            None => NextStep::DeadLetter {
                code: "retries_exhausted",
            },
        },
        HandlerError::Permanent(_) => NextStep::DeadLetter {
            code: "handler_refused",
        },
    }
}

/// Hands a failed message on (retry queue or dead letters) and records the
/// receipt; true once it is safely elsewhere and may be acknowledged. If it
/// could not be handed on, the delivery stays unacknowledged and the broker
/// redelivers it.
pub(super) async fn hand_on_failure(
    shared: &Shared,
    inbox: &Inbox,
    delivery: &Delivery,
    incoming: &Incoming,
    error: HandlerError,
) -> bool {
    let attempt = incoming.attempt;
    let step = next_step(&error, attempt, &shared.settings.retry_delays);
    let reason = match &error {
        HandlerError::Transient(error) | HandlerError::Permanent(error) => format!("{error:#}"),
    };
    match step {
        NextStep::RetryAfter(delay) => {
            tracing::warn!(error = %reason, attempt, ?delay, "The handler failed; retrying later.");
            if !retry_later(shared, delivery, incoming, delay).await {
                return false;
            }
            durable_receipt(
                shared,
                inbox,
                incoming,
                DeliveryStatus::Retrying,
                "handler_failed",
                &reason,
            )
            .await;
        }
        NextStep::DeadLetter { code } => {
            match error {
                HandlerError::Transient(_) => {
                    tracing::error!(error = %reason, attempt, "The handler failed on the last attempt; dead-lettering.")
                }
                HandlerError::Permanent(_) => {
                    tracing::error!(error = %reason, "The handler cannot process this message; dead-lettering.")
                }
            }
            if !dead_letter(shared, delivery, incoming, &reason).await {
                return false;
            }
            durable_receipt(
                shared,
                inbox,
                incoming,
                DeliveryStatus::DeadLettered,
                code,
                &reason,
            )
            .await;
        }
    }
    true
}

/// Moves a failed message to the retry queue for `delay`; true if done.
async fn retry_later(
    shared: &Shared,
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
    let system = shared.identity.system;
    let to = shared.names.own(system, shared.names.retry(system, delay));
    match shared.publish_to(&to, &delivery.data, properties).await {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%error, %to, "Could not schedule the retry.");
            false
        }
    }
}

/// Parks a message in this system's dead-letter queue; true if done.
async fn dead_letter(
    shared: &Shared,
    delivery: &Delivery,
    incoming: &Incoming,
    reason: &str,
) -> bool {
    let properties = amqp::with_attempt(&delivery.properties, incoming.attempt, None, Some(reason));
    park(shared, delivery, properties).await
}

/// Parks a message that could not even be verified.
pub(super) async fn dead_letter_raw(shared: &Shared, delivery: &Delivery, reason: &str) {
    let properties = amqp::with_attempt(
        &delivery.properties,
        amqp::attempt(&delivery.properties),
        None,
        Some(reason),
    );
    park(shared, delivery, properties).await;
}

async fn park(shared: &Shared, delivery: &Delivery, properties: BasicProperties) -> bool {
    let system = shared.identity.system;
    let to = shared.names.own(system, shared.names.dead(system));
    match shared.publish_to(&to, &delivery.data, properties).await {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%error, %to, "Could not dead-letter the message.");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> HandlerError {
        HandlerError::Transient(anyhow::anyhow!("the registry is down"))
    }

    const DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

    #[test]
    fn a_transient_failure_is_retried_after_the_delay_for_its_attempt() {
        assert_eq!(
            next_step(&transient(), 1, &DELAYS),
            NextStep::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            next_step(&transient(), 2, &DELAYS),
            NextStep::RetryAfter(Duration::from_secs(5))
        );
    }

    #[test]
    fn a_transient_failure_after_the_last_delay_is_dead_lettered() {
        assert_eq!(
            next_step(&transient(), 3, &DELAYS),
            NextStep::DeadLetter {
                code: "retries_exhausted"
            }
        );
        assert_eq!(
            next_step(&transient(), 1, &[]),
            NextStep::DeadLetter {
                code: "retries_exhausted"
            }
        );
    }

    #[test]
    fn a_permanent_failure_is_dead_lettered_at_once() {
        let permanent = HandlerError::Permanent(anyhow::anyhow!("not a form"));
        assert_eq!(
            next_step(&permanent, 1, &DELAYS),
            NextStep::DeadLetter {
                code: "handler_refused"
            }
        );
    }
}
