//! What the notary system records about a power of attorney, as Rust values,
//! and their contract form (`egov_proto::notary`).

use chrono::NaiveDate;
use egov_individuals::model::date_text;
use egov_proto::notary as proto;
use egov_proto::notary::power_of_attorney_answer::Status;
use egov_trust::iin::Iin;

/// The scope entry that covers every service.
pub const ANY_SERVICE: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerOfAttorney {
    pub number: String,
    /// Who gave the power (доверитель / сенім білдіруші).
    pub principal: Iin,
    /// Who may act (представитель / өкіл).
    pub representative: Iin,
    pub notary_name: String,
    pub notary_licence: String,
    pub issued_on: NaiveDate,
    /// The last day in force.
    pub valid_until: NaiveDate,
    /// Regulation codes (regulations/*.toml), or [`ANY_SERVICE`].
    pub scope: Vec<String>,
    pub revoked_on: Option<NaiveDate>,
}

impl PowerOfAttorney {
    pub fn covers(&self, service_code: &str) -> bool {
        let service_code = service_code.trim();
        self.scope
            .iter()
            .any(|s| s == ANY_SERVICE || (!service_code.is_empty() && s == service_code))
    }

    /// What it is worth on `today` for `service_code`: revoked wins over
    /// expired (a revoked power stays revoked after its term), then expiry,
    /// then scope.
    pub fn status_on(&self, service_code: &str, today: NaiveDate) -> Status {
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

    pub fn to_proto(&self) -> proto::PowerOfAttorney {
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

/// The kinds of case in the catalogue: the answer expected on the
/// population's as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoaCaseKind {
    Valid,
    Expired,
    Revoked,
    OutOfScope,
}

impl PoaCaseKind {
    pub const ALL: &'static [PoaCaseKind] = &[
        PoaCaseKind::Valid,
        PoaCaseKind::Expired,
        PoaCaseKind::Revoked,
        PoaCaseKind::OutOfScope,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PoaCaseKind::Valid => "valid",
            PoaCaseKind::Expired => "expired",
            PoaCaseKind::Revoked => "revoked",
            PoaCaseKind::OutOfScope => "out_of_scope",
        }
    }

    /// The look-up's answer for such a case.
    pub fn expected_status(self) -> Status {
        match self {
            PoaCaseKind::Valid => Status::Valid,
            PoaCaseKind::Expired => Status::Expired,
            PoaCaseKind::Revoked => Status::Revoked,
            PoaCaseKind::OutOfScope => Status::OutOfScope,
        }
    }
}

/// One entry of the catalogue: ask about `number` for `service_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoaCase {
    pub kind: PoaCaseKind,
    pub number: String,
    pub service_code: String,
}

/// A self-contained set of rows to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotaryRows {
    pub powers_of_attorney: Vec<PowerOfAttorney>,
    pub cases: Vec<PoaCase>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
