//! The rows the generator produces, as the individuals registry stores
//! them: a person, their identity document and address, family links, care
//! arrangements, adoption candidacies, and the case catalogue. Plain data;
//! the registry adds the look-up's answer and its contract form
//! (`egov_individuals::model`).

use chrono::NaiveDate;
use egov_trust::iin::{Iin, Sex};

/// One person's own row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub iin: Iin,
    pub surname: String,
    pub given_name: String,
    /// "(при его наличии)": if any (seed 002, Ф.И.О. / Т.А.Ә.).
    pub patronymic: Option<String>,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    /// ISO 3166-1 alpha-3.
    pub citizenship: String,
    pub address: Address,
    pub document: IdentityDocument,
    pub deceased_on: Option<NaiveDate>,
    pub declared_missing_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub region: String,
    pub district_or_city: String,
    pub street: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityDocument {
    pub kind: DocumentKind,
    pub number: String,
    pub issuer: String,
    pub issued_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
}

/// Defines a string-backed enum: the text is what the database stores.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

text_enum! {
    DocumentKind {
        /// Удостоверение личности / жеке куәлік (seed 004 para 10).
        IdCard = "id_card",
        /// A child's birth certificate (seed 002, standard row 8 item 3).
        BirthCertificate = "birth_certificate",
    }
}

text_enum! {
    ParentRole {
        Mother = "mother",
        Father = "father",
    }
}

text_enum! {
    LinkOrigin {
        Birth = "birth",
        /// Seed 000; seed 004 service 10.
        Adoption = "adoption",
    }
}

text_enum! {
    /// Seed 002, standard row 8 item 4: the court decisions that leave a
    /// child without parental care.
    LinkStatus {
        Normal = "normal",
        Deprived = "deprived",
        Restricted = "restricted",
    }
}

text_enum! {
    CareKind {
        /// Опека / қорғаншылық, under 14 (seed 003; seed 002 "опекун").
        Guardianship = "guardianship",
        /// Попечительство / қамқоршылық, 14 to 18 (seed 003; seed 002 "попечитель").
        Trusteeship = "trusteeship",
        /// Патронат (seed 004 services 7, 8).
        FosterCare = "foster_care",
    }
}

text_enum! {
    /// Seed 004 service 9: the conclusion on the possibility (or
    /// impossibility) of being a candidate to adopt.
    CandidacyStatus {
        Pending = "pending",
        Approved = "approved",
        Refused = "refused",
    }
}

/// A parent-child link, stored once and read from either end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyLink {
    pub parent: Iin,
    pub child: Iin,
    pub parent_role: ParentRole,
    pub origin: LinkOrigin,
    /// The adoption's court decision; None for birth.
    pub established_on: Option<NaiveDate>,
    pub status: LinkStatus,
    /// The court decision on deprivation or restriction.
    pub status_since: Option<NaiveDate>,
}

/// Guardianship, trusteeship or foster care of one child by one carer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareArrangement {
    pub kind: CareKind,
    pub carer: Iin,
    pub child: Iin,
    pub established_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptionCandidate {
    pub iin: Iin,
    pub applied_on: NaiveDate,
    pub status: CandidacyStatus,
    pub concluded_on: Option<NaiveDate>,
}

/// The kinds of case in the catalogue (`cases` table), each a situation a
/// regulation's service is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseKind {
    /// A minor whose parents (or sole parent) have died: an orphan child
    /// (seeds 002, 003; death certificate, seed 002 standard row 8 item 4).
    Orphan,
    /// A minor whose parents were deprived of parental rights (seed 002,
    /// standard row 8 item 4).
    ParentsDeprived,
    /// A minor whose parents' parental rights were restricted (same item).
    ParentsRestricted,
    /// A minor whose parents were declared missing (same item).
    ParentsMissing,
    /// A child under guardianship (seed 003; seed 004 services 1-4, 6).
    WardOfGuardian,
    /// A child under trusteeship (same).
    WardOfTrustee,
    /// A child placed in foster care (seed 004 services 7, 8).
    FosterChild,
    /// A child left without parental care and not yet placed: the subject
    /// of an application to establish guardianship (seed 003) or to place
    /// in foster care (seed 004 service 7).
    ChildWithoutCare,
    /// A guardian (опекун / қорғаншы); `related` is one ward.
    Guardian,
    /// A trustee (попечитель / қамқоршы); `related` is one ward.
    Trustee,
    /// A foster carer (патронатный воспитатель / патронат тәрбиеші).
    FosterCarer,
    /// A person who applied to adopt (seed 004 service 9).
    AdoptionCandidate,
    /// A child adopted after being left without parental care (seed 000;
    /// seed 004 service 10); `related` is an adoptive parent.
    AdoptedChild,
    /// An adoptive parent; `related` is the adopted child.
    AdoptiveParent,
}

impl CaseKind {
    pub const ALL: &'static [CaseKind] = &[
        CaseKind::Orphan,
        CaseKind::ParentsDeprived,
        CaseKind::ParentsRestricted,
        CaseKind::ParentsMissing,
        CaseKind::WardOfGuardian,
        CaseKind::WardOfTrustee,
        CaseKind::FosterChild,
        CaseKind::ChildWithoutCare,
        CaseKind::Guardian,
        CaseKind::Trustee,
        CaseKind::FosterCarer,
        CaseKind::AdoptionCandidate,
        CaseKind::AdoptedChild,
        CaseKind::AdoptiveParent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Orphan => "orphan",
            CaseKind::ParentsDeprived => "parents_deprived",
            CaseKind::ParentsRestricted => "parents_restricted",
            CaseKind::ParentsMissing => "parents_missing",
            CaseKind::WardOfGuardian => "ward_of_guardian",
            CaseKind::WardOfTrustee => "ward_of_trustee",
            CaseKind::FosterChild => "foster_child",
            CaseKind::ChildWithoutCare => "child_without_care",
            CaseKind::Guardian => "guardian",
            CaseKind::Trustee => "trustee",
            CaseKind::FosterCarer => "foster_carer",
            CaseKind::AdoptionCandidate => "adoption_candidate",
            CaseKind::AdoptedChild => "adopted_child",
            CaseKind::AdoptiveParent => "adoptive_parent",
        }
    }
}

/// One entry of the case catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEntry {
    pub kind: CaseKind,
    pub iin: Iin,
    /// The other person of the case, when there is one.
    pub related: Option<Iin>,
    /// When the situation began (death, court decision, placement, application).
    pub since: Option<NaiveDate>,
}

/// A self-contained set of rows to write: every IIN the links, arrangements,
/// candidacies and cases name is among `persons`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryRows {
    pub persons: Vec<Person>,
    pub family_links: Vec<FamilyLink>,
    pub care_arrangements: Vec<CareArrangement>,
    pub adoption_candidates: Vec<AdoptionCandidate>,
    pub cases: Vec<CaseEntry>,
}
