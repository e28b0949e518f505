//! # fintra-store-timescale — the warm tier
//!
//! This crate will hold `TimescaleEventStore`: a time-partitioned event log that uses TimescaleDB
//! hypertables when the extension is present and native range partitions when it is not, with
//! per-stream head rows for optimistic concurrency and rollups for time-series queries
//! (DESIGN §4, issue 7).
//!
//! It has no public items yet: nothing here pretends to work before it does.
