//! БНАЖ (ЕНИС), the unified notarial information system: notarised powers
//! of attorney — who may act for whom, for which services, until when,
//! revoked or not — answered by number and representative (DESIGN.md,
//! system `notary`).
//!
//! This crate is the registry's library: its storage, its look-up rules,
//! its settings and the powers of attorney of the synthetic population. It
//! links `egov-individuals` for what the two registries share: the fault
//! switch (re-exported as [`fault`]), the refusal codes ([`refusal`]), the
//! seeded generator and the population the principals and representatives
//! come from, and the registry server (admin API, health, reflection, the
//! bus serving the inbox) both registries run (binary `egov-notary`).
//!
//! # Layout
//! - [`startup`]: `Application::build` / `run_until_stopped`;
//! - [`handler`]: the inbox: fault gate, then the look-up;
//! - [`lookup`]: "power-of-attorney": valid, expired, revoked, not found, out of scope;
//! - [`storage`]: migrations, idempotent batched writes, the read by number;
//! - [`model`]: a power of attorney as a Rust value, its status on a date;
//! - [`population`]: powers of attorney drawn from a population batch;
//! - [`settings`]: the registry's settings.

pub mod handler;
pub mod lookup;
pub mod model;
pub mod population;
pub mod settings;
pub mod startup;
pub mod storage;

pub use egov_individuals::{fault, refusal};

/// The registry's system id (certificates, queues, logs).
pub const SYSTEM: &str = "notary";
