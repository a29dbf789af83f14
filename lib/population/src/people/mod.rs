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

mod adoption;
mod config;
mod groups;
pub mod names;
mod person;
mod places;
mod records;
mod without_care;

pub use config::{
    BATCH_PEOPLE, CaseShares, DEFAULT_PEOPLE, DEFAULT_SEED, PopulationConfig, default_as_of,
};
pub use names::{Ethnicity, PatronymicStyle};
pub use records::{
    Address, AdoptionCandidate, CandidacyStatus, CareArrangement, CareKind, CaseEntry, CaseKind,
    DocumentKind, FamilyLink, IdentityDocument, LinkOrigin, LinkStatus, ParentRole, Person,
    RegistryRows,
};

use crate::rng::Rng;
use chrono::NaiveDate;
use std::collections::HashMap;

/// The largest family group, so the last groups fit the requested size.
const MAX_GROUP: usize = 12;

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

    /// The date the population describes.
    fn as_of(&self) -> NaiveDate {
        self.config.as_of
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

#[cfg(test)]
mod tests;
