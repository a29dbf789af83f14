//! What the registry records about a person, as Rust values: the rows the
//! storage writes and reads, the look-up's answer ([`PersonDetails`]), and
//! its contract form (`egov_proto::individuals`).
//!
//! The rows are defined with the synthetic population that generates them
//! (`egov_population::people`) and re-exported here, so the registry, its
//! seeding and its tests name one set of types.

pub use egov_population::people::{
    Address, AdoptionCandidate, CandidacyStatus, CareArrangement, CareKind, CaseEntry, CaseKind,
    DocumentKind, FamilyLink, IdentityDocument, LinkOrigin, LinkStatus, ParentRole, Person,
    RegistryRows,
};
use egov_proto::individuals as proto;
pub use egov_registry::date_text;
use egov_trust::iin::{Iin, Sex};

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

fn sex_to_proto(sex: Sex) -> i32 {
    match sex {
        Sex::Male => proto::Sex::Male as i32,
        Sex::Female => proto::Sex::Female as i32,
    }
}

/// A family link seen from one end: `other` is the person at the far end.
fn family_link(link: &FamilyLink, other: Iin) -> proto::FamilyLink {
    let parent_role = match link.parent_role {
        ParentRole::Mother => proto::ParentRole::Mother,
        ParentRole::Father => proto::ParentRole::Father,
    };
    let origin = match link.origin {
        LinkOrigin::Birth => proto::LinkOrigin::Birth,
        LinkOrigin::Adoption => proto::LinkOrigin::Adoption,
    };
    let status = match link.status {
        LinkStatus::Normal => proto::LinkStatus::Normal,
        LinkStatus::Deprived => proto::LinkStatus::DeprivedOfParentalRights,
        LinkStatus::Restricted => proto::LinkStatus::RestrictedInParentalRights,
    };
    proto::FamilyLink {
        iin: other.to_string(),
        parent_role: parent_role as i32,
        origin: origin as i32,
        established_on: link.established_on.map(date_text),
        status: status as i32,
        status_since: link.status_since.map(date_text),
    }
}

/// A care arrangement seen from one end: `other` is the person at the far end.
fn care_link(care: &CareArrangement, other: Iin) -> proto::CareLink {
    let kind = match care.kind {
        CareKind::Guardianship => proto::CareKind::Guardianship,
        CareKind::Trusteeship => proto::CareKind::Trusteeship,
        CareKind::FosterCare => proto::CareKind::FosterCare,
    };
    proto::CareLink {
        iin: other.to_string(),
        kind: kind as i32,
        established_on: date_text(care.established_on),
    }
}

fn document_kind(kind: DocumentKind) -> proto::DocumentKind {
    match kind {
        DocumentKind::IdCard => proto::DocumentKind::IdCard,
        DocumentKind::BirthCertificate => proto::DocumentKind::BirthCertificate,
    }
}

fn candidacy_status(status: CandidacyStatus) -> proto::CandidacyStatus {
    match status {
        CandidacyStatus::Pending => proto::CandidacyStatus::Pending,
        CandidacyStatus::Approved => proto::CandidacyStatus::Approved,
        CandidacyStatus::Refused => proto::CandidacyStatus::Refused,
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
                kind: document_kind(p.document.kind) as i32,
                number: p.document.number.clone(),
                issuer: p.document.issuer.clone(),
                issued_on: date_text(p.document.issued_on),
                expires_on: p.document.expires_on.map(date_text),
            }),
            deceased_on: p.deceased_on.map(date_text),
            declared_missing_on: p.declared_missing_on.map(date_text),
            parents: self
                .parents
                .iter()
                .map(|l| family_link(l, l.parent))
                .collect(),
            children: self
                .children
                .iter()
                .map(|l| family_link(l, l.child))
                .collect(),
            carers: self.carers.iter().map(|c| care_link(c, c.carer)).collect(),
            wards: self.wards.iter().map(|c| care_link(c, c.child)).collect(),
            adoption_candidacy: self.adoption_candidacy.as_ref().map(|a| {
                proto::AdoptionCandidacy {
                    applied_on: date_text(a.applied_on),
                    status: candidacy_status(a.status) as i32,
                    concluded_on: a.concluded_on.map(date_text),
                }
            }),
        }
    }
}
