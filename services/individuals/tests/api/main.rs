//! The individuals registry (ЖТ МДБ) through the real gateway, RabbitMQ and
//! PostgreSQL: each test starts its own mesh (egov-testkit: a database, a
//! broker namespace, a CA), the gateway and the registry in-process from the
//! same settings an operator gives, seeds a few known people through the
//! registry's storage, and calls it from another system's bus, signed, as
//! the State Corporation would (diagram 1, process 3).

mod faults;
mod helpers;
mod lookup;
mod metrics;
mod service;
