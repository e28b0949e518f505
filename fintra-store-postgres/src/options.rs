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
        }
    }
}
