//! [`TimescaleEventStore`]: construction, layout detection and the [`EventStore`]
//! implementation (the hot store's statements over the partitioned schema).

use std::sync::Arc;

use async_trait::async_trait;
use fintra_core::{
    AppendResult, Error, EventStore, ExpectedVersion, NewEvent, Position, ReadStreamOptions,
    RecordedEvent, Result, StreamId, StreamVersion,
};
use fintra_store_postgres::{EventLayout, PgEventStore};
use sqlx::{PgConnection, PgPool};

use crate::options::TimescaleStoreOptions;

/// Which of the two layouts a schema uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarmLayout {
    /// TimescaleDB hypertables, compression, continuous aggregates.
    TimescaleDb {
        /// The extension's version (`pg_extension.extversion`).
        version: String,
        /// The schema the extension's functions live in.
        schema: String,
    },
    /// Native declarative range partitions kept by
    /// [`TimescaleEventStore::maintain`], rollup tables maintained incrementally.
    NativePartitions,
}

impl WarmLayout {
    /// `timescaledb` or `native`: the name recorded in `fintra_warm_meta`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TimescaleDb { .. } => "timescaledb",
            Self::NativePartitions => "native",
        }
    }
}

/// The warm event store: a time-partitioned `fintra_events` table (a TimescaleDB hypertable when
/// the extension is installed, native range partitions otherwise) with the hot store's
/// guarantees — exact optimistic concurrency through per-stream head rows, idempotent retries,
/// gap-safe global order — plus time-series queries, rollups and tiering to the cold archive.
///
/// Cheap to clone. Implements the whole [`EventStore`] contract.
#[derive(Clone, Debug)]
pub struct TimescaleEventStore {
    pub(crate) log: PgEventStore,
    pub(crate) layout: WarmLayout,
    pub(crate) options: Arc<TimescaleStoreOptions>,
}

/// The TimescaleDB extension, when the database has it: `(version, schema)`.
async fn timescaledb_extension(pool: &PgPool) -> Result<Option<(String, String)>> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT e.extversion, n.nspname FROM pg_extension e \
         JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb'",
    )
    .fetch_optional(pool)
    .await
    .map_err(Error::backend)
}

