//! The intake's state, shared by its API and its inbox handler.

use crate::settings::Tuning;
use crate::storage::StorageClock;
use egov_bus::Bus;
use egov_calendar::Calendar;
use egov_regulations::Registry;
use egov_trust::{SigningKey, TrustStore};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

pub struct Intake {
    pub pool: sqlx::PgPool,
    pub trust: Arc<TrustStore>,
    pub regulations: Registry,
    pub calendar: Calendar,
    pub tuning: Tuning,
    /// The operators' EDS keys by login (a stand-in for their tokens).
    pub(crate) keys: HashMap<String, Arc<SigningKey>>,
    /// Set once the bus has started (the bus's inbox handler holds the
    /// intake, so the two are built in turn).
    bus: OnceLock<Bus>,
    pub(crate) passwords: egov_accounts::Passwords,
    /// "Now" for the storage of unclaimed results only.
    pub storage_clock: StorageClock,
    /// "Now" for the electronic queue only (the real clock unless a test
    /// fixes it, to call a booking when its time has come).
    pub queue_clock: StorageClock,
    /// "Now" for the counter's acceptances: the receipt's date and time of
    /// acceptance and the date of issue planned from it (the real clock
    /// unless `intake.counter_time` fixes it, as tests do).
    pub counter_clock: StorageClock,
}

impl Intake {
    pub fn new(
        pool: sqlx::PgPool,
        trust: Arc<TrustStore>,
        regulations: Registry,
        calendar: Calendar,
        tuning: Tuning,
        passwords: egov_accounts::Passwords,
    ) -> Intake {
        let storage_clock = StorageClock::new(tuning.storage_time);
        Intake {
            storage_clock,
            queue_clock: StorageClock::new(None),
            counter_clock: StorageClock::new(tuning.counter_time),
            pool,
            trust,
            regulations,
            calendar,
            tuning,
            keys: HashMap::new(),
            bus: OnceLock::new(),
            passwords,
        }
    }

    pub(crate) fn set_bus(&self, bus: Bus) {
        let _ = self.bus.set(bus);
    }

    pub fn bus(&self) -> &Bus {
        self.bus
            .get()
            .expect("the bus is started before the intake serves")
    }
}
