//! What the registry records about a person, as Rust values: the rows the
//! storage writes and reads, and their conversion to the contract
//! (`egov_proto::individuals`).

use chrono::NaiveDate;
use egov_proto::individuals as proto;
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
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal => $proto:expr),+ $(,)? }) => {
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

            fn to_proto(self) -> i32 {
                match self { $($name::$variant => $proto as i32),+ }
            }
        }
    };
}

text_enum! {
    DocumentKind {
        /// Удостоверение личности / жеке куәлік (seed 004 para 10).
        IdCard = "id_card" => proto::DocumentKind::IdCard,
        /// A child's birth certificate (seed 002, standard row 8 item 3).
        BirthCertificate = "birth_certificate" => proto::DocumentKind::BirthCertificate,
    }
}

text_enum! {
    ParentRole {
        Mother = "mother" => proto::ParentRole::Mother,
        Father = "father" => proto::ParentRole::Father,
    }
}

text_enum! {
    LinkOrigin {
        Birth = "birth" => proto::LinkOrigin::Birth,
        /// Seed 000; seed 004 service 10.
        Adoption = "adoption" => proto::LinkOrigin::Adoption,
    }
}

text_enum! {
    /// Seed 002, standard row 8 item 4: the court decisions that leave a
    /// child without parental care.
    LinkStatus {
        Normal = "normal" => proto::LinkStatus::Normal,
        Deprived = "deprived" => proto::LinkStatus::DeprivedOfParentalRights,
        Restricted = "restricted" => proto::LinkStatus::RestrictedInParentalRights,
    }
}

text_enum! {
    CareKind {
        /// Опека / қорғаншылық, under 14 (seed 003; seed 002 "опекун").
        Guardianship = "guardianship" => proto::CareKind::Guardianship,
        /// Попечительство / қамқоршылық, 14 to 18 (seed 003; seed 002 "попечитель").
        Trusteeship = "trusteeship" => proto::CareKind::Trusteeship,
        /// Патронат (seed 004 services 7, 8).
        FosterCare = "foster_care" => proto::CareKind::FosterCare,
    }
}

text_enum! {
    /// Seed 004 service 9: the conclusion on the possibility (or
    /// impossibility) of being a candidate to adopt.
    CandidacyStatus {
        Pending = "pending" => proto::CandidacyStatus::Pending,
        Approved = "approved" => proto::CandidacyStatus::Approved,
        Refused = "refused" => proto::CandidacyStatus::Refused,
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

/// A person and everything linked to them, as one look-up answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonDetails {
    pub person: Person,
    /// Links where this person is the child.
    pub parents: Vec<FamilyLink>,
    /// Links where this person is the parent.
    pub children: Vec<FamilyLink>,
    /// Arrangements where this person is the child.
    pub carers: Vec<CareArrangement>,
    /// Arrangements where this person is the carer.
    pub wards: Vec<CareArrangement>,
    pub adoption_candidacy: Option<AdoptionCandidate>,
}

/// Dates travel as "YYYY-MM-DD" (see individuals.proto).
pub fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn sex_to_proto(sex: Sex) -> i32 {
    match sex {
        Sex::Male => proto::Sex::Male as i32,
        Sex::Female => proto::Sex::Female as i32,
    }
}

impl FamilyLink {
    fn to_proto(&self, other: Iin) -> proto::FamilyLink {
        proto::FamilyLink {
            iin: other.to_string(),
            parent_role: self.parent_role.to_proto(),
            origin: self.origin.to_proto(),
            established_on: self.established_on.map(date_text),
            status: self.status.to_proto(),
            status_since: self.status_since.map(date_text),
        }
    }
}

impl CareArrangement {
    fn to_proto(&self, other: Iin) -> proto::CareLink {
        proto::CareLink {
            iin: other.to_string(),
            kind: self.kind.to_proto(),
            established_on: date_text(self.established_on),
        }
    }
}

impl PersonDetails {
    /// The contract's form of this record.
    pub fn to_record(&self) -> proto::PersonRecord {
        let p = &self.person;
        proto::PersonRecord {
            iin: p.iin.to_string(),
            surname: p.surname.clone(),
            given_name: p.given_name.clone(),
            patronymic: p.patronymic.clone(),
            birth_date: date_text(p.birth_date),
            sex: sex_to_proto(p.sex),
            citizenship: p.citizenship.clone(),
            address: Some(proto::Address {
                region: p.address.region.clone(),
                district_or_city: p.address.district_or_city.clone(),
                street: p.address.street.clone(),
            }),
            identity_document: Some(proto::IdentityDocument {
                kind: p.document.kind.to_proto(),
                number: p.document.number.clone(),
                issuer: p.document.issuer.clone(),
                issued_on: date_text(p.document.issued_on),
                expires_on: p.document.expires_on.map(date_text),
            }),
            deceased_on: p.deceased_on.map(date_text),
            declared_missing_on: p.declared_missing_on.map(date_text),
            parents: self.parents.iter().map(|l| l.to_proto(l.parent)).collect(),
            children: self.children.iter().map(|l| l.to_proto(l.child)).collect(),
            carers: self.carers.iter().map(|c| c.to_proto(c.carer)).collect(),
            wards: self.wards.iter().map(|c| c.to_proto(c.child)).collect(),
            adoption_candidacy: self.adoption_candidacy.as_ref().map(|a| {
                proto::AdoptionCandidacy {
                    applied_on: date_text(a.applied_on),
                    status: a.status.to_proto(),
                    concluded_on: a.concluded_on.map(date_text),
                }
            }),
        }
    }
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
