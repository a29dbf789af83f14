//! What a system plugs into its inbox: the [`Handler`] of its business
//! logic, the [`Incoming`] message it is given, and what it comes to.

use crate::envelope::{Opened, Outgoing};
use egov_proto::envelope::{GatewayStamp, Kind, Rejection};
use egov_proto::prost::Message;
use egov_trust::SystemId;
use futures_util::future::BoxFuture;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;

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
