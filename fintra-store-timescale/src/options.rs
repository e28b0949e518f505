//! Options of [`TimescaleEventStore`](crate::TimescaleEventStore).

use chrono::TimeDelta;
use fintra_store_postgres::PgStoreOptions;

/// How the warm store connects, partitions and compresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimescaleStoreOptions {
    /// Pool, timeouts, schema, notifications: as for the hot store. The layout is always
    /// [`EventLayout::Partitioned`](fintra_store_postgres::EventLayout::Partitioned), whatever
    /// this says.
    pub store: PgStoreOptions,
    /// The time each partition (or TimescaleDB chunk) covers: whole seconds, at least one
    /// minute. Fixed by the first [`migrate`](crate::TimescaleEventStore::migrate) of a schema;
    /// later values are ignored. Default 7 days.
    pub partition_interval: TimeDelta,
    /// Native layout: how many partitions [`maintain`](crate::TimescaleEventStore::maintain)
    /// keeps ready after the current one. Default 4.
    pub partitions_ahead: u32,
    /// TimescaleDB layout: compress chunks older than this (a compression policy). `None`:
    /// never. Default 30 days.
    pub compress_after: Option<TimeDelta>,
    /// TimescaleDB layout: a retention policy dropping chunks older than this **without
    /// archiving them**. `None` (the default): keep everything until tiering moves it to the
    /// cold archive, which is the safe way to age data out.
    pub retention: Option<TimeDelta>,
    /// Use TimescaleDB when the extension is installed in the database. `false`: native
    /// partitions even then. Fixed by the first `migrate` of a schema.
    pub use_timescaledb: bool,
}

impl Default for TimescaleStoreOptions {
    fn default() -> Self {
        Self {
            store: PgStoreOptions::default(),
            partition_interval: TimeDelta::days(7),
            partitions_ahead: 4,
            compress_after: Some(TimeDelta::days(30)),
            retention: None,
            use_timescaledb: true,
        }
    }
}
