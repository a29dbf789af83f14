//! The synthetic population: a deterministic generator of people with valid
//! IINs, families, and the cases the family-and-children services are about.
//!
//! The same seed, size and `as_of` date give the same people, byte for
//! byte, on every machine: the only randomness is [`crate::rng::Rng`], drawn
//! in a fixed order, and nothing depends on the clock (every date is
//! relative to `as_of`, a fixed default). The generator is an iterator of
//! [`Batch`]es of about [`BATCH_PEOPLE`] people, each self-contained (every
//! IIN its links name is in the batch), so a million people stream through
//! in bounded memory and each batch is one transaction.
//!
//! People come in family groups, drawn by [`CaseShares`]:
//! - couples with 0-4 children (the rest of the shares), single adults,
//!   mothers raising children alone (the father "recorded from the mother's
//!   words", seed 002 standard row 8 item 4);
//! - children left without parental care, the subject of seeds 001-003 and
//!   seed 004 services 1, 2, 6, 7: parents who died, were deprived of (or
//!   restricted in) parental rights, or were declared missing (seed 002
//!   standard row 8 item 4 lists these court decisions and certificates).
//!   Each such group of siblings is placed under guardianship (under 14) or
//!   trusteeship (14 to 18) with a relative, placed with a foster carer, or
//!   not placed yet;
//! - persons wishing to adopt, with their application and conclusion (seed
//!   004 service 9), and families who adopted a child left without parental
//!   care (seed 000; seed 004 service 10).
//!
//! Modelling choices that are not regulation facts, stated once here: the
//! guardianship/trusteeship age split at 14 (the seeds name the two forms,
//! опека/қорғаншылық and попечительство/қамқоршылық; the split is the
//! family-law rule), with a guardianship becoming a trusteeship on the
//! ward's 14th birthday; identity cards from age 16, valid ten years, and
//! birth certificates before that; a conclusion on an adoption application
//! within 15 calendar days (seed 004 service 9, ¶5: 1 + 13 + 1 days).

pub mod names;
mod places;

pub use names::{Ethnicity, PatronymicStyle};

use crate::model::{
    Address, AdoptionCandidate, CandidacyStatus, CareArrangement, CareKind, CaseEntry, CaseKind,
    DocumentKind, FamilyLink, IdentityDocument, LinkOrigin, LinkStatus, ParentRole, Person,
    RegistryRows,
};
use crate::rng::Rng;
use chrono::{Datelike, Days, Months, NaiveDate};
use egov_trust::iin::{Iin, Sex};
use names::MaleName;
use std::collections::HashMap;

pub const DEFAULT_SEED: u64 = 1;
pub const DEFAULT_PEOPLE: usize = 10_000;
/// People per batch (a batch ends at the first family group that reaches
/// it). Fixed, because the notary's powers of attorney are drawn per batch.
pub const BATCH_PEOPLE: usize = 5_000;
/// The largest family group, so the last groups fit the requested size.
const MAX_GROUP: usize = 12;

/// The date the population describes ("today" for ages, validity and
/// statuses). Fixed, so that the population does not change with the day it
/// is generated; pass a later one to `egovctl seed --as-of` to refresh it.
pub fn default_as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("a real date")
}

#[derive(Debug, Clone, PartialEq)]
pub struct PopulationConfig {
    pub seed: u64,
    /// Exactly this many people are generated.
    pub people: usize,
    pub as_of: NaiveDate,
    pub shares: CaseShares,
}

impl PopulationConfig {
    pub fn new(seed: u64, people: usize) -> PopulationConfig {
        PopulationConfig {
            seed,
            people,
            as_of: default_as_of(),
            shares: CaseShares::default(),
        }
    }
}

/// How often each case occurs. The first group are shares of family groups
/// (the rest are couples with children); the others are shares within a
/// case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseShares {
    /// One adult living alone.
    pub single_adult: f64,
    /// A mother raising children alone.
    pub single_mother: f64,
    /// Minors whose parents (or sole parent) died.
    pub orphaned: f64,
    /// Minors whose parents were deprived of (or restricted in) parental
    /// rights.
    pub parents_deprived: f64,
    /// Minors whose parents were declared missing.
    pub parents_missing: f64,
    /// A couple or a single woman who applied to adopt.
    pub adoption_candidates: f64,
    /// A couple who adopted a child left without parental care.
    pub adoptive_families: f64,
    /// Of children left without parental care: placed under guardianship or
    /// trusteeship with a relative.
    pub placed_with_guardian: f64,
    /// Of children left without parental care: placed with a foster carer.
    /// The rest are not placed yet.
    pub placed_in_foster_care: f64,
    /// Of court decisions on parental rights: restrictions rather than
    /// deprivations.
    pub restricted_instead_of_deprived: f64,
    /// Of people aged 65 and over: recorded as deceased.
    pub elderly_deceased: f64,
}

