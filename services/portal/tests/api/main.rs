//! The portal against the real gateway, ЖТ МДБ and the workstation, on the
//! real RabbitMQ and PostgreSQL: each test has its own database, broker
//! namespace and CA.

mod bad_input;
mod crash;
mod diagram2;
mod helpers;
mod limits;
mod metrics;
mod operations;
