//! The e-government gateway (ЭҮШ): the only path between the systems of the
//! mesh. It verifies every signed envelope (signature, certificate chain,
//! validity, revocation, sender, route, expiry, duplicates), appends it to a
//! hash-chained message log, countersigns it, delivers it to the receiver's
//! queue and only then acknowledges it; it retries and dead-letters failed
//! deliveries and tells senders how their messages fare.
//!
//! # Layout
//! - [`startup`]: `Application::build` / `run_until_stopped`;
//! - [`ingress`]: the queues it declares and consumes;
//! - [`pipeline`]: verify → log → deliver → acknowledge;
//! - [`verify`]: the ordered checks and the rejection codes;
//! - [`log`]: the append-only, hash-chained message log;
//! - [`archive`]: its rows moved into signed archive files, evidence of a
//!   conversation, both verified offline;
//! - [`batch`]: one batch written in one atomic statement;
//! - [`store`]: delivery statuses, GetStatus and Trace;
//! - [`notify`]: status messages to senders;
//! - [`routes`]: the routing table (gateway/routes.toml);
//! - [`api`]: the gRPC API;
//! - [`gateway`]: shared state; [`bridge`]: answers to gRPC Calls;
//!   [`metrics`]: counters;
//! - [`settings`].

pub mod api;
pub mod archive;
pub mod batch;
pub mod bridge;
pub mod gateway;
pub mod ingress;
pub mod log;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod receive;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod store;
pub mod verify;

pub use settings::Settings;
pub use startup::Application;