/// The layout a schema was created with, if `migrate` has run.
async fn recorded_layout(pool: &PgPool) -> Result<Option<String>> {
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('fintra_warm_meta')::text")
        .fetch_one(pool)
        .await
        .map_err(Error::backend)?;
    if exists.is_none() {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT value FROM fintra_warm_meta WHERE key = 'layout'")
        .fetch_optional(pool)
        .await
        .map_err(Error::backend)
}

impl TimescaleEventStore {
    /// Connects a pool to `url` and detects the layout: the one the schema was created with,
    /// else TimescaleDB when the extension is installed (and
    /// [`use_timescaledb`](TimescaleStoreOptions::use_timescaledb) allows it), else native
    /// partitions. Does not create anything: call [`TimescaleEventStore::migrate`].
    ///
    /// # Errors
    /// `InvalidInput` for bad options, `Backend` when the server is unreachable.
    pub async fn connect(url: &str, options: TimescaleStoreOptions) -> Result<Self> {
        let store_options = partitioned(&options);
        let log = PgEventStore::connect(url, store_options).await?;
        Self::detect(log, options).await
    }

    /// Wraps an existing pool (its connections' `search_path` names the schema) and detects the
    /// layout as [`TimescaleEventStore::connect`] does.
    ///
    /// # Errors
    /// `InvalidInput` for bad options, `Backend`.
    pub async fn from_pool(pool: PgPool, options: TimescaleStoreOptions) -> Result<Self> {
        let log = PgEventStore::from_pool(pool, &partitioned(&options))?;
        Self::detect(log, options).await
    }

    async fn detect(log: PgEventStore, options: TimescaleStoreOptions) -> Result<Self> {
        check_interval(&options)?;
        let pool = log.pool();
        let extension = timescaledb_extension(pool).await?;
        let layout = match (recorded_layout(pool).await?.as_deref(), extension) {
            (Some("timescaledb"), Some((version, schema))) => {
                WarmLayout::TimescaleDb { version, schema }
            }
            (Some("timescaledb"), None) => {
                return Err(Error::invalid(
                    "layout",
                    "the schema was created with TimescaleDB, which this database lacks",
                ));
            }
            (Some(_), _) => WarmLayout::NativePartitions,
            (None, Some((version, schema))) if options.use_timescaledb => {
                WarmLayout::TimescaleDb { version, schema }
            }
            (None, _) => WarmLayout::NativePartitions,
        };
        Ok(Self { log, layout, options: Arc::new(options) })
    }

    /// The layout in use.
    pub fn layout(&self) -> &WarmLayout {
        &self.layout
    }

    /// The pool, for the host's own queries.
    pub fn pool(&self) -> &PgPool {
        self.log.pool()
    }

    /// The underlying log writer: [`PgEventStore::append_in`] (append inside the host's
    /// transaction), [`PgEventStore::bulk_import`] and [`PgEventStore::listen`] work on the
    /// partitioned schema unchanged.
    pub fn log(&self) -> &PgEventStore {
        &self.log
    }

    /// Turns on row-level security for the warm schema's tenant data — events, stream heads,
    /// metric points and (native layout) their daily rollups — keyed on the session's tenant as
    /// in [`PgEventStore::enable_row_level_security`], and closes the bookkeeping tables
    /// (layout, tiering progress, rollup checkpoints) to everyone but their owner. Tenants get
    /// their privileges from [`PgEventStore::bind_tenant_role`] on [`TimescaleEventStore::log`];
    /// the id table (`fintra_event_ids`, no tenant column) is write-only for them. Idempotent.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn enable_row_level_security(&self) -> Result<()> {
        self.log.enable_row_level_security().await?;
        let mut tables = vec!["fintra_metric_points"];
        if self.layout == WarmLayout::NativePartitions {
            tables.push("fintra_metric_daily");
        }
        let mut sql = String::new();
        for table in tables {
            sql.push_str(&format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                 DROP POLICY IF EXISTS fintra_tenant_isolation ON {table};
                 CREATE POLICY fintra_tenant_isolation ON {table}
                     USING (tenant_id = (SELECT fintra_session_tenant()))
                     WITH CHECK (tenant_id = (SELECT fintra_session_tenant()));\n"
            ));
        }
        for table in ["fintra_warm_meta", "fintra_tiering", "fintra_rollup_checkpoints"] {
            sql.push_str(&format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"));
        }
        sqlx::raw_sql(&sql).execute(self.pool()).await.map_err(Error::backend)?;
        Ok(())
    }

    /// Appends inside the caller's connection or transaction; see [`PgEventStore::append_in`].
    ///
    /// # Errors
    /// As [`EventStore::append`].
    pub async fn append_in(
        &self,
        conn: &mut PgConnection,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        self.log.append_in(conn, stream, expected, events).await
    }
}

fn partitioned(options: &TimescaleStoreOptions) -> fintra_store_postgres::PgStoreOptions {
    let mut store = options.store.clone();
    store.layout = EventLayout::Partitioned;
    store
}

fn check_interval(options: &TimescaleStoreOptions) -> Result<()> {
    let interval = options.partition_interval;
    if interval < chrono::TimeDelta::minutes(1) || interval.subsec_nanos() != 0 {
        return Err(Error::invalid("partition_interval", "whole seconds, at least one minute"));
    }
    Ok(())
}

#[async_trait]
impl EventStore for TimescaleEventStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        self.log.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        self.log.read_stream(stream, options).await
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.log.read_all(after, limit).await
    }

    async fn committed_head(&self) -> Result<Option<Position>> {
        self.log.committed_head().await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion> {
        self.log.stream_version(stream).await
    }
}
