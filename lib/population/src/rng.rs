//! A small seeded pseudo-random generator, written out here so that a seed
//! gives the same population and the same fault decisions on every machine
//! and with every version of the dependencies.
//!
//! The algorithm is SplitMix64 (Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", 2014; the constants of Vigna's reference
//! `splitmix64.c`). It is fast, passes BigCrush, and its state is one word,
//! so independent streams are derived by mixing a stream number into the
//! seed. Not for anything secret.

use chrono::{Days, NaiveDate};

#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a bijective mix of one word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent stream for one purpose (say, the notary's powers of
    /// attorney) under the same seed, so adding draws to one stream never
    /// shifts another.
    pub fn for_stream(seed: u64, stream: u64) -> Rng {
        Rng::new(mix(seed ^ mix(stream.wrapping_add(GOLDEN_GAMMA))))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// Uniform in [0, 1), with 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Uniform in 0..n (n > 0), without modulo bias (Lemire's widening
    /// multiply with rejection).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            let low = product as u64;
            if low >= n.wrapping_neg() % n {
                return (product >> 64) as u64;
            }
        }
    }

    /// Uniform in low..=high.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "between({low}, {high})");
        low + self.below(high - low + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given non-negative weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut ticket = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if ticket < u64::from(*w) {
                return i;
            }
            ticket -= u64::from(*w);
        }
        unreachable!("ticket below the total weight")
    }

    /// A date in first..=last (first <= last).
    pub fn date_between(&mut self, first: NaiveDate, last: NaiveDate) -> NaiveDate {
        let span = (last - first).num_days();
        assert!(span >= 0, "date_between({first}, {last})");
        first + Days::new(self.below(span as u64 + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64_outputs() {
        // splitmix64.c seeded with 0 (the published first outputs).
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn streams_of_one_seed_differ_and_repeat() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::for_stream(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::for_stream(7, 2);
                move |_| r.next_u64()
            })
            .collect();
        let again: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::for_stream(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        assert_ne!(a, b);
        assert_eq!(a, again);
    }

    #[test]
    fn bounded_draws_stay_in_range_and_cover_it() {
        let mut rng = Rng::new(42);
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            seen[rng.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|n| (800..1200).contains(n)), "{seen:?}");
        for _ in 0..1_000 {
            let d = rng.date_between(
                NaiveDate::from_ymd_opt(2020, 2, 28).unwrap(),
                NaiveDate::from_ymd_opt(2020, 3, 1).unwrap(),
            );
            assert!(
                d.to_string().as_str() >= "2020-02-28" && d.to_string().as_str() <= "2020-03-01"
            );
        }
        assert_eq!(rng.weighted(&[0, 5, 0]), 1);
    }
}
