//! ЖТ МДБ (ГБД ФЛ), the state database of individuals: person records by
//! IIN with their family links, care arrangements and adoption candidacy,
//! answered only with the subject's consent or an accepted legal basis
//! (DESIGN.md, system `individuals`).
//!
//! This crate is the registry's library: its storage, its look-up rules, its
//! settings, and the parts both registries share (the notary crate links
//! this one for them rather than a third crate): the fault switch, the
//! refusal codes, the seeded generator, and the synthetic population the
//! notary's powers of attorney are drawn from; and the service itself: the
//! inbox handler answering look-ups through the gateway, and the server with
//! its admin API, health and reflection (binary `egov-individuals`).
//!
//! # Layout
//! - [`startup`]: `Application::build` / `run_until_stopped`;
//! - [`handler`]: the inbox: fault gate, then the look-up;
//! - [`lookup`]: "person-by-iin": IIN, then consent, then the record;
//! - [`storage`]: migrations, idempotent batched writes, the person read;
//! - [`model`]: the records as Rust values and their contract form;
//! - [`population`]: the deterministic synthetic population and its cases;
//! - [`settings`]: the registry's settings;
//! - shared with the notary: [`fault`] (outages on demand), [`registry`]
//!   (the fault gate, the admin API, the server), [`refusal`] (stable
//!   refusal codes), [`rng`] (the seeded generator).

pub mod fault;
pub mod handler;
pub mod lookup;
pub mod model;
pub mod population;
pub mod refusal;
pub mod registry;
pub mod rng;
pub mod settings;
pub mod startup;
pub mod storage;

/// The registry's system id (certificates, queues, logs).
pub const SYSTEM: &str = "individuals";
