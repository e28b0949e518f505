//! Helpers shared by the guard's integration tests.

pub(crate) mod notes;