impl Default for CaseShares {
    fn default() -> CaseShares {
        CaseShares {
            single_adult: 0.22,
            single_mother: 0.08,
            orphaned: 0.02,
            parents_deprived: 0.015,
            parents_missing: 0.006,
            adoption_candidates: 0.01,
            adoptive_families: 0.006,
            placed_with_guardian: 0.6,
            placed_in_foster_care: 0.25,
            restricted_instead_of_deprived: 0.2,
            elderly_deceased: 0.15,
        }
    }
}

impl CaseShares {
    fn groups(&self) -> [f64; 7] {
        [
            self.single_adult,
            self.single_mother,
            self.orphaned,
            self.parents_deprived,
            self.parents_missing,
            self.adoption_candidates,
            self.adoptive_families,
        ]
    }

    /// Every share is in 0..=1, and the shares that split one whole do not
    /// exceed it.
    pub fn validate(&self) -> Result<(), String> {
        let all = self.groups().into_iter().chain([
            self.placed_with_guardian,
            self.placed_in_foster_care,
            self.restricted_instead_of_deprived,
            self.elderly_deceased,
        ]);
        if all.clone().any(|s| !(0.0..=1.0).contains(&s)) {
            return Err("every share must be between 0 and 1".into());
        }
        if self.groups().iter().sum::<f64>() > 1.0 {
            return Err("the family-group shares add up to more than 1".into());
        }
        if self.placed_with_guardian + self.placed_in_foster_care > 1.0 {
            return Err("the placement shares add up to more than 1".into());
        }
        Ok(())
    }
}

/// One self-contained part of the population.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// 0, 1, 2, … in generation order.
    pub index: u64,
    pub rows: RegistryRows,
}

/// Generates the population as batches.
pub struct Generator {
    config: PopulationConfig,
    rng: Rng,
    produced: usize,
    next_batch: u64,
    /// The next serial per birth date and sex, so IINs never repeat.
    serials: HashMap<(NaiveDate, bool), u32>,
    id_cards: u64,
    birth_certificates: u64,
    region_weights: Vec<u32>,
}

/// The draw order's stream for the individuals (the notary uses another).
const STREAM_PEOPLE: u64 = 1;

impl Generator {
    pub fn new(config: PopulationConfig) -> Result<Generator, String> {
        config.shares.validate()?;
        Ok(Generator {
            rng: Rng::for_stream(config.seed, STREAM_PEOPLE),
            config,
            produced: 0,
            next_batch: 0,
            serials: HashMap::new(),
            id_cards: 0,
            birth_certificates: 0,
            region_weights: places::region_weights(),
        })
    }

    pub fn config(&self) -> &PopulationConfig {
        &self.config
    }
}

impl Iterator for Generator {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.produced >= self.config.people {
            return None;
        }
        let mut rows = RegistryRows::default();
        while rows.persons.len() < BATCH_PEOPLE && self.produced < self.config.people {
            let before = rows.persons.len();
            let remaining = self.config.people - self.produced;
            if remaining < MAX_GROUP {
                self.single_adult(&mut rows);
            } else {
                self.family_group(&mut rows);
            }
            self.produced += rows.persons.len() - before;
        }
        let index = self.next_batch;
        self.next_batch += 1;
        Some(Batch { index, rows })
    }
}

// === dates ===

/// The same day `years` years earlier (29 February becomes 28 February).
pub fn years_before(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(years * 12))
        .expect("dates stay in range")
}

/// The same day `years` years later (29 February becomes 28 February).
pub fn years_after(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_add_months(Months::new(years * 12))
        .expect("dates stay in range")
}

fn days_after(date: NaiveDate, days: u64) -> NaiveDate {
    date + Days::new(days)
}

fn days_before(date: NaiveDate, days: u64) -> NaiveDate {
    date - Days::new(days)
}

