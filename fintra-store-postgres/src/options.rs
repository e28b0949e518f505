//! Connection and behaviour options of [`PgEventStore`](crate::PgEventStore).

use fintra_core::TenantId;

/// How [`PgEventStore::connect`](crate::PgEventStore::connect) builds its pool, and how the store
/// behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgStoreOptions {
    /// Most pooled connections.
    pub max_connections: u32,
    /// How long to wait for a pooled connection before failing with `Backend`.
    pub acquire_timeout_ms: u64,
    /// Server-side `statement_timeout` for every connection; `None` keeps the server default.
    pub statement_timeout_ms: Option<u64>,
    /// Send a `NOTIFY` on [`NOTIFY_CHANNEL`](crate::NOTIFY_CHANNEL) with every append, so
    /// [`PgLogListener`](crate::PgLogListener)s wake up. Costs a little at commit.
    pub notify: bool,
    /// The channel appends notify and listeners listen on (default
    /// [`NOTIFY_CHANNEL`](crate::NOTIFY_CHANNEL)); give each fintra schema in one database its
    /// own. Letters, digits and `_`.
    pub notify_channel: String,
    /// Use this schema (`search_path`) instead of the server default. Letters, digits and `_`.
    pub schema: Option<String>,
    /// Set `fintra.tenant_id` on every connection (what row-level security keys on).
    pub session_tenant: Option<TenantId>,
    /// `SET ROLE` to this role on every connection (row-level security does not apply to the
    /// tables' owner). Letters, digits and `_` only.
    pub session_role: Option<String>,
    /// The shape of the events table this store writes to ([`EventLayout::Single`] unless a
    /// warm store set it up partitioned).
    pub layout: EventLayout,
}

/// The shape of the `fintra_events` table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventLayout {
    /// One table with unique constraints on `event_id` and `(stream_id, stream_version)`: the
    /// schema [`PgEventStore::migrate`](crate::PgEventStore::migrate) creates.
    #[default]
    Single,
    /// A table partitioned by `recorded_at` (native partitions or a TimescaleDB hypertable),
    /// which cannot hold unique constraints across partitions: event ids live in a narrow
    /// `fintra_event_ids (event_id PRIMARY KEY, position)` table written in the same statement,
    /// and versions are guarded by the head rows alone. `fintra-store-timescale` creates this
    /// schema; `migrate` refuses it.
    Partitioned,
}

impl Default for PgStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout_ms: 5_000,
            statement_timeout_ms: Some(30_000),
            notify: true,
            notify_channel: crate::NOTIFY_CHANNEL.to_owned(),
            schema: None,
            session_tenant: None,
            session_role: None,
            layout: EventLayout::Single,
        }
    }
}
