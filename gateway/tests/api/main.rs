//! The gateway against the real RabbitMQ and PostgreSQL: each test has its
//! own database, broker namespace and CA (egov-testkit), so they run in
//! parallel and leave nothing behind.

mod archive;
mod crash;
mod delivery;
mod errors;
mod helpers;
mod limits;
mod log;
mod metrics;
mod operations;
mod promises;
mod quorum;
mod reads;
mod receive;
mod reconnect;
mod rejections;
mod statuses;
mod sync;
mod tls;
