//! Minor siblings left without parental care (seeds 001-003; seed 004
//! services 1, 2, 6, 7): their parents' death, loss of parental rights or
//! disappearance, and their placement with a relative, a foster carer, or
//! nowhere yet.

use super::Generator;
use super::person::{Family, Fate, Father};
use super::records::{
    Address, CareArrangement, CareKind, CaseEntry, CaseKind, LinkStatus, ParentRole, RegistryRows,
};
use crate::dates::{age_on, days_after, days_before, years_after, years_before};
use chrono::NaiveDate;
use egov_trust::iin::{Iin, Sex};

/// The placement of a group of siblings left without parental care.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    Guardian,
    FosterCarer,
    NotPlaced,
}

/// Why the siblings are left without parental care.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Loss {
    Death,
    Deprivation,
    Missing,
}

impl Generator {
    /// Minor siblings left without parental care, their parents, and their
    /// carer if they are placed.
    pub(super) fn children_without_care(&mut self, rows: &mut RegistryRows, loss: Loss) {
        let as_of = self.as_of();
        let family = self.family();
        // The children first: all minors, the youngest at least 60 days old.
        let count = 1 + self.rng.weighted(&[50, 35, 15]);
        let eldest = self.rng.date_between(
            days_after(years_before(as_of, 18), 1),
            days_before(as_of, 60),
        );
        let mut births = vec![eldest];
        while births.len() < count {
            let earliest = days_after(*births.last().expect("one birth"), 300);
            let latest = days_before(as_of, 60);
            if earliest > latest {
                break;
            }
            births.push(
                self.rng
                    .date_between(earliest, years_after(earliest, 4).min(latest)),
            );
        }
        let youngest = *births.last().expect("one birth");
        // The loss happened after the youngest was born, at least 30 days
        // before as_of, so a placement can follow it.
        let loss_on = self
            .rng
            .date_between(days_after(youngest, 30), days_before(as_of, 30));

        // The parents; in a quarter of the cases the father is not recorded.
        let mother_birth = self
            .rng
            .date_between(years_before(eldest, 38), years_before(eldest, 19));
        let father_birth = self
            .rng
            .date_between(years_before(mother_birth, 6), mother_birth);
        let with_father = self.rng.chance(0.75);
        let (status, kind) = match loss {
            Loss::Death => (LinkStatus::Normal, CaseKind::Orphan),
            Loss::Missing => (LinkStatus::Normal, CaseKind::ParentsMissing),
            Loss::Deprivation => {
                if self
                    .rng
                    .chance(self.config.shares.restricted_instead_of_deprived)
                {
                    (LinkStatus::Restricted, CaseKind::ParentsRestricted)
                } else {
                    (LinkStatus::Deprived, CaseKind::ParentsDeprived)
                }
            }
        };
        // Parents who died: the last death is the loss; the other parent
        // died between the youngest's birth and then.
        let fate = match loss {
            Loss::Death => Fate::died(Some(loss_on)),
            Loss::Missing => Fate {
                declared_missing_on: Some(loss_on),
                ..Fate::ALIVE
            },
            Loss::Deprivation => Fate::ALIVE,
        };
        let mut parent_fates = [fate; 2];
        if loss == Loss::Death && with_father {
            let earlier = self.rng.date_between(days_after(youngest, 1), loss_on);
            let first = usize::from(self.rng.chance(0.5));
            parent_fates[first].deceased_on = Some(earlier);
        }
        let court_date = (status != LinkStatus::Normal).then_some(loss_on);
        let (mother, _) = self.adult(
            rows,
            &family,
            Sex::Female,
            mother_birth,
            false,
            parent_fates[0],
        );
        let father = if with_father {
            let (iin, name) = self.adult(
                rows,
                &family,
                Sex::Male,
                father_birth,
                false,
                parent_fates[1],
            );
            Some(Father { iin, name })
        } else {
            None
        };

        // Where the children live now: with their carer if placed.
        let shares = &self.config.shares;
        let placement = match self.rng.next_f64() {
            roll if roll < shares.placed_with_guardian => Placement::Guardian,
            roll if roll < shares.placed_with_guardian + shares.placed_in_foster_care => {
                Placement::FosterCarer
            }
            _ => Placement::NotPlaced,
        };
        let placed_on = self.rng.date_between(
            days_after(loss_on, 7),
            days_after(loss_on, 120).min(days_before(as_of, 1)),
        );
        let (carer, address) = match placement {
            Placement::Guardian => {
                let (carer, address) = self.relative_carer(rows, &family, mother_birth);
                (Some(carer), address)
            }
            Placement::FosterCarer => {
                let (carer, address) = self.foster_family(rows);
                (Some(carer), address)
            }
            Placement::NotPlaced => (None, family.address.clone()),
        };

        let mut carer_cases_written = Vec::new();
        for birth in births {
            let child = self.child(
                rows,
                &family,
                father.as_ref().map(|f| f.name),
                birth,
                &address,
            );
            Self::link(rows, mother, child, ParentRole::Mother, status, court_date);
            if let Some(father) = &father {
                Self::link(
                    rows,
                    father.iin,
                    child,
                    ParentRole::Father,
                    status,
                    court_date,
                );
            }
            rows.cases.push(CaseEntry {
                kind,
                iin: child,
                related: None,
                since: Some(loss_on),
            });
            let Some(carer) = carer else {
                rows.cases.push(CaseEntry {
                    kind: CaseKind::ChildWithoutCare,
                    iin: child,
                    related: None,
                    since: Some(loss_on),
                });
                continue;
            };
            let (care_kind, ward_case, carer_case, established_on) = match placement {
                Placement::FosterCarer => (
                    CareKind::FosterCare,
                    CaseKind::FosterChild,
                    CaseKind::FosterCarer,
                    placed_on,
                ),
                _ if age_on(birth, as_of) < 14 => (
                    CareKind::Guardianship,
                    CaseKind::WardOfGuardian,
                    CaseKind::Guardian,
                    placed_on,
                ),
                // A guardianship becomes a trusteeship on the 14th birthday.
                _ => (
                    CareKind::Trusteeship,
                    CaseKind::WardOfTrustee,
                    CaseKind::Trustee,
                    placed_on.max(years_after(birth, 14)),
                ),
            };
            rows.care_arrangements.push(CareArrangement {
                kind: care_kind,
                carer,
                child,
                established_on,
            });
            rows.cases.push(CaseEntry {
                kind: ward_case,
                iin: child,
                related: Some(carer),
                since: Some(established_on),
            });
            if !carer_cases_written.contains(&carer_case) {
                carer_cases_written.push(carer_case);
                rows.cases.push(CaseEntry {
                    kind: carer_case,
                    iin: carer,
                    related: Some(child),
                    since: Some(established_on),
                });
            }
        }
    }

