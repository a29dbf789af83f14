//! The notary system on the real PostgreSQL: storage, the look-up rules, and
//! seeding the powers of attorney of the synthetic population. Each test has
//! its own database.

mod helpers;
mod lookup;
mod seeding;
