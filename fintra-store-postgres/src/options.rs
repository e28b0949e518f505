//! Connection and behaviour options of [`PgEventStore`](crate::PgEventStore).

use std::time::Duration;

use fintra_core::{Error, Result, TenantId};

use crate::GroupCommit;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

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
    /// Act as this role on every connection (row-level security does not apply to the tables'
    /// owner), set at connection start so a `RESET ROLE` returns to it. Letters, digits and `_`
    /// only. A session that can run its own SQL can still `SET ROLE` to any role its login role
    /// may use: against such a tenant, bind a login role of its own instead
    /// ([`PgEventStore::bind_tenant_role`](crate::PgEventStore::bind_tenant_role)).
    pub session_role: Option<String>,
    /// The shape of the events table this store writes to ([`EventLayout::Single`] unless a
    /// warm store set it up partitioned).
    pub layout: EventLayout,
    /// Group commit: concurrent [`EventStore::append`](fintra_core::EventStore::append)s to
    /// different streams share one statement and one commit ([`GroupCommit`]). `None` (the
    /// default): every append is its own statement. Appends inside a caller's transaction are
    /// never grouped.
    pub group_commit: Option<GroupCommit>,
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
            group_commit: None,
        }
    }
}

impl PgStoreOptions {
    /// Checks the options that would otherwise fail later, or panic inside the pool.
    ///
    /// # Errors
    /// `InvalidInput` naming the option: no connections, a zero acquire timeout, a schema, role
    /// or channel that is not a plain identifier.
    pub fn validate(&self) -> Result<()> {
        if self.max_connections == 0 {
            return Err(Error::invalid("max_connections", "a pool needs at least one connection"));
        }
        if self.acquire_timeout_ms == 0 {
            return Err(Error::invalid("acquire_timeout_ms", "must be at least 1 ms"));
        }
        let plain = [
            ("schema", self.schema.as_deref()),
            ("session_role", self.session_role.as_deref()),
            ("notify_channel", Some(self.notify_channel.as_str())),
        ];
        for (field, value) in plain {
            if value.is_some_and(|v| !crate::store::valid_role(v)) {
                return Err(Error::invalid(field, "letters, digits and _ only (at most 63)"));
            }
        }
        if let Some(group) = &self.group_commit {
            group.validate()?;
        }
        Ok(())
    }

    /// Connect options for `url` carrying these options' session settings as start-up
    /// parameters — `statement_timeout`, `search_path`, `fintra.tenant_id` and `role` — so a
    /// `RESET` (which the pool runs on every returned connection) restores them rather than
    /// clearing them.
    ///
    /// # Errors
    /// `InvalidInput` for a bad URL or option.
    pub fn connect_options(&self, url: &str) -> Result<PgConnectOptions> {
        self.validate()?;
        let mut connect: PgConnectOptions =
            url.parse().map_err(|e| Error::invalid("url", format!("{e}")))?;
        if let Some(ms) = self.statement_timeout_ms {
            connect = connect.options([("statement_timeout", ms.to_string())]);
        }
        if let Some(schema) = &self.schema {
            connect = connect.options([("search_path", schema.as_str())]);
        }
        if let Some(tenant) = &self.session_tenant {
            connect = connect.options([("fintra.tenant_id", tenant.as_str())]);
        }
        if let Some(role) = &self.session_role {
            connect = connect.options([("role", role.as_str())]);
        }
        Ok(connect)
    }

    /// Pool options with these limits and fintra's release check: a connection that comes back
    /// inside a transaction is closed, and every other has its session reset (role, settings,
    /// advisory locks). Use it when building a pool of your own for
    /// [`PgEventStore::from_pool`](crate::PgEventStore::from_pool):
    ///
    /// ```no_run
    /// # async fn demo() -> fintra_core::Result<()> {
    /// use fintra_store_postgres::{PgEventStore, PgStoreOptions};
    /// let options = PgStoreOptions::default();
    /// let url = "postgres://postgres@127.0.0.1/postgres";
    /// let pool = options.pool_options()?.connect_lazy_with(options.connect_options(url)?);
    /// let store = PgEventStore::from_pool(pool, &options)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` as [`PgStoreOptions::validate`].
    pub fn pool_options(&self) -> Result<PgPoolOptions> {
        self.validate()?;
        let options = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(Duration::from_millis(self.acquire_timeout_ms));
        Ok(crate::conn::with_release_hook(options))
    }
}