    /// A grandparent, aunt or uncle who becomes guardian or trustee, at
    /// their own address.
    pub(super) fn relative_carer(
        &mut self,
        rows: &mut RegistryRows,
        family: &Family,
        mother_birth: NaiveDate,
    ) -> (Iin, Address) {
        let relative = Family {
            address: self.address(),
            ..family.clone()
        };
        let grandparent = self.rng.chance(0.5);
        let birth = if grandparent {
            self.rng.date_between(
                years_before(mother_birth, 30),
                years_before(mother_birth, 20),
            )
        } else {
            self.rng
                .date_between(years_before(mother_birth, 8), years_after(mother_birth, 8))
        }
        .min(years_before(self.as_of(), 25));
        // Most guardians in practice are women: grandmothers and aunts.
        let sex = if self.rng.chance(0.75) {
            Sex::Female
        } else {
            Sex::Male
        };
        // Half the aunts and grandmothers have another surname by marriage.
        let own_surname = sex == Sex::Female && self.rng.chance(0.5);
        let (carer, _) = self.adult(rows, &relative, sex, birth, own_surname, Fate::ALIVE);
        (carer, relative.address)
    }

    /// A foster family (seed 004 service 7: the carer concludes the foster
    /// agreement): a couple or a woman alone, 30 to 60, maybe with grown
    /// children of their own. The woman is the carer.
    pub(super) fn foster_family(&mut self, rows: &mut RegistryRows) -> (Iin, Address) {
        let family = self.family();
        let carer = if self.rng.chance(0.7) {
            let husband_birth = self.birth_for_age(32, 62);
            let (father, mother, mother_birth) = self.couple(rows, &family, husband_birth);
            let count = self.rng.weighted(&[40, 35, 25]);
            for birth in self.child_births(mother_birth, count, days_before(self.as_of(), 30)) {
                let child = self.child(rows, &family, Some(father.name), birth, &family.address);
                Self::link(
                    rows,
                    father.iin,
                    child,
                    ParentRole::Father,
                    LinkStatus::Normal,
                    None,
                );
                Self::link(
                    rows,
                    mother,
                    child,
                    ParentRole::Mother,
                    LinkStatus::Normal,
                    None,
                );
            }
            mother
        } else {
            let birth = self.birth_for_age(30, 60);
            self.adult(rows, &family, Sex::Female, birth, false, Fate::ALIVE)
                .0
        };
        (carer, family.address)
    }
}
