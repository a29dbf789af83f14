//! A message entering the gateway, and what its sender is told.

use crate::verify::{Checked, Refusal};
use lapin::Acker;
use tokio::sync::oneshot;

/// A message entering the gateway.
pub struct Admission {
    /// The envelope's bytes exactly as received.
    pub raw: Vec<u8>,
    pub origin: Origin,
    pub span: tracing::Span,
}

pub enum Origin {
    /// From the ingress queue: acknowledged when done.
    Amqp {
        acker: Acker,
        redelivered: bool,
        /// The gateway's own delivery attempt (1 = first).
        attempt: u32,
    },
    /// From the gRPC API: answered when done. With `bridge`, answers to
    /// this request come back to this gateway instance (gRPC Call).
    Grpc {
        done: oneshot::Sender<Admitted>,
        bridge: bool,
    },
}

impl Origin {
    pub(crate) fn attempt(&self) -> u32 {
        match self {
            Origin::Amqp { attempt, .. } => *attempt,
            Origin::Grpc { .. } => 1,
        }
    }

    pub(crate) fn is_amqp(&self) -> bool {
        matches!(self, Origin::Amqp { .. })
    }

    pub(crate) fn arrival(&self) -> Arrival {
        match self {
            Origin::Amqp {
                redelivered,
                attempt,
                ..
            } => Arrival {
                redelivered: *redelivered,
                attempt: *attempt,
                bridge: false,
            },
            Origin::Grpc { bridge, .. } => Arrival {
                redelivered: false,
                attempt: 1,
                bridge: *bridge,
            },
        }
    }
}

/// How a message came in, as far as the gateway's verdict cares (without
/// the acknowledgement handle or the waiting caller, so the verdict stays a
/// pure function).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    /// The broker delivered it before (a gateway crashed holding it).
    pub redelivered: bool,
    /// The gateway's own delivery attempt (1 = first).
    pub attempt: u32,
    /// A gRPC Call: answers come back to this instance's bridge queue.
    pub bridge: bool,
}

/// What a gRPC sender is told.
#[derive(Debug)]
pub enum Admitted {
    Accepted {
        message_id: String,
        log_sequence: u64,
    },
    Refused(Refusal),
    Unavailable(String),
}

/// A message with the result of the checks that need no database.
pub(crate) type Item = (Admission, Checked);
