//! Drawing one person: names from the family's ethnicity and patronymic
//! style, a unique IIN, the identity document held on the as-of date, an
//! address, a natural death for some of the elderly; and the family traits
//! a group's members share.

use super::Generator;
use super::names::{self, Ethnicity, MaleName, PatronymicStyle};
use super::places;
use super::records::{
    Address, DocumentKind, FamilyLink, IdentityDocument, LinkOrigin, LinkStatus, ParentRole,
    Person, RegistryRows,
};
use crate::dates::{age_on, days_after, days_before, years_after, years_before};
use chrono::{Datelike, NaiveDate};
use egov_trust::iin::{Iin, Sex};

/// What a new person gets from their family.
pub(super) struct Identity {
    pub(super) sex: Sex,
    pub(super) birth: NaiveDate,
    pub(super) surname: String,
    pub(super) given_name: String,
    pub(super) patronymic: Option<String>,
    pub(super) ethnicity: Ethnicity,
    pub(super) address: Address,
}

/// Whether a person has died or been declared missing, and when.
#[derive(Clone, Copy, Default)]
pub(super) struct Fate {
    pub(super) deceased_on: Option<NaiveDate>,
    pub(super) declared_missing_on: Option<NaiveDate>,
}

impl Fate {
    pub(super) const ALIVE: Fate = Fate {
        deceased_on: None,
        declared_missing_on: None,
    };

    pub(super) fn died(on: Option<NaiveDate>) -> Fate {
        Fate {
            deceased_on: on,
            declared_missing_on: None,
        }
    }
}

/// A family's shared traits.
#[derive(Clone)]
pub(super) struct Family {
    pub(super) ethnicity: Ethnicity,
    /// Male form.
    pub(super) surname: &'static str,
    pub(super) style: PatronymicStyle,
    pub(super) address: Address,
}

/// A man of the family, with the name his children's patronymic comes from.
pub(super) struct Father {
    pub(super) iin: Iin,
    pub(super) name: &'static MaleName,
}

impl Generator {
    pub(super) fn ethnicity(&mut self) -> Ethnicity {
        // Roughly the shares of Kazakh and Russian names in the country.
        if self.rng.chance(0.72) {
            Ethnicity::Kazakh
        } else {
            Ethnicity::Russian
        }
    }

    pub(super) fn family(&mut self) -> Family {
        let ethnicity = self.ethnicity();
        let surname = *self.rng.pick(names::surnames(ethnicity));
        let style = match ethnicity {
            Ethnicity::Russian => PatronymicStyle::Russian,
            Ethnicity::Kazakh => match self.rng.weighted(&[65, 30, 5]) {
                0 => PatronymicStyle::Russian,
                1 => PatronymicStyle::Kazakh,
                _ => PatronymicStyle::None,
            },
        };
        let address = self.address();
        Family {
            ethnicity,
            surname,
            style,
            address,
        }
    }

    pub(super) fn address(&mut self) -> Address {
        let region = &places::REGIONS[self.rng.weighted(&self.region_weights)];
        let locality = *self.rng.pick(region.localities);
        let street = *self.rng.pick(places::STREETS);
        let house = self.rng.between(1, 250);
        let street = if self.rng.chance(0.6) {
            format!("{street}, д. {house}, кв. {}", self.rng.between(1, 180))
        } else {
            format!("{street}, д. {house}")
        };
        Address {
            region: region.name.to_owned(),
            district_or_city: locality.to_owned(),
            street,
        }
    }

    /// A birth date for someone aged min_age..=max_age on `as_of`.
    pub(super) fn birth_for_age(&mut self, min_age: u32, max_age: u32) -> NaiveDate {
        let first = days_after(years_before(self.as_of(), max_age + 1), 1);
        let last = years_before(self.as_of(), min_age);
        self.rng.date_between(first, last)
    }

    pub(super) fn iin(&mut self, birth: NaiveDate, sex: Sex) -> Iin {
        let next = self.serials.entry((birth, sex == Sex::Male)).or_insert(0);
        // Serials in a scrambled order (7919 is prime to 10 000, so the
        // first 10 000 are all different), starting at a date-dependent
        // offset, so they do not all read 0000, 0001, …
        let offset = (birth.num_days_from_ce() as u32).wrapping_mul(37) % 10_000;
        loop {
            assert!(*next < 10_000, "10 000 people share a birth date and sex");
            let serial = ((*next * 7_919 + offset) % 10_000) as u16;
            *next += 1;
            // About one prefix in 121 has no check digit: take the next.
            if let Some(iin) = Iin::generate(birth, sex, serial) {
                return iin;
            }
        }
    }

    /// The identity document a person holds on `as_of` (or held on the day
    /// they died): a birth certificate under 16, else an identity card
    /// renewed every ten years.
    pub(super) fn document(
        &mut self,
        birth: NaiveDate,
        deceased_on: Option<NaiveDate>,
    ) -> IdentityDocument {
        let reference = deceased_on.unwrap_or(self.as_of());
        let russian_issuer = self.rng.chance(0.5);
        if age_on(birth, reference) < 16 {
            self.birth_certificates += 1;
            let issued_on = days_after(birth, self.rng.between(3, 30)).min(reference);
            return IdentityDocument {
                kind: DocumentKind::BirthCertificate,
                // Bijective on 0..10^7, so numbers never repeat.
                number: format!(
                    "{:07}",
                    (self.birth_certificates * 3_986_711 + 1_234_567) % 10_000_000
                ),
                // Seed 002: ИС "Регистрационный пункт ЗАГС" / "АХАЖ тіркеу пункті".
                issuer: if russian_issuer {
                    "ЗАГС"
                } else {
                    "АХАЖ"
                }
                .to_owned(),
                issued_on,
                expires_on: None,
            };
        }
        self.id_cards += 1;
        let first_issue = days_after(years_after(birth, 16), self.rng.between(0, 90));
        let mut issued_on = first_issue;
        while years_after(issued_on, 10) <= reference {
            issued_on = years_after(issued_on, 10);
        }
        let issued_on = issued_on.min(reference);
        IdentityDocument {
            kind: DocumentKind::IdCard,
            // Bijective on 0..10^9 (the factor is prime to 10).
            number: format!(
                "{:09}",
                (self.id_cards * 387_420_489 + 40_000_000) % 1_000_000_000
            ),
            issuer: if russian_issuer {
                "МВД РК"
            } else {
                "ҚР ІІМ"
            }
            .to_owned(),
            issued_on,
            expires_on: Some(years_after(issued_on, 10)),
        }
    }

