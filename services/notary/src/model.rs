//! What the notary system decides about a power of attorney: its status on
//! a date for a service, and its contract form (`egov_proto::notary`).
//!
//! The rows are defined with the synthetic population that generates them
//! (`egov_population::powers`) and re-exported here, so the registry, its
//! seeding and its tests name one set of types; the notary's rules are
//! traits on them ([`PowerOfAttorneyRules`], [`ExpectedStatus`]).

use chrono::NaiveDate;
pub use egov_population::powers::{ANY_SERVICE, NotaryRows, PoaCase, PoaCaseKind, PowerOfAttorney};
use egov_proto::notary as proto;
use egov_proto::notary::power_of_attorney_answer::Status;
use egov_registry::date_text;

/// The notary's rules and contract form for a power of attorney.
pub trait PowerOfAttorneyRules {
    /// Whether its scope covers `service_code` (or every service).
    fn covers(&self, service_code: &str) -> bool;

    /// What it is worth on `today` for `service_code`: revoked wins over
    /// expired (a revoked power stays revoked after its term), then expiry,
    /// then scope.
    fn status_on(&self, service_code: &str, today: NaiveDate) -> Status;

    fn to_proto(&self) -> proto::PowerOfAttorney;
}

impl PowerOfAttorneyRules for PowerOfAttorney {
    fn covers(&self, service_code: &str) -> bool {
        let service_code = service_code.trim();
        self.scope
            .iter()
            .any(|s| s == ANY_SERVICE || (!service_code.is_empty() && s == service_code))
    }

    fn status_on(&self, service_code: &str, today: NaiveDate) -> Status {
        if self.revoked_on.is_some_and(|revoked| revoked <= today) {
            Status::Revoked
        } else if self.valid_until < today {
            Status::Expired
        } else if !self.covers(service_code) {
            Status::OutOfScope
        } else {
            Status::Valid
        }
    }

    fn to_proto(&self) -> proto::PowerOfAttorney {
        proto::PowerOfAttorney {
            number: self.number.clone(),
            principal_iin: self.principal.to_string(),
            representative_iin: self.representative.to_string(),
            notary_name: self.notary_name.clone(),
            notary_licence: self.notary_licence.clone(),
            issued_on: date_text(self.issued_on),
            valid_until: date_text(self.valid_until),
            scope: self.scope.clone(),
            revoked_on: self.revoked_on.map(date_text),
        }
    }
}

/// The answer a catalogued case expects on the population's as-of date.
pub trait ExpectedStatus {
    /// The look-up's answer for such a case.
    fn expected_status(self) -> Status;
}

impl ExpectedStatus for PoaCaseKind {
    fn expected_status(self) -> Status {
        match self {
            PoaCaseKind::Valid => Status::Valid,
            PoaCaseKind::Expired => Status::Expired,
            PoaCaseKind::Revoked => Status::Revoked,
            PoaCaseKind::OutOfScope => Status::OutOfScope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_population::people::{Generator, PopulationConfig, default_as_of};
    use egov_population::powers::{PoaShares, SERVICE_CODES, powers_of_attorney};
    use egov_trust::iin::Iin;
    use std::collections::{HashMap, HashSet};

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn power(scope: &[&str], valid_until: &str, revoked_on: Option<&str>) -> PowerOfAttorney {
        PowerOfAttorney {
            number: "2025-00000001".into(),
            principal: Iin::parse("900101300017").unwrap(),
            representative: Iin::parse("900101300811").unwrap(),
            notary_name: "Ахметова Айгүл Сериковна".into(),
            notary_licence: "0001234".into(),
            issued_on: date("2025-01-10"),
            valid_until: date(valid_until),
            scope: scope.iter().map(|s| s.to_string()).collect(),
            revoked_on: revoked_on.map(date),
        }
    }

    #[test]
    fn revoked_wins_over_expired_and_expired_over_scope() {
        let today = date("2026-06-01");
        let revoked_and_expired = power(&["003"], "2026-01-09", Some("2025-05-01"));
        assert_eq!(revoked_and_expired.status_on("003", today), Status::Revoked);
        let expired_elsewhere = power(&["001"], "2026-01-09", None);
        assert_eq!(expired_elsewhere.status_on("003", today), Status::Expired);
        let in_force = power(&["001", "004-02"], "2028-01-09", None);
        assert_eq!(in_force.status_on("004-02", today), Status::Valid);
        assert_eq!(in_force.status_on("003", today), Status::OutOfScope);
        assert_eq!(in_force.status_on("", today), Status::OutOfScope);
    }

    #[test]
    fn the_last_day_is_in_force_and_a_general_power_covers_any_service() {
        let general = power(&[ANY_SERVICE], "2026-06-01", None);
        assert_eq!(
            general.status_on("004-11", date("2026-06-01")),
            Status::Valid
        );
        assert_eq!(general.status_on("", date("2026-06-01")), Status::Valid);
        assert_eq!(
            general.status_on("003", date("2026-06-02")),
            Status::Expired
        );
        // A revocation takes effect on its date, not before.
        let revoked_later = power(&["003"], "2028-01-09", Some("2026-07-01"));
        assert_eq!(
            revoked_later.status_on("003", date("2026-06-30")),
            Status::Valid
        );
        assert_eq!(
            revoked_later.status_on("003", date("2026-07-01")),
            Status::Revoked
        );
    }

    /// Every power of attorney the population draws, for `people` people.
    fn notary_rows(seed: u64, people: usize) -> NotaryRows {
        let mut all = NotaryRows::default();
        for batch in Generator::new(PopulationConfig::new(seed, people)).unwrap() {
            let rows = powers_of_attorney(seed, default_as_of(), &batch, &PoaShares::default());
            all.powers_of_attorney.extend(rows.powers_of_attorney);
            all.cases.extend(rows.cases);
        }
        all
    }

    // The population's catalogue against these rules.
    #[test]
    fn every_catalogued_case_gets_its_expected_answer_on_the_as_of_date() {
        let rows = notary_rows(1, 10_000);
        let by_number: HashMap<&str, &PowerOfAttorney> = rows
            .powers_of_attorney
            .iter()
            .map(|p| (p.number.as_str(), p))
            .collect();
        assert_eq!(
            by_number.len(),
            rows.powers_of_attorney.len(),
            "numbers repeat"
        );
        let mut kinds = HashSet::new();
        for case in &rows.cases {
            let power = by_number[case.number.as_str()];
            assert_eq!(
                power.status_on(&case.service_code, default_as_of()),
                case.kind.expected_status(),
                "{case:?} {power:?}"
            );
            assert!(SERVICE_CODES.contains(&case.service_code.as_str()));
            kinds.insert(case.kind);
        }
        assert_eq!(kinds.len(), PoaCaseKind::ALL.len());
        assert!(
            rows.powers_of_attorney.len() > 100,
            "{}",
            rows.powers_of_attorney.len()
        );
        // Some revoked powers have also expired since, and answer revoked.
        assert!(
            rows.powers_of_attorney
                .iter()
                .any(|p| p.revoked_on.is_some() && p.valid_until < default_as_of())
        );
    }
}
