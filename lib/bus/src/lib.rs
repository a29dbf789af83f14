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
//! - [`client`]: [`Bus`] — send, call, statuses, inbox, outbox, shutdown;
//! - [`inbox`]: the [`Handler`] trait and how a delivery is processed;
//! - [`envelope`]: building, signing, opening, stamping and checking envelopes;
//! - [`connection`] and [`publisher`]: the supervised connection and
//!   confirmed publishing, shared with the gateway;
//! - [`names`] and [`topology`]: queue names and declarations;
//! - [`amqp`]: message properties (persistence, trace context, attempts);
//! - `relay`: receipts and the outbox, sent after commits;
//! - [`settings`] and [`error`].

pub mod amqp;
pub mod client;
pub mod connection;
pub mod envelope;
pub mod error;
pub mod inbox;
pub mod names;
pub mod publisher;
mod relay;
pub mod settings;
pub mod topology;

pub use client::{Bus, Reply};
pub use envelope::{Opened, Outgoing};
pub use error::{BusError, CallError};
pub use inbox::{Context, Handler, HandlerError, Inbox, Incoming, Outcome};
pub use names::Names;
pub use settings::BusSettings;
