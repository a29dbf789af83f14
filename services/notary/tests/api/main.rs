//! The notary system (БНАЖ) through the real gateway, RabbitMQ and
//! PostgreSQL: each test starts its own mesh (egov-testkit), the gateway
//! and the registry in-process from the settings an operator gives, seeds
//! known powers of attorney through the registry's storage, and asks as the
//! State Corporation does (seed 001 §9 diagram 1, processes 2-3 and
//! condition 1).

mod answers;
mod faults;
mod helpers;
mod metrics;
mod service;
mod tls;
