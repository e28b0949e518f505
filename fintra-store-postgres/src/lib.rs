//! # fintra-store-postgres — the hot tier
//!
//! This crate will hold `PgEventStore`: the complete fintra event store on PostgreSQL 15+ with
//! gap-safe global order, idempotent batch append, bulk import through `COPY`, snapshots and
//! appends inside the caller's transaction (DESIGN §4, issue 3).
//!
//! It has no public items yet: nothing here pretends to work before it does.
