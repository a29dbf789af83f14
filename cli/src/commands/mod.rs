//! One module per `egovctl` subcommand.

pub mod deadline;
pub mod regulations;
pub mod seed;