    pub(super) fn person(
        &mut self,
        rows: &mut RegistryRows,
        identity: Identity,
        fate: Fate,
    ) -> Iin {
        let iin = self.iin(identity.birth, identity.sex);
        let document = self.document(identity.birth, fate.deceased_on);
        // A few Russian-named adults hold Russian citizenship (with an IIN
        // as residents).
        let citizenship = if identity.ethnicity == Ethnicity::Russian
            && age_on(identity.birth, self.as_of()) >= 18
            && self.rng.chance(0.02)
        {
            "RUS"
        } else {
            "KAZ"
        };
        rows.persons.push(Person {
            iin,
            surname: identity.surname,
            given_name: identity.given_name,
            patronymic: identity.patronymic,
            birth_date: identity.birth,
            sex: identity.sex,
            citizenship: citizenship.to_owned(),
            address: identity.address,
            document,
            deceased_on: fate.deceased_on,
            declared_missing_on: fate.declared_missing_on,
        });
        iin
    }

    /// Dies at some point after 60 with the configured share, for people
    /// aged 65 and over.
    pub(super) fn natural_death(&mut self, birth: NaiveDate) -> Option<NaiveDate> {
        if age_on(birth, self.as_of()) < 65 || !self.rng.chance(self.config.shares.elderly_deceased)
        {
            return None;
        }
        let first = years_after(birth, 60).max(years_before(self.as_of(), 10));
        Some(self.rng.date_between(first, days_before(self.as_of(), 1)))
    }

    /// An adult man or woman of the family, with their own parents' names.
    pub(super) fn adult(
        &mut self,
        rows: &mut RegistryRows,
        family: &Family,
        sex: Sex,
        birth: NaiveDate,
        own_surname: bool,
        fate: Fate,
    ) -> (Iin, &'static MaleName) {
        let own_father = self.rng.pick(names::male_names(family.ethnicity));
        let given: &'static MaleName = self.rng.pick(names::male_names(family.ethnicity));
        let surname = if own_surname {
            *self.rng.pick(names::surnames(family.ethnicity))
        } else {
            family.surname
        };
        let given_name = match sex {
            Sex::Male => given.name,
            Sex::Female => self.rng.pick(names::female_names(family.ethnicity)),
        };
        let identity = Identity {
            sex,
            birth,
            surname: names::surname_for(surname, sex),
            given_name: given_name.to_owned(),
            patronymic: names::patronymic(own_father, sex, family.style),
            ethnicity: family.ethnicity,
            address: family.address.clone(),
        };
        let iin = self.person(rows, identity, fate);
        (iin, given)
    }

    pub(super) fn sex(&mut self) -> Sex {
        if self.rng.chance(0.5) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// A child of the family born on `birth`; `father` gives the
    /// patronymic, else a name "from the mother's words".
    pub(super) fn child(
        &mut self,
        rows: &mut RegistryRows,
        family: &Family,
        father_name: Option<&'static MaleName>,
        birth: NaiveDate,
        address: &Address,
    ) -> Iin {
        let sex = self.sex();
        let father_name = match father_name {
            Some(name) => name,
            None => self.rng.pick(names::male_names(family.ethnicity)),
        };
        let given_name = match sex {
            Sex::Male => self.rng.pick(names::male_names(family.ethnicity)).name,
            Sex::Female => self.rng.pick(names::female_names(family.ethnicity)),
        };
        let identity = Identity {
            sex,
            birth,
            surname: names::surname_for(family.surname, sex),
            given_name: given_name.to_owned(),
            patronymic: names::patronymic(father_name, sex, family.style),
            ethnicity: family.ethnicity,
            address: address.clone(),
        };
        let deceased_on = self.natural_death(birth);
        self.person(rows, identity, Fate::died(deceased_on))
    }

    pub(super) fn link(
        rows: &mut RegistryRows,
        parent: Iin,
        child: Iin,
        role: ParentRole,
        status: LinkStatus,
        status_since: Option<NaiveDate>,
    ) {
        rows.family_links.push(FamilyLink {
            parent,
            child,
            parent_role: role,
            origin: LinkOrigin::Birth,
            established_on: None,
            status,
            status_since,
        });
    }

    /// Birth dates of up to `count` children of a mother, from her 19th
    /// birthday to her 42nd or `latest`, at least ten months apart.
    pub(super) fn child_births(
        &mut self,
        mother_birth: NaiveDate,
        count: usize,
        latest: NaiveDate,
    ) -> Vec<NaiveDate> {
        let limit = years_after(mother_birth, 42).min(latest);
        let mut births = Vec::new();
        let mut earliest = years_after(mother_birth, 19);
        for _ in 0..count {
            let last = years_after(earliest, 6).min(limit);
            if earliest > last {
                break;
            }
            let birth = self.rng.date_between(earliest, last);
            births.push(birth);
            earliest = days_after(birth, 300);
        }
        births
    }
}
