//! One module per `egovctl` subcommand.

pub mod broker;
pub mod dead_letters;
pub mod deadline;
pub mod fault;
pub mod gateway;
pub mod intake;
pub mod lookup;
pub mod pki;
pub mod portal;
pub mod regulations;
pub mod run;
pub mod seed;
pub mod serve;
pub mod status;
pub mod trace;
