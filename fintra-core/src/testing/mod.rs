//! Test support for fintra users and store authors (feature `testing`).
//!
//! - [`AggregateSpec`]: given/when/then for deciders, with a fixed clock and deterministic ids.
//! - [`simulation`]: a seeded random workload against a [`FaultyStore`], checked against a
//!   reference model (`FINTRA_SEED=n` replays a run).
//! - [`conformance`]: the suite every [`EventStore`](crate::EventStore) runs in full, and the
//!   [`event_store_conformance!`](crate::event_store_conformance) macro that turns it into one test
//!   per property.
//!
//! These helpers panic with a descriptive message on a failed expectation: they are assertions.

pub mod conformance;
mod faulty;
pub mod simulation;
pub mod snapshots;
mod spec;

pub use faulty::{FaultRates, FaultyStore, InjectedFault, SimRng};
pub use spec::{AggregateSpec, Outcome};
