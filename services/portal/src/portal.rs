//! The portal's state, shared by its API and its inbox handler.

use crate::settings::Tuning;
use egov_bus::Bus;
use egov_regulations::Registry;
use egov_trust::TrustStore;
use std::sync::{Arc, OnceLock};

pub struct Portal {
    pub pool: sqlx::PgPool,
    pub trust: Arc<TrustStore>,
    pub regulations: Registry,
    pub tuning: Tuning,
    /// Set once the bus has started (the bus's inbox handler holds the
    /// portal, so the two are built in turn).
    bus: OnceLock<Bus>,
    pub(crate) passwords: egov_accounts::Passwords,
}

impl Portal {
    pub fn new(
        pool: sqlx::PgPool,
        trust: Arc<TrustStore>,
        regulations: Registry,
        tuning: Tuning,
        passwords: egov_accounts::Passwords,
    ) -> Portal {
        Portal {
            pool,
            trust,
            regulations,
            tuning,
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
            .expect("the bus is started before the portal serves")
    }
}

/// A logged-in citizen.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub iin: String,
    pub surname: String,
    pub given_name: String,
    pub patronymic: String,
    pub full_name: String,
    pub phone: String,
}

pub fn full_name(surname: &str, given_name: &str, patronymic: Option<&str>) -> String {
    match patronymic {
        Some(p) if !p.is_empty() => format!("{surname} {given_name} {p}"),
        _ => format!("{surname} {given_name}"),
    }
}
