//! [`PgEventStore`]: construction, migrations and the [`EventStore`] implementation.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fintra_core::{
    AppendResult, AsOf, Error, EventStore, ExpectedVersion, NewEvent, Position, ReadStreamOptions,
    RecordedEvent, Result, StreamId, StreamVersion, check_read_limit, validate_batch,
};
use futures::StreamExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool, Row};
use tracing::Instrument;

use crate::append::{AppendSql, Attempt, attempt, explain_refusal};
use crate::error::{WriteFailure, backend, to_i64, to_u64};
use crate::notify::PgLogListener;
use crate::options::PgStoreOptions;
use crate::rows::recorded_events;

/// The embedded migrations (`fintra-store-postgres/migrations`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const READ_STREAM_SQL: &str =
    concat!(include_str!("../sql/select_events.sql"), include_str!("../sql/read_stream.sql"));
const READ_ALL_SQL: &str =
    concat!(include_str!("../sql/select_events.sql"), include_str!("../sql/read_all.sql"));

/// The fintra event store on PostgreSQL. Cheap to clone (a pool handle inside).
///
/// Implements the whole [`EventStore`] contract; see the crate docs for what it adds.
#[derive(Clone, Debug)]
pub struct PgEventStore {
    pool: PgPool,
    sql: Arc<AppendSql>,
    /// The validated notification channel, when appends notify.
    channel: Option<String>,
}

