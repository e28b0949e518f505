//! Test support for fintra users and store authors (feature `testing`).
//!
//! - [`AggregateSpec`]: given/when/then for deciders, with a fixed clock and deterministic ids.
//! - [`conformance`]: the suite every [`EventStore`](crate::EventStore) runs in full, and the
//!   [`event_store_conformance!`](crate::event_store_conformance) macro that turns it into one test
//!   per property.
//!
//! These helpers panic with a descriptive message on a failed expectation: they are assertions.

pub mod conformance;
mod spec;

pub use spec::{AggregateSpec, Outcome};
