//! Powers of attorney for the synthetic population: valid, expired, revoked
//! and out of scope, each given by a parent or carer of a minor in the batch
//! to another adult of the batch, so a tester can present a representative
//! at the State Corporation (seed 001 §9 diagram 1, process 2: the operator
//! enters the representative's data under a notarised power of attorney).
//!
//! Deterministic like the population: one stream of [`Rng`] per batch,
//! dates relative to the population's as-of date. The term of a power of
//! attorney (at most three years here, one to three for expired ones) is a
//! modelling choice, not taken from the seeds.

mod records;

pub use records::{ANY_SERVICE, NotaryRows, PoaCase, PoaCaseKind, PowerOfAttorney};

use crate::dates::{age_on, years_after, years_before};
use crate::people::names::{self, Ethnicity, PatronymicStyle};
use crate::people::{Batch, LinkStatus, Person};
use crate::rng::Rng;
use chrono::{Datelike, Days, NaiveDate};
use egov_trust::iin::{Iin, Sex};
use std::collections::{HashMap, HashSet};

/// Every regulation code (the files of regulations/): what a look-up may
/// name as its service.
pub const SERVICE_CODES: &[&str] = &[
    "000", "001", "002", "003", "004-01", "004-02", "004-03", "004-04", "004-05", "004-06",
    "004-07", "004-08", "004-09", "004-10", "004-11",
];

/// The services whose State Corporation flow takes a representative under a
/// notarised power of attorney, so the scopes drawn come from these: seed
/// 001 §9 (diagram 1, processes 2-3); seed 002 Rules p.11; seed 003 §10;
/// seed 004 services 1-4 and 6, para 9 (processes 2-3) and para 10.
pub const SCOPE_CODES: &[&str] = &[
    "001", "002", "003", "004-01", "004-02", "004-03", "004-04", "004-06",
];

/// How many powers of attorney, and of which kind.
#[derive(Debug, Clone, PartialEq)]
pub struct PoaShares {
    /// Of the parents and carers of minors: those who gave a power of
    /// attorney.
    pub per_principal: f64,
    /// Of the powers of attorney (the rest are valid):
    pub expired: f64,
    pub revoked: f64,
    pub out_of_scope: f64,
    /// Of the revoked ones: also expired since (the answer stays revoked).
    pub revoked_then_expired: f64,
    /// Of the valid ones: general, for any service ("*").
    pub general: f64,
}

impl Default for PoaShares {
    fn default() -> PoaShares {
        PoaShares {
            per_principal: 0.2,
            expired: 0.15,
            revoked: 0.15,
            out_of_scope: 0.15,
            revoked_then_expired: 0.5,
            general: 0.3,
        }
    }
}

impl PoaShares {
    pub fn validate(&self) -> Result<(), String> {
        let all = [
            self.per_principal,
            self.expired,
            self.revoked,
            self.out_of_scope,
            self.revoked_then_expired,
            self.general,
        ];
        if all.iter().any(|s| !(0.0..=1.0).contains(s)) {
            return Err("every share must be between 0 and 1".into());
        }
        if self.expired + self.revoked + self.out_of_scope > 1.0 {
            return Err(
                "the expired, revoked and out-of-scope shares add up to more than 1".into(),
            );
        }
        Ok(())
    }
}

/// The draw stream of batch `index` (the individuals use stream 1).
fn stream(index: u64) -> u64 {
    (2 << 32) | index
}

