//! ЖТ МДБ (ГБД ФЛ), the state database of individuals: person records by
//! IIN with their family links, care arrangements and adoption candidacy,
//! answered only with the subject's consent or an accepted legal basis
//! (DESIGN.md, system `individuals`).
//!
//! This crate is the registry's model, storage and look-up rule, its
//! settings, and the service itself: the inbox answering look-ups through
//! the gateway and the server with its admin API, health and reflection
//! (binary `egov-individuals`). What both registries share (the fault
//! switch, refusals, the look-up handler, the server) is `egov-registry`;
//! the synthetic population its rows come from is `egov-population`.
//!
//! # Layout
//! - [`startup`]: `Application::build` / `run_until_stopped`;
//! - [`handler`]: the inbox's look-up, run behind the shared fault gate;
//! - [`lookup`]: "person-by-iin": IIN, then consent, then the record;
//! - [`storage`]: migrations, idempotent batched writes, the person read;
//! - [`model`]: the records as Rust values and their contract form;
//! - [`settings`]: the registry's settings.

pub mod handler;
pub mod lookup;
pub mod model;
pub mod settings;
pub mod startup;
pub mod storage;

/// The registry's system id (certificates, queues, logs).
pub const SYSTEM: &str = "individuals";

pub use settings::Settings;
pub use startup::Application;
