//! # fintra-projections — the read side
//!
//! This crate will hold the checkpointed projection runner, read-model sinks (PostgreSQL JSONB,
//! Redis), the Views, Pulse rules and webhook delivery, and the Kafka publisher (DESIGN §5,
//! issue 6).
//!
//! It has no public items yet: nothing here pretends to work before it does.
