//! Adoption: persons who applied to adopt, with the provider's conclusion
//! (seed 004 service 9), and families who adopted a child left without
//! parental care (seed 000; seed 004 service 10).

use super::Generator;
use super::person::Fate;
use super::records::{
    AdoptionCandidate, CandidacyStatus, CaseEntry, CaseKind, FamilyLink, LinkOrigin, LinkStatus,
    ParentRole, RegistryRows,
};
use crate::dates::{days_after, days_before, years_before};
use chrono::NaiveDate;
use egov_trust::iin::Sex;

impl Generator {
    /// A couple or a woman alone who applied to adopt (seed 004 service 9).
    pub(super) fn adoption_candidates(&mut self, rows: &mut RegistryRows) {
        let family = self.family();
        let applicants = if self.rng.chance(0.75) {
            let husband_birth = self.birth_for_age(27, 52);
            let (father, mother, _) = self.couple(rows, &family, husband_birth);
            vec![father.iin, mother]
        } else {
            let birth = self.birth_for_age(25, 50);
            vec![
                self.adult(rows, &family, Sex::Female, birth, false, Fate::ALIVE)
                    .0,
            ]
        };
        // A quarter applied in the last 14 days and wait for the conclusion.
        let as_of = self.as_of();
        let applied_on = if self.rng.chance(0.25) {
            self.rng
                .date_between(days_before(as_of, 14), days_before(as_of, 1))
        } else {
            self.rng
                .date_between(years_before(as_of, 2), days_before(as_of, 16))
        };
        let (status, concluded_on) = self.conclusion(applied_on);
        for iin in applicants {
            rows.adoption_candidates.push(AdoptionCandidate {
                iin,
                applied_on,
                status,
                concluded_on,
            });
            rows.cases.push(CaseEntry {
                kind: CaseKind::AdoptionCandidate,
                iin,
                related: None,
                since: Some(applied_on),
            });
        }
    }

    /// The provider's conclusion, within 15 calendar days of the
    /// application (seed 004 service 9, ¶5), if those have passed.
    pub(super) fn conclusion(
        &mut self,
        applied_on: NaiveDate,
    ) -> (CandidacyStatus, Option<NaiveDate>) {
        if days_after(applied_on, 15) >= self.as_of() {
            return (CandidacyStatus::Pending, None);
        }
        let concluded_on = days_after(applied_on, self.rng.between(5, 15));
        if self.rng.chance(0.85) {
            (CandidacyStatus::Approved, Some(concluded_on))
        } else {
            (CandidacyStatus::Refused, Some(concluded_on))
        }
    }

    /// A couple who adopted a child whose birth parents had died (seed 000;
    /// seed 004 service 10). The child takes the adoptive father's surname
    /// and patronymic; both the birth links and the adoptive links are
    /// recorded, the adoptive ones with the court decision's date.
    pub(super) fn adoptive_family(&mut self, rows: &mut RegistryRows) {
        let as_of = self.as_of();
        let family = self.family();
        let husband_birth = self.birth_for_age(30, 55);
        let (father, mother, _) = self.couple(rows, &family, husband_birth);
        let child_birth = self.rng.date_between(
            days_after(years_before(as_of, 18), 1),
            days_before(as_of, 150),
        );
        let adopted_on = self
            .rng
            .date_between(days_after(child_birth, 90), days_before(as_of, 30));
        // They were approved candidates before they adopted.
        let applied_on = self
            .rng
            .date_between(days_before(adopted_on, 730), days_before(adopted_on, 30));
        let concluded_on = days_after(applied_on, self.rng.between(5, 15));
        for iin in [father.iin, mother] {
            rows.adoption_candidates.push(AdoptionCandidate {
                iin,
                applied_on,
                status: CandidacyStatus::Approved,
                concluded_on: Some(concluded_on),
            });
        }

        // The birth parents, who died before the adoption.
        let birth_family = self.family();
        let birth_mother_birth = self
            .rng
            .date_between(years_before(child_birth, 40), years_before(child_birth, 18));
        let mother_died = self.rng.date_between(
            days_after(child_birth, 1),
            days_before(adopted_on, 60).max(days_after(child_birth, 1)),
        );
        let (birth_mother, _) = self.adult(
            rows,
            &birth_family,
            Sex::Female,
            birth_mother_birth,
            false,
            Fate::died(Some(mother_died)),
        );
        let birth_father_birth = self
            .rng
            .date_between(years_before(birth_mother_birth, 5), birth_mother_birth);
        let father_died = self
            .rng
            .date_between(days_after(child_birth, 1), mother_died);
        let (birth_father, _) = self.adult(
            rows,
            &birth_family,
            Sex::Male,
            birth_father_birth,
            false,
            Fate::died(Some(father_died)),
        );

        let child = self.child(
            rows,
            &family,
            Some(father.name),
            child_birth,
            &family.address,
        );
        Self::link(
            rows,
            birth_mother,
            child,
            ParentRole::Mother,
            LinkStatus::Normal,
            None,
        );
        Self::link(
            rows,
            birth_father,
            child,
            ParentRole::Father,
            LinkStatus::Normal,
            None,
        );
        for (parent, role) in [
            (father.iin, ParentRole::Father),
            (mother, ParentRole::Mother),
        ] {
            rows.family_links.push(FamilyLink {
                parent,
                child,
                parent_role: role,
                origin: LinkOrigin::Adoption,
                established_on: Some(adopted_on),
                status: LinkStatus::Normal,
                status_since: None,
            });
            rows.cases.push(CaseEntry {
                kind: CaseKind::AdoptiveParent,
                iin: parent,
                related: Some(child),
                since: Some(adopted_on),
            });
        }
        rows.cases.push(CaseEntry {
            kind: CaseKind::AdoptedChild,
            iin: child,
            related: Some(mother),
            since: Some(adopted_on),
        });
    }
}
