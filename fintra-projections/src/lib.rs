//! # fintra-projections — the read side
//!
//! Projections consume the global log from a checkpoint and keep read models up to date:
//!
//! - [`ProjectionRunner`] reads pages of the log (gap-safe on PostgreSQL) into a bounded queue and
//!   hands them to a [`Sink`]: catch-up, then live (woken by the store's `NOTIFY`, polling as a
//!   fallback), graceful shutdown, a [`PoisonPolicy`] for events a projection refuses, `tracing`
//!   spans. Several projections run concurrently, each with its own checkpoint.
//! - Sinks: [`PgSink`] (the change and the checkpoint commit in one transaction: exactly-once
//!   effect), [`RedisSink`] (version-guarded idempotent writes, pipelined), [`SharedViewsSink`]
//!   (view documents in process memory, read through [`SharedViews`]), [`MemorySink`]
//!   (embedded default, tests), and [`append_inline`] for read models that must commit with the
//!   write itself.
//! - Blue-green rebuilds: every sink is versioned; a new version builds alongside the live one,
//!   then [`PgSink::activate`] / [`RedisSink::activate`] switch readers atomically.
//!
//! - [`views::TwinViews`]: the Views (Unified 360, spend by month and category, net-worth
//!   timeline) as Redis documents with provenance; [`views::query_transactions`].
//! - [`pulse`]: rules that fire once per transition and signed webhook delivery.
//! - [`kafka::KafkaPublisher`]: the log relayed to Kafka (`core.events`), keyed and partitioned by
//!   stream, checkpointed after the broker acknowledges (at-least-once).
//!
//! See `docs/projections.md`.

mod checkpoints;
pub mod fleet;
pub mod kafka;
pub mod lease;
mod memory;
mod pg;
pub mod pulse;
mod redis;
mod runner;
mod shared;
pub mod views;

pub use memory::{MemoryProjection, MemorySink};
pub use pg::{ParkedEvent, PgProjection, PgSink, append_inline};
pub use redis::{RedisProjection, RedisSink, RedisViews};
pub use runner::{
    PoisonPolicy, ProjectionError, ProjectionRunner, RunReport, RunnerOptions, Sink, Wake,
};
pub use shared::{SharedViews, SharedViewsSink, ViewDocument};

#[cfg(doctest)]
#[doc = include_str!("../../docs/projections.md")]
struct ProjectionsGuide;

#[cfg(doctest)]
#[doc = include_str!("../../docs/kafka.md")]
struct KafkaGuide;

#[cfg(doctest)]
#[doc = include_str!("../../docs/scaling.md")]
struct ScalingGuide;
