//! The individuals registry on the real PostgreSQL: storage, the look-up
//! rules, and seeding the synthetic population. Each test has its own
//! database.

mod helpers;
mod lookup;
mod seeding;
mod storage;
