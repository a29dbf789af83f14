//! The whole mesh under test (issue 12, point 1): every system — the
//! gateway, ЖТ МДБ, БНАЖ, the provider's workstation, the portal, the State
//! Corporation's intake and the CA's revocation list distribution point —
//! runs as its own OS process from the built binaries, on the real RabbitMQ
//! and PostgreSQL, and whole applications are driven through the public
//! APIs only: the portal's and the intake's gRPC, the workstation's
//! employees' API, the registries' admin API, the gateway's API, `egovctl`.
//!
//! Each test starts a mesh of its own (`mesh::Mesh`: a fresh database, broker
//! namespace and CA), so tests run in parallel. Tests read as the
//! regulations: one per path of each diagram. See docs/testing.md.
//!
//! The binaries come from the cargo target directory: run
//! `cargo build --workspace --bins` first (`make test` does).

mod chaos;
mod citizen;
mod corpus;
mod counter;
mod diagram1;
mod diagram2;
mod every_diagram;
mod gateway_crash;
mod least_privilege;
mod make_run;
mod mesh;
mod one_trace;
mod operator_cli;
mod otlp;
mod personal_data;
mod process;
mod provider;
mod registry_down;
mod tls;
mod trace_page;
mod two_gateways;
mod walks;
