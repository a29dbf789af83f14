//! The regulations as data (stub: being written).
