//! The client side of the e-government gateway (ЭҮШ), linked by every system.
//!
//! A system publishes signed envelopes to the gateway's ingress with
//! publisher confirms and `mandatory`; consumes its own inbox, acknowledging
//! a delivery only after its handler's transaction has committed; handles
//! each message id once; makes synchronous calls with a deadline, whose
//! answers carry the hash of the request's signed bytes; and reconnects with
//! backoff through the same code path as the first connect. Every queue name
//! is under a configurable namespace.
//!
//! # Layout
//! - [`client`]: [`Bus`] — send, call, statuses, enqueue, shutdown, and the
//!   reply queue that brings answers to calls;
//! - [`handler`]: the [`Handler`] trait a system implements and what it is
//!   given;
//! - [`inbox`]: consuming the inbox, the handler's transaction, retries,
//!   dead letters, receipts about incoming messages;
//! - `relay`: receipts and the outbox, sent after commits;
//! - `state`: what the handle, consumers and relay share (depends on none
//!   of them); `calls`: calls waiting for answers; `receipts`: receipt
//!   entries, the in-memory queue and the durable store; `outbox`;
//! - [`envelope`]: building, signing, opening, stamping and checking envelopes;
//! - [`connection`] and [`publisher`]: the supervised connection and
//!   confirmed publishing, shared with the gateway;
//! - [`names`] and [`topology`]: queue names and declarations;
//!   [`permissions`]: each system's broker user, allowed only that;
//! - [`amqp`]: message properties (persistence, trace context, attempts);
//! - [`settings`] and [`error`].

pub mod amqp;
mod calls;
pub mod client;
pub mod connection;
pub mod envelope;
pub mod error;
pub mod handler;
pub mod inbox;
mod metrics;
pub mod names;
mod outbox;
pub mod permissions;
pub mod publisher;
mod receipts;
mod relay;
pub mod service;
mod service_settings;
pub mod settings;
mod state;
pub mod topology;

pub use client::{Bus, Reply};
pub use envelope::{Opened, Outgoing};
pub use error::{BusError, CallError};
pub use inbox::{Context, Handler, HandlerError, Inbox, Incoming, Outcome};
pub use names::Names;
pub use service::BusService;
pub use settings::BusSettings;

/// For `service_settings!`: the runtime types the common block names.
#[doc(hidden)]
pub use egov_runtime as __runtime;