/// A plain SQL identifier (role or schema name): safe to quote into a statement.
fn valid_role(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl PgEventStore {
    /// Connects a pool to `url` with `options` (timeouts, session tenant and role).
    /// Does not run migrations: call [`PgEventStore::migrate`].
    ///
    /// # Errors
    /// `InvalidInput` for a bad URL or role name, `Backend` when the server is unreachable.
    pub async fn connect(url: &str, options: PgStoreOptions) -> Result<Self> {
        let mut connect: PgConnectOptions =
            url.parse().map_err(|e| Error::invalid("url", format!("{e}")))?;
        if let Some(ms) = options.statement_timeout_ms {
            connect = connect.options([("statement_timeout", ms.to_string())]);
        }
        if let Some(schema) = &options.schema {
            if !valid_role(schema) {
                return Err(Error::invalid("schema", "letters, digits and _ only"));
            }
            connect = connect.options([("search_path", schema.as_str())]);
        }
        if let Some(tenant) = &options.session_tenant {
            connect = connect.options([("fintra.tenant_id", tenant.as_str())]);
        }
        let role = options.session_role.clone();
        if role.as_deref().is_some_and(|r| !valid_role(r)) {
            return Err(Error::invalid("session_role", "letters, digits and _ only"));
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_millis(options.acquire_timeout_ms))
            .after_connect(move |conn, _meta| {
                let role = role.clone();
                Box::pin(async move {
                    if let Some(role) = role {
                        conn.execute(format!("SET ROLE \"{role}\"").as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(backend)?;
        Self::from_pool(pool, &options)
    }

    /// Wraps an existing pool. Pool-level options (timeouts, session settings) are the pool's.
    ///
    /// # Errors
    /// `InvalidInput` for a notification channel that is not a plain identifier.
    pub fn from_pool(pool: PgPool, options: &PgStoreOptions) -> Result<Self> {
        if !valid_role(&options.notify_channel) {
            return Err(Error::invalid("notify_channel", "letters, digits and _ only"));
        }
        let channel = options.notify.then(|| options.notify_channel.clone());
        Ok(Self {
            pool,
            sql: Arc::new(AppendSql::new(channel.as_deref(), options.layout)),
            channel,
        })
    }

    /// The layout of the events table this store writes to.
    pub(crate) fn layout(&self) -> crate::EventLayout {
        self.sql.layout
    }

    /// The channel appends notify on, if they do.
    pub(crate) fn channel(&self) -> Option<&str> {
        self.channel.as_deref()
    }

    /// Creates or upgrades the schema (embedded migrations) in the connection's `search_path`.
    ///
    /// # Errors
    /// `Backend`; `InvalidInput` for a store with [`EventLayout::Partitioned`](crate::EventLayout)
    /// (the warm store creates that schema).
    pub async fn migrate(&self) -> Result<()> {
        if self.sql.layout == crate::EventLayout::Partitioned {
            return Err(Error::invalid(
                "layout",
                "the partitioned layout's schema is created by fintra-store-timescale",
            ));
        }
        MIGRATOR.run(&self.pool).await.map_err(Error::backend)
    }

    /// The pool, for the host's own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Turns on row-level security for events and stream heads, keyed on the session setting
    /// `fintra.tenant_id` ([`PgStoreOptions::session_tenant`]). Idempotent.
    ///
    /// Owners and superusers bypass row-level security: tenant connections must use another role
    /// ([`PgStoreOptions::session_role`]) with privileges on the tables.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn enable_row_level_security(&self) -> Result<()> {
        sqlx::raw_sql(include_str!("../sql/enable_rls.sql"))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// A listener on this store's channel, woken by every append (when
    /// [`PgStoreOptions::notify`] is on).
    ///
    /// # Errors
    /// `Backend`.
    pub async fn listen(&self) -> Result<PgLogListener> {
        let channel = self.channel.as_deref().unwrap_or(crate::NOTIFY_CHANNEL);
        PgLogListener::connect(&self.pool, channel).await
    }

    /// Appends inside the caller's connection or sqlx transaction (a `&mut Transaction` derefs
    /// to `&mut PgConnection`), so the events commit or roll back with the host's own writes.
    ///
    /// The append runs under a savepoint: a refused append (conflict, duplicate id) leaves the
    /// caller's transaction usable. Start transactions with sqlx (`begin()`), not a raw `BEGIN`,
    /// so the savepoint nests correctly.
    ///
    /// # Errors
    /// As [`EventStore::append`], plus `LimitExceeded` (`TRANSACTION_EVENTS_MAX`) when one
    /// transaction appends more than [`TRANSACTION_EVENTS_MAX`](crate::TRANSACTION_EVENTS_MAX).
    pub async fn append_in(
        &self,
        conn: &mut PgConnection,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        validate_batch(events)?;
        let span =
            tracing::info_span!("fintra.pg.append_in", stream = %stream, events = events.len());
        async {
            let mut savepoint = conn.begin().await.map_err(backend)?;
            let outcome = attempt(&mut savepoint, &self.sql, stream, expected, events).await?;
            if let Attempt::Appended(result) = outcome {
                savepoint.commit().await.map_err(backend)?;
                return Ok(result);
            }
            savepoint.rollback().await.map_err(backend)?;
            match outcome {
                Attempt::TransactionFull => Err(Error::limit(
                    "TRANSACTION_EVENTS_MAX",
                    crate::TRANSACTION_EVENTS_MAX,
                    crate::TRANSACTION_EVENTS_MAX.saturating_add(1),
                )),
                Attempt::Failed(WriteFailure::Other(error)) => Err(error),
                _ => explain_refusal(conn, self.sql.layout, stream, expected, events).await,
            }
        }
        .instrument(span)
        .await
    }

    fn as_of_bounds(
        as_of: Option<AsOf>,
    ) -> (Option<chrono::DateTime<chrono::Utc>>, Option<chrono::DateTime<chrono::Utc>>) {
        match as_of {
            None => (None, None),
            Some(AsOf::Recorded(at)) => (Some(at), None),
            Some(AsOf::Occurred(at)) => (None, Some(at)),
        }
    }
}

#[async_trait]
impl EventStore for PgEventStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        validate_batch(events)?;
        let span = tracing::info_span!("fintra.pg.append", stream = %stream, events = events.len());
        async {
            let mut conn = self.pool.acquire().await.map_err(backend)?;
            // Autocommit: the statement is its own transaction, so a refusal wrote nothing.
            match attempt(&mut conn, &self.sql, stream, expected, events).await? {
                Attempt::Appended(result) => Ok(result),
                Attempt::Failed(WriteFailure::Other(error)) => Err(error),
                Attempt::TransactionFull => Err(Error::corrupted(
                    "a fresh transaction found its position range already used",
                )),
                Attempt::Refused | Attempt::Failed(WriteFailure::EventIdTaken) => {
                    explain_refusal(&mut conn, self.sql.layout, stream, expected, events).await
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        check_read_limit(options.limit)?;
        let (recorded, occurred) = Self::as_of_bounds(options.as_of);
        let limit = to_i64("limit", u64::try_from(options.limit).unwrap_or(u64::MAX))?;
        let from = to_i64("from", options.from.get())?;
        let rows = sqlx::query(READ_STREAM_SQL)
            .bind(stream.as_str())
            .bind(from)
            .bind(recorded)
            .bind(occurred)
            .bind(limit)
            .fetch_all(&self.pool)
            .instrument(tracing::debug_span!("fintra.pg.read_stream", stream = %stream))
            .await
            .map_err(backend)?;
        recorded_events(&rows)
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        check_read_limit(limit)?;
        // Positions above i64::MAX cannot exist; reading after one returns nothing.
        let Ok(after) = i64::try_from(after.get()) else { return Ok(Vec::new()) };
        // Binary COPY moves the rows with the least per-row overhead; both numbers are integers
        // formatted by Rust, so nothing untrusted reaches the statement text.
        let sql = format!("COPY ({READ_ALL_SQL}) TO STDOUT (FORMAT binary)")
            .replace("$1", &after.to_string())
            .replace("$2", &limit.to_string());
        let span = tracing::debug_span!("fintra.pg.read_all", after);
        async {
            let mut conn = self.pool.acquire().await.map_err(backend)?;
            let mut out = conn.copy_out_raw(&sql).await.map_err(backend)?;
            let mut buffer = Vec::new();
            while let Some(chunk) = out.next().await {
                buffer.extend_from_slice(&chunk.map_err(backend)?);
            }
            drop(out);
            crate::copy_decode::decode(bytes::Bytes::from(buffer), limit)
        }
        .instrument(span)
        .await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion> {
        let row = sqlx::query("SELECT version FROM fintra_streams WHERE stream_id = $1")
            .bind(stream.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => {
                Ok(StreamVersion(to_u64("version", row.try_get("version").map_err(backend)?)?))
            }
            None => Ok(StreamVersion::NONE),
        }
    }
}
