//! The gateway's counters.

use crate::verify::{Code, RejectCode};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters an operator reads in the periodic log line and at shutdown.
#[derive(Default)]
pub struct Metrics {
    pub accepted: AtomicU64,
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub expired: AtomicU64,
    refused: Mutex<HashMap<&'static str, u64>>,
}

impl Metrics {
    pub fn refused(&self, code: RejectCode) {
        *self
            .refused
            .lock()
            .expect("metrics lock")
            .entry(code.as_str())
            .or_default() += 1;
    }

    pub fn log(&self) {
        let refused = self.refused.lock().expect("metrics lock").clone();
        tracing::info!(
            accepted = self.accepted.load(Ordering::Relaxed),
            delivered = self.delivered.load(Ordering::Relaxed),
            retried = self.retried.load(Ordering::Relaxed),
            dead_lettered = self.dead_lettered.load(Ordering::Relaxed),
            expired = self.expired.load(Ordering::Relaxed),
            refused = ?refused,
            "Gateway counters."
        );
    }
}
