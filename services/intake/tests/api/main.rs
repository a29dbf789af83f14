//! The intake against the real gateway, ЖТ МДБ, БНАЖ and the workstation,
//! on the real RabbitMQ and PostgreSQL: each test has its own database,
//! broker namespace and CA.

pub mod counter;
mod crash;
mod diagram1;
mod helpers;
mod metrics;
mod operations;
mod paper;
mod queue;
mod representatives;
mod storage;
