//! A registry's inbox: one look-up service answered synchronously through
//! the gateway. Both registries run the same steps, in this order:
//!
//! 1. the fault gate ([`admit`]), before the message's transaction, so a
//!    simulated latency holds no database connection: `slow` (and `flaky`'s
//!    slow share) waits there, `error` answers `registry_failure`, `flaky`'s
//!    silent share and a message caught in the switch to `down` get no
//!    answer;
//! 2. the request is read ([`request`]): another service is refused
//!    `unknown_service`, a payload that does not decode `bad_request`;
//! 3. the registry's own rule ([`Lookup::answer`]) answers on the inbox
//!    transaction's connection: its answer as a KIND_RESPONSE, or a
//!    [`Refusal`] with its stable code as a KIND_REJECT.
//!
//! [`LookupHandler`] does 1, 2 and the replies; each registry writes 3.

use crate::fault::{FaultAction, FaultSwitch};
use crate::metrics::RegistryMetrics;
use crate::refusal::{self, Refusal};
use egov_bus::{Context, Handler, HandlerError, Incoming, Outcome};
use egov_proto::prost::Message;
use egov_runtime::refusal::Code as _;
use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use std::sync::Arc;

/// One registry's look-up rule, run by [`LookupHandler`] for each message
/// of its inbox.
pub trait Lookup: Send + Sync + 'static {
    /// The service answered (from `egov_proto::services`).
    const SERVICE: &'static str;
    /// The request message's full name (e.g.
    /// "egov.individuals.v1.PersonByIinRequest"), for `bad_request`.
    const REQUEST_NAME: &'static str;
    type Request: Message + Default + Send + Sync;
    type Answer: Message;

    /// Answers one request on the inbox transaction's connection. `message`
    /// gives the envelope header (a consent reference, say).
    fn answer<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        request: &'a Self::Request,
        message: &'a Incoming,
    ) -> BoxFuture<'a, Result<Self::Answer, Refusal>>;
}

/// The inbox handler of a registry: fault gate, decode, look-up, reply.
pub struct LookupHandler<L> {
    fault: Arc<FaultSwitch>,
    lookup: L,
    metrics: RegistryMetrics,
}

impl<L: Lookup> LookupHandler<L> {
    pub fn new(fault: Arc<FaultSwitch>, lookup: L) -> LookupHandler<L> {
        LookupHandler {
            fault,
            lookup,
            metrics: RegistryMetrics::default(),
        }
    }

    /// Its metrics (handles sharing the counts), to register.
    pub fn metrics(&self) -> &RegistryMetrics {
        &self.metrics
    }
}

impl<L: Lookup> Handler for LookupHandler<L> {
    fn admit<'a>(
        &'a self,
        message: &'a Incoming,
    ) -> BoxFuture<'a, Result<Option<Outcome>, HandlerError>> {
        Box::pin(async move {
            let admitted = admit(&self.fault, message).await;
            let mode = self.fault.get();
            match &admitted {
                Ok(Some(Outcome::Reject(rejection))) => self.metrics.lookup(&rejection.code, mode),
                Ok(Some(_)) | Err(_) => self.metrics.lookup("no_answer", mode),
                Ok(None) => {}
            }
            admitted
        })
    }

    fn handle<'a>(
        &'a self,
        message: &'a Incoming,
        ctx: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            let mode = self.fault.get();
            let request = match request::<L::Request>(message, L::SERVICE, L::REQUEST_NAME) {
                Ok(request) => request,
                Err(refusal) => {
                    self.metrics.lookup(refusal.code.as_str(), mode);
                    return Ok(Outcome::Reject(refusal.to_rejection()));
                }
            };
            Ok(
                match self.lookup.answer(&mut *ctx.db, &request, message).await {
                    Ok(answer) => {
                        self.metrics.lookup("answered", mode);
                        Outcome::Reply(answer.encode_to_vec())
                    }
                    Err(refusal) => {
                        tracing::info!(code = refusal.code.as_str(), "Look-up refused.");
                        self.metrics.lookup(refusal.code.as_str(), mode);
                        Outcome::Reject(refusal.to_rejection())
                    }
                },
            )
        })
    }
}

/// The fault gate, called from [`Handler::admit`] before the message's
/// transaction: `None` lets the message
/// through to the look-up; `Some` settles it first.
///
/// - `Proceed`: the latency of `slow` (or `flaky`) has been slept; go on.
/// - `Fail`: a KIND_REJECT with `registry_failure`, the technical failure a
///   caller must be ready for.
/// - `NoAnswer`: a synchronous request gets no answer, so its caller's
///   deadline passes (`Outcome::Done`); an asynchronous message is not lost
///   but handed back as a transient failure, retried after the bus's delays.
pub async fn admit(
    fault: &FaultSwitch,
    message: &Incoming,
) -> Result<Option<Outcome>, HandlerError> {
    match fault.before_request().await {
        FaultAction::Proceed { .. } => Ok(None),
        FaultAction::Fail => Ok(Some(Outcome::Reject(
            refusal::registry_failure().to_rejection(),
        ))),
        FaultAction::NoAnswer if !message.opened.header.reply_to.is_empty() => {
            tracing::info!(
                message_id = message.message_id(),
                mode = %fault.get(),
                "Fault mode: leaving the request unanswered."
            );
            Ok(Some(Outcome::Done))
        }
        FaultAction::NoAnswer => Err(HandlerError::Transient(anyhow::anyhow!(
            "the registry is down (fault mode {})",
            fault.get()
        ))),
    }
}

/// The request of `service`, decoded, or the refusal to answer a message
/// that names another service or does not decode.
pub fn request<M: Message + Default>(
    message: &Incoming,
    service: &str,
    message_name: &str,
) -> Result<M, Refusal> {
    if message.service() != service {
        return Err(refusal::unknown_service(message.service(), service));
    }
    message
        .decode::<M>()
        .map_err(|error| refusal::bad_request(message_name, error))
}

/// The consent reference of the envelope header; empty means none.
pub fn consent_reference(message: &Incoming) -> Option<&str> {
    Some(message.opened.header.consent_reference.as_str()).filter(|c| !c.is_empty())
}
