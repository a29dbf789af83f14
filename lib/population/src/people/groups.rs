//! Family groups: the draw of a group's kind by [`super::CaseShares`], and
//! the ordinary ones (single adults, couples with children, mothers raising
//! children alone). Children left without parental care and adoptions have
//! their own modules.

use super::Generator;
use super::person::{Family, Fate, Father};
use super::records::{LinkStatus, ParentRole, RegistryRows};
use super::without_care::Loss;
use crate::dates::{age_on, days_before, years_after, years_before};
use chrono::NaiveDate;
use egov_trust::iin::{Iin, Sex};

impl Generator {
    pub(super) fn family_group(&mut self, rows: &mut RegistryRows) {
        let shares = self.config.shares.groups();
        let mut roll = self.rng.next_f64();
        let mut kind = shares.len();
        for (i, share) in shares.iter().enumerate() {
            if roll < *share {
                kind = i;
                break;
            }
            roll -= share;
        }
        match kind {
            0 => self.single_adult(rows),
            1 => self.single_mother(rows),
            2 => self.children_without_care(rows, Loss::Death),
            3 => self.children_without_care(rows, Loss::Deprivation),
            4 => self.children_without_care(rows, Loss::Missing),
            5 => self.adoption_candidates(rows),
            6 => self.adoptive_family(rows),
            _ => self.couple_with_children(rows),
        }
    }

    pub(super) fn single_adult(&mut self, rows: &mut RegistryRows) {
        let family = self.family();
        let sex = self.sex();
        let birth = self.birth_for_age(18, 90);
        let deceased_on = self.natural_death(birth);
        self.adult(rows, &family, sex, birth, false, Fate::died(deceased_on));
    }

    /// A couple (the wife took the husband's surname in most families).
    pub(super) fn couple(
        &mut self,
        rows: &mut RegistryRows,
        family: &Family,
        husband_birth: NaiveDate,
    ) -> (Father, Iin, NaiveDate) {
        let wife_birth = self
            .rng
            .date_between(husband_birth, years_after(husband_birth, 6))
            .min(years_before(self.as_of(), 19));
        let husband_dies = self.natural_death(husband_birth);
        let wife_dies = self.natural_death(wife_birth);
        let (husband, name) = self.adult(
            rows,
            family,
            Sex::Male,
            husband_birth,
            false,
            Fate::died(husband_dies),
        );
        let keeps_own_surname = self.rng.chance(0.3);
        let (wife, _) = self.adult(
            rows,
            family,
            Sex::Female,
            wife_birth,
            keeps_own_surname,
            Fate::died(wife_dies),
        );
        (Father { iin: husband, name }, wife, wife_birth)
    }

    pub(super) fn couple_with_children(&mut self, rows: &mut RegistryRows) {
        let family = self.family();
        let husband_birth = self.birth_for_age(21, 85);
        let (father, mother, mother_birth) = self.couple(rows, &family, husband_birth);
        let count = self.rng.weighted(&[12, 26, 32, 20, 10]);
        let latest = days_before(self.as_of(), 30);
        for birth in self.child_births(mother_birth, count, latest) {
            // Grown-up children often live elsewhere.
            let address = if age_on(birth, self.as_of()) >= 18 && self.rng.chance(0.5) {
                self.address()
            } else {
                family.address.clone()
            };
            let child = self.child(rows, &family, Some(father.name), birth, &address);
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
    }

    pub(super) fn single_mother(&mut self, rows: &mut RegistryRows) {
        let family = self.family();
        let mother_birth = self.birth_for_age(20, 50);
        let (mother, _) = self.adult(rows, &family, Sex::Female, mother_birth, false, Fate::ALIVE);
        let count = 1 + self.rng.weighted(&[55, 35, 10]);
        let latest = days_before(self.as_of(), 30);
        for birth in self.child_births(mother_birth, count, latest) {
            let child = self.child(rows, &family, None, birth, &family.address);
            Self::link(
                rows,
                mother,
                child,
                ParentRole::Mother,
                LinkStatus::Normal,
                None,
            );
        }
    }
}
