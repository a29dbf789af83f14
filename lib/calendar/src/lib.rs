//! The Kazakh working calendar (stub: being written).
