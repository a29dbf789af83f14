//! The rows the powers-of-attorney generator produces, as the notary
//! system stores them: a power of attorney and the case catalogue. Plain
//! data; the notary adds its rules (status on a date, scope) and contract
//! form (`egov_notary::model`).

use chrono::NaiveDate;
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
