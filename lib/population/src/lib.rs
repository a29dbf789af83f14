//! The synthetic population of egov-mesh, a fixture library: people with
//! valid IINs, their families and the cases the family-and-children services
//! are about (for ЖТ МДБ), and the powers of attorney they gave (for БНАЖ).
//! `egovctl seed`, the benchmarks and the registries' tests draw from it;
//! the registries store its rows.
//!
//! Everything is deterministic: the same seed, size and as-of date give the
//! same rows on every machine, because the only randomness is [`rng::Rng`],
//! drawn in a fixed order, and no date depends on the clock.
//!
//! # Layout
//! - [`people`]: the people generator, batch by batch, and its rows;
//! - [`powers`]: powers of attorney drawn from a batch of people, and their rows;
//! - [`dates`]: whole years and ages, as the generators count them;
//! - [`rng`]: the seeded generator (also the registries' fault draws).

pub mod dates;
pub mod people;
pub mod powers;
pub mod rng;
