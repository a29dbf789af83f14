//! The State Corporation's intake (МК ЫАЖ / ХҚО ЫАЖ): where a recipient
//! meets the mesh at the counter. Diagram 1 of seed 001 §9 (and seed 004
//! services 1-4 and 6, ¶9) with the State Corporation rules of seeds 002
//! (Rules p.4-11, Standard rows 7-9, App. 3) and 003 (§9-10): the
//! operator's login (process 1), the request form (process 2), the
//! recipient's consent by a one-time code (seed 002 Rules p.9), the
//! look-ups in ЖТ МДБ and БНАЖ (process 3, condition 1, process 4), the
//! refusal or acceptance receipt signed with the operator's EDS, the
//! request signed with the operator's EDS and sent to the provider's
//! workstation through the gateway in one transaction (processes 5-6), and
//! the result handed over on identity or to a representative (process 9).
//!
//! # Layout
//! - [`startup`]: `Application::build` / `run_until_stopped` on the runner;
//! - [`operators`]: enrolment from settings, login, lockout, sessions;
//! - [`request`]: the request form and the consent code;
//! - [`registries`]: the look-ups through the gateway;
//! - [`receipt`]: the receipts and the sending;
//! - [`inbox`]: statuses and results from the workstation;
//! - [`issue`]: handing the result over; [`storage`]: unclaimed results
//!   kept one calendar month, returned to the provider, asked for again;
//!   [`views`]: what the API shows;
//! - [`paper`]: the paper documents' way to the provider (accumulation
//!   sector, courier); [`queue`]: the electronic queue;
//! - [`api`]: the gRPC API; [`error`]: the refusal codes;
//! - [`intake`]: shared state; [`settings`].

pub mod api;
pub mod error;
pub mod inbox;
pub mod intake;
pub mod issue;
pub mod operators;
pub mod paper;
pub mod queue;
pub mod receipt;
pub mod registries;
pub mod request;
pub mod settings;
pub mod startup;
pub mod storage;
pub mod views;

pub use settings::Settings;
pub use startup::Application;