/// The powers of attorney given within one batch of the population.
pub fn powers_of_attorney(
    seed: u64,
    as_of: NaiveDate,
    batch: &Batch,
    shares: &PoaShares,
) -> NotaryRows {
    let mut rng = Rng::for_stream(seed, stream(batch.index));
    let rows = &batch.rows;
    let people: HashMap<Iin, &Person> = rows.persons.iter().map(|p| (p.iin, p)).collect();
    let able = |iin: &Iin| {
        let person = people[iin];
        person.deceased_on.is_none()
            && person.declared_missing_on.is_none()
            && age_on(person.birth_date, as_of) >= 18
    };
    // Principals: parents (with their rights) and carers of minors, in the
    // batch's order.
    let mut seen = HashSet::new();
    let principals: Vec<Iin> = rows
        .family_links
        .iter()
        .filter(|l| {
            l.status == LinkStatus::Normal && age_on(people[&l.child].birth_date, as_of) < 18
        })
        .map(|l| l.parent)
        .chain(rows.care_arrangements.iter().map(|c| c.carer))
        .filter(|iin| able(iin) && seen.insert(*iin))
        .collect();
    let adults: Vec<Iin> = rows.persons.iter().map(|p| p.iin).filter(able).collect();

    let mut out = NotaryRows::default();
    for principal in principals {
        if !rng.chance(shares.per_principal) {
            continue;
        }
        let terms = draw_terms(&mut rng, shares, as_of);
        // Both parties were adults on the day of issue.
        let adult_then = |iin: &Iin| age_on(people[iin].birth_date, terms.issued_on) >= 18;
        if !adult_then(&principal) {
            continue;
        }
        let Some(representative) = (0..100)
            .map(|_| *rng.pick(&adults))
            .find(|candidate| *candidate != principal && adult_then(candidate))
        else {
            continue;
        };
        let (notary_name, notary_licence) = notary(&mut rng);
        assert!(out.powers_of_attorney.len() < 10_000, "numbers stay unique");
        let sequence = batch.index * 10_000 + out.powers_of_attorney.len() as u64;
        let number = format!("{}-{sequence:08}", terms.issued_on.year());
        out.cases.push(PoaCase {
            kind: terms.kind,
            number: number.clone(),
            service_code: terms.service_code,
        });
        out.powers_of_attorney.push(PowerOfAttorney {
            number,
            principal,
            representative,
            notary_name,
            notary_licence,
            issued_on: terms.issued_on,
            valid_until: terms.valid_until,
            scope: terms.scope,
            revoked_on: terms.revoked_on,
        });
    }
    out
}

/// A power of attorney's dates and scope, and the service to ask about.
struct Terms {
    kind: PoaCaseKind,
    issued_on: NaiveDate,
    valid_until: NaiveDate,
    revoked_on: Option<NaiveDate>,
    scope: Vec<String>,
    service_code: String,
}

fn draw_terms(rng: &mut Rng, shares: &PoaShares, as_of: NaiveDate) -> Terms {
    let day = |n: u64| Days::new(n);
    let roll = rng.next_f64();
    let kind = if roll < shares.expired {
        PoaCaseKind::Expired
    } else if roll < shares.expired + shares.revoked {
        PoaCaseKind::Revoked
    } else if roll < shares.expired + shares.revoked + shares.out_of_scope {
        PoaCaseKind::OutOfScope
    } else {
        PoaCaseKind::Valid
    };
    let also_expired = kind == PoaCaseKind::Revoked && rng.chance(shares.revoked_then_expired);

    let (issued_on, valid_until) = if kind == PoaCaseKind::Expired || also_expired {
        let term = rng.between(1, 3) as u32;
        let issued_on =
            rng.date_between(years_before(as_of, 6), years_before(as_of, term) - day(30));
        (issued_on, years_after(issued_on, term) - day(1))
    } else if kind == PoaCaseKind::Revoked {
        let issued_on = rng.date_between(years_before(as_of, 2), as_of - day(60));
        (issued_on, years_after(issued_on, 3) - day(1))
    } else {
        // In force for at least two and a half years after as_of.
        let issued_on = rng.date_between(as_of - day(180), as_of - day(1));
        (issued_on, years_after(issued_on, 3) - day(1))
    };
    let revoked_on = (kind == PoaCaseKind::Revoked).then(|| {
        let last = valid_until.min(as_of - day(1));
        rng.date_between(issued_on + day(7), last)
    });

    let (scope, service_code) = match kind {
        PoaCaseKind::OutOfScope => {
            let scope = codes(rng, 1, 2);
            let outside: Vec<&str> = SERVICE_CODES
                .iter()
                .copied()
                .filter(|c| !scope.iter().any(|s| s == c))
                .collect();
            let service = rng.pick(&outside).to_string();
            (scope, service)
        }
        _ if rng.chance(shares.general) => (
            vec![ANY_SERVICE.to_owned()],
            rng.pick(SCOPE_CODES).to_string(),
        ),
        _ => {
            let scope = codes(rng, 1, 3);
            let service = rng.pick(&scope).clone();
            (scope, service)
        }
    };

    Terms {
        kind,
        issued_on,
        valid_until,
        revoked_on,
        scope,
        service_code,
    }
}

