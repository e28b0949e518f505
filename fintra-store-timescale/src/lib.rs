//! # fintra-store-timescale — the warm tier
//!
//! [`TimescaleEventStore`] keeps the event log in a table partitioned by `recorded_at`: a
//! TimescaleDB hypertable when the extension is installed, native PostgreSQL range partitions
//! when it is not (the same public API either way; [`WarmLayout`] says which). It passes the
//! whole kernel conformance suite on both.
//!
//! - **Optimistic concurrency without a unique index.** A partitioned table cannot hold a
//!   unique `(stream_id, version)` index across partitions; the per-stream head row
//!   (`fintra_streams`), updated in the append statement, serialises a stream's writers and
//!   makes `ExpectedVersion` exact. Event ids (idempotency keys) are claimed in a narrow
//!   `fintra_event_ids` table in the same statement.
//! - **The hot store's gap-safe global order**: positions encode the writer's transaction
//!   (`xid8 * 2^20 + n`), and the global log only shows transactions older than every running
//!   one. The statements are the hot store's (`fintra-store-postgres` with
//!   [`EventLayout::Partitioned`](fintra_store_postgres::EventLayout)).
//! - **Indexes for append speed**: B-trees on `position` and `(stream_id, stream_version)`, a
//!   BRIN on `recorded_at`; no index on `event_id`.
//! - **Time series** ([`series`]): events of a tenant, category or type between two instants,
//!   paged; metric points in time buckets; daily rollups (incremental tables, or a continuous
//!   aggregate with TimescaleDB); [`TwinRollups`] feeds daily balances per account and daily
//!   spend per category from the Financial Twin's events.
//! - **Tiering** ([`tiering`]): partitions older than a cutoff move to a
//!   [`ParquetArchive`](fintra_store_parquet::ParquetArchive) — export, verify count and hash,
//!   drop — resumable after an interruption at any step; archives restore into the store; a
//!   [`TieredLog`] reads the global log across cold archives and the warm table.
//!
//! See `docs/timescale.md`.

mod options;
mod schema;
pub mod series;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tiering")]
pub mod tiering;
#[cfg(feature = "twin")]
mod twin;

pub use options::TimescaleStoreOptions;
pub use schema::{Maintenance, Partition};
pub use store::{TimescaleEventStore, WarmLayout};
#[cfg(feature = "tiering")]
pub use tiering::{TieredLog, Tiering, TieringReport, TieringStep};
#[cfg(feature = "twin")]
pub use twin::TwinRollups;

#[cfg(doctest)]
#[doc = include_str!("../../docs/timescale.md")]
struct TimescaleGuide;
