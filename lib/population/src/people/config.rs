//! What to generate: the seed, the size, the as-of date and how often each
//! case occurs.

use chrono::NaiveDate;

pub const DEFAULT_SEED: u64 = 1;
pub const DEFAULT_PEOPLE: usize = 10_000;
/// People per batch (a batch ends at the first family group that reaches
/// it). Fixed, because the notary's powers of attorney are drawn per batch.
pub const BATCH_PEOPLE: usize = 5_000;
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
    pub(super) fn groups(&self) -> [f64; 7] {
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