/// Full years of a person born on `birth` on `date`.
pub fn age_on(birth: NaiveDate, date: NaiveDate) -> u32 {
    let mut age = date.year() - birth.year();
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

/// What a new person gets from their family.
struct Identity {
    sex: Sex,
    birth: NaiveDate,
    surname: String,
    given_name: String,
    patronymic: Option<String>,
    ethnicity: Ethnicity,
    address: Address,
}

/// Whether a person has died or been declared missing, and when.
#[derive(Clone, Copy, Default)]
struct Fate {
    deceased_on: Option<NaiveDate>,
    declared_missing_on: Option<NaiveDate>,
}

impl Fate {
    const ALIVE: Fate = Fate {
        deceased_on: None,
        declared_missing_on: None,
    };

    fn died(on: Option<NaiveDate>) -> Fate {
        Fate {
            deceased_on: on,
            declared_missing_on: None,
        }
    }
}

/// A family's shared traits.
#[derive(Clone)]
struct Family {
    ethnicity: Ethnicity,
    /// Male form.
    surname: &'static str,
    style: PatronymicStyle,
    address: Address,
}

/// A man of the family, with the name his children's patronymic comes from.
struct Father {
    iin: Iin,
    name: &'static MaleName,
}

/// The placement of a group of siblings left without parental care.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    Guardian,
    FosterCarer,
    NotPlaced,
}

/// Why the siblings are left without parental care.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Loss {
    Death,
    Deprivation,
    Missing,
}

impl Generator {
    fn as_of(&self) -> NaiveDate {
        self.config.as_of
    }

    fn family_group(&mut self, rows: &mut RegistryRows) {
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

    // === people ===

    fn ethnicity(&mut self) -> Ethnicity {
        // Roughly the shares of Kazakh and Russian names in the country.
        if self.rng.chance(0.72) {
            Ethnicity::Kazakh
        } else {
            Ethnicity::Russian
        }
    }

    fn family(&mut self) -> Family {
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

    fn address(&mut self) -> Address {
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
    fn birth_for_age(&mut self, min_age: u32, max_age: u32) -> NaiveDate {
        let first = days_after(years_before(self.as_of(), max_age + 1), 1);
        let last = years_before(self.as_of(), min_age);
        self.rng.date_between(first, last)
    }

    fn iin(&mut self, birth: NaiveDate, sex: Sex) -> Iin {
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
    fn document(&mut self, birth: NaiveDate, deceased_on: Option<NaiveDate>) -> IdentityDocument {
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

    fn person(&mut self, rows: &mut RegistryRows, identity: Identity, fate: Fate) -> Iin {
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
    fn natural_death(&mut self, birth: NaiveDate) -> Option<NaiveDate> {
        if age_on(birth, self.as_of()) < 65 || !self.rng.chance(self.config.shares.elderly_deceased)
        {
            return None;
        }
        let first = years_after(birth, 60).max(years_before(self.as_of(), 10));
        Some(self.rng.date_between(first, days_before(self.as_of(), 1)))
    }

    /// An adult man or woman of the family, with their own parents' names.
    fn adult(
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

    fn sex(&mut self) -> Sex {
        if self.rng.chance(0.5) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// A child of the family born on `birth`; `father` gives the
    /// patronymic, else a name "from the mother's words".
    fn child(
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

    fn link(
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
    fn child_births(
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

    // === family groups ===

    fn single_adult(&mut self, rows: &mut RegistryRows) {
        let family = self.family();
        let sex = self.sex();
        let birth = self.birth_for_age(18, 90);
        let deceased_on = self.natural_death(birth);
        self.adult(rows, &family, sex, birth, false, Fate::died(deceased_on));
    }

    /// A couple (the wife took the husband's surname in most families).
    fn couple(
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

    fn couple_with_children(&mut self, rows: &mut RegistryRows) {
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

    fn single_mother(&mut self, rows: &mut RegistryRows) {
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

    /// Minor siblings left without parental care, their parents, and their
    /// carer if they are placed.
    fn children_without_care(&mut self, rows: &mut RegistryRows, loss: Loss) {
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
    fn relative_carer(
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
    fn foster_family(&mut self, rows: &mut RegistryRows) -> (Iin, Address) {
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

    /// A couple or a woman alone who applied to adopt (seed 004 service 9).
    fn adoption_candidates(&mut self, rows: &mut RegistryRows) {
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
    fn conclusion(&mut self, applied_on: NaiveDate) -> (CandidacyStatus, Option<NaiveDate>) {
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
    fn adoptive_family(&mut self, rows: &mut RegistryRows) {
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

#[cfg(test)]
mod tests;
