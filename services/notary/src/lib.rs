//! БНАЖ (ЕНИС), the unified notarial information system: notarised powers
//! of attorney — who may act for whom, for which services, until when,
//! revoked or not — answered by number and representative (DESIGN.md,
//! system `notary`).
//!
//! This crate is the registry's model, storage and look-up rule, and its
//! settings, and the service itself (binary `egov-notary`). What both
//! registries share (the fault switch, refusals, the look-up handler, the
//! server with its admin API, health and reflection) is `egov-registry`;
//! the powers of attorney of the synthetic population are
//! `egov_population::powers`.
//!
//! # Layout
//! - [`startup`]: `Application::build` / `run_until_stopped`;
//! - [`handler`]: the inbox's look-up, run behind the shared fault gate;
//! - [`lookup`]: "power-of-attorney": valid, expired, revoked, not found, out of scope;
//! - [`storage`]: migrations, idempotent batched writes, the read by number;
//! - [`model`]: a power of attorney's status on a date and its contract form;
//! - [`settings`]: the registry's settings.

pub mod handler;
pub mod lookup;
pub mod model;
pub mod settings;
pub mod startup;
pub mod storage;

/// The registry's system id (certificates, queues, logs).
pub const SYSTEM: &str = "notary";

pub use settings::Settings;
pub use startup::Application;
