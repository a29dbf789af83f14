//! The workstation against the real gateway, RabbitMQ and PostgreSQL: each
//! test has its own database, broker namespace and CA (egov-testkit), a
//! gateway and a workstation in-process, and test systems standing in for
//! the portal and the State Corporation.

mod autopilot;
mod crash;
mod deadlines;
mod errors;
mod helpers;
mod intake;
mod metrics;
mod office;
mod procedure;
mod service;