/// From `min` to `max` different codes of [`SCOPE_CODES`], in list order.
fn codes(rng: &mut Rng, min: u64, max: u64) -> Vec<String> {
    let wanted = rng.between(min, max) as usize;
    let mut chosen: Vec<&str> = Vec::new();
    while chosen.len() < wanted {
        let code = *rng.pick(SCOPE_CODES);
        if !chosen.contains(&code) {
            chosen.push(code);
        }
    }
    SCOPE_CODES
        .iter()
        .filter(|c| chosen.contains(c))
        .map(|c| c.to_string())
        .collect()
}

/// A notary's full name and licence number.
fn notary(rng: &mut Rng) -> (String, String) {
    let ethnicity = if rng.chance(0.7) {
        Ethnicity::Kazakh
    } else {
        Ethnicity::Russian
    };
    let sex = if rng.chance(0.6) {
        Sex::Female
    } else {
        Sex::Male
    };
    let surname_root: &&str = rng.pick(names::surnames(ethnicity));
    let surname = names::surname_for(surname_root, sex);
    let given = match sex {
        Sex::Male => rng.pick(names::male_names(ethnicity)).name,
        Sex::Female => rng.pick(names::female_names(ethnicity)),
    };
    let father = rng.pick(names::male_names(ethnicity));
    let patronymic = names::patronymic(father, sex, PatronymicStyle::Russian)
        .expect("the Russian style always gives one");
    (
        format!("{surname} {given} {patronymic}"),
        format!("{:07}", rng.between(1, 30_000)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::{Generator, PopulationConfig, default_as_of};

    fn notary_rows(seed: u64, people: usize) -> (Vec<Batch>, NotaryRows) {
        let batches: Vec<Batch> = Generator::new(PopulationConfig::new(seed, people))
            .unwrap()
            .collect();
        let mut all = NotaryRows::default();
        for batch in &batches {
            let rows = powers_of_attorney(seed, default_as_of(), batch, &PoaShares::default());
            all.powers_of_attorney.extend(rows.powers_of_attorney);
            all.cases.extend(rows.cases);
        }
        (batches, all)
    }

    #[test]
    fn principals_and_representatives_are_living_adults_of_the_population() {
        let (batches, rows) = notary_rows(4, 6_000);
        let people: HashMap<Iin, &Person> = batches
            .iter()
            .flat_map(|b| b.rows.persons.iter())
            .map(|p| (p.iin, p))
            .collect();
        for power in &rows.powers_of_attorney {
            assert_ne!(power.principal, power.representative);
            for iin in [power.principal, power.representative] {
                let person = people[&iin];
                assert!(person.deceased_on.is_none());
                assert!(age_on(person.birth_date, power.issued_on) >= 18);
            }
            assert!(power.valid_until > power.issued_on);
            assert!(
                power
                    .revoked_on
                    .is_none_or(|r| r > power.issued_on && r < default_as_of())
            );
        }
    }

    #[test]
    fn one_seed_gives_the_same_powers_of_attorney() {
        assert_eq!(notary_rows(9, 5_500).1, notary_rows(9, 5_500).1);
        assert_ne!(notary_rows(9, 5_500).1, notary_rows(10, 5_500).1);
    }

    /// Pins the draws: update only on purpose (seeded databases change).
    #[test]
    fn seed_1_keeps_its_powers_of_attorney_across_versions() {
        let (_, rows) = notary_rows(1, 10_000);
        let first = &rows.powers_of_attorney[0];
        assert_eq!(
            (
                rows.powers_of_attorney.len(),
                first.number.as_str(),
                first.representative.to_string()
            ),
            (360, "2026-00000000", "850610376746".to_owned())
        );
    }

    #[test]
    fn the_service_codes_are_the_regulations_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../regulations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".toml").map(str::to_owned)
            })
            .collect();
        files.sort();
        assert_eq!(files, SERVICE_CODES);
        assert!(SCOPE_CODES.iter().all(|c| SERVICE_CODES.contains(c)));
    }
}
