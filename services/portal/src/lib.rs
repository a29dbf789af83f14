//! The e-government portal (ЭҮП / ПЭП, egov.kz): where a citizen meets the
//! mesh. Diagram 2 of seed 001 §11 (and seeds 000, 002 Rules p.7-10, 003
//! §11, 004) from the portal's side: registration by IIN checked in ЖТ МДБ
//! (pre-step), login by IIN and password or by EDS (process 1, condition 1,
//! process 2), the catalogue and the application validated against its
//! regulation (process 3), the citizen's EDS checked (condition 2, process
//! 4), the signed application stored and sent to the provider's workstation
//! through the gateway in one transaction (process 5), and the personal
//! cabinet with statuses, notifications and the signed result (processes
//! 6-8 as the citizen sees them).
//!
//! # Layout
//! - [`startup`]: `Application::build` / `run_until_stopped` on the runner;
//! - [`accounts`]: registration, login, lockout, EDS login, sessions;
//! - [`application`]: the catalogue, preparing, checking and submitting;
//! - [`cabinet`]: the inbox (statuses, results, refusals) and the views;
//! - [`api`]: the gRPC API; [`error`]: the refusal codes;
//! - [`portal`]: shared state; [`settings`].

pub mod accounts;
pub mod api;
pub mod application;
pub mod cabinet;
pub mod error;
pub mod portal;
pub mod settings;
pub mod startup;

pub use settings::Settings;
pub use startup::Application;
