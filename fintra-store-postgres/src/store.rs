//! [`PgEventStore`]: construction, migrations and the [`EventStore`] implementation.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fintra_core::backend::{check_read_limit, validate_batch};
use fintra_core::limits::READ_PAGE_BYTES_MAX;
use fintra_core::{
    AppendResult, AsOf, Error, EventStore, ExpectedVersion, NewEvent, Position, ReadStreamOptions,
    RecordedEvent, Result, StreamId, StreamVersion,
};
use futures::StreamExt;
use sqlx::{Connection, PgConnection, PgPool, Row};
use tracing::Instrument;

use crate::append::{AppendSql, Attempt, Refusal, Txn, attempt, explain_refusal};
use crate::conn::{Checkout, PgTx};
use crate::error::{WriteFailure, backend, to_i64, to_u64};
use crate::group::Group;
use crate::notify::PgLogListener;
use crate::options::PgStoreOptions;
use crate::rows::recorded_events;

/// The embedded migrations (`fintra-store-postgres/migrations`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The fintra event store on PostgreSQL. Cheap to clone (a pool handle inside).
///
/// Implements the whole [`EventStore`] contract; see the crate docs for what it adds.
#[derive(Clone, Debug)]
pub struct PgEventStore {
    pool: PgPool,
    sql: Arc<AppendSql>,
    /// The validated notification channel, when appends notify.
    channel: Option<String>,
    /// The group-commit queue, when concurrent appends are grouped.
    group: Option<Arc<Group>>,
}

/// A plain SQL identifier (role or schema name): safe to quote into a statement.
pub(crate) fn valid_role(name: &str) -> bool {
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
        let connect = options.connect_options(url)?;
        // One connection first, outside the pool: a refused connection or a failed login is
        // reported as what it is ("connection refused"), where the pool would retry until its
        // acquire timeout and report only "pool timed out".
        let timeout = Duration::from_millis(options.acquire_timeout_ms);
        match tokio::time::timeout(timeout, PgConnection::connect_with(&connect)).await {
            Ok(Ok(probe)) => probe.close().await.map_err(backend)?,
            Ok(Err(error)) => return Err(backend(error)),
            Err(_elapsed) => {
                return Err(Error::backend(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection to PostgreSQL within {} ms", options.acquire_timeout_ms),
                )));
            }
        }
        let pool = options.pool_options()?.connect_lazy_with(connect);
        Self::from_pool(pool, &options)
    }

    /// Wraps an existing pool. Pool-level options (timeouts, session settings, the release
    /// check) are the pool's: build it with [`PgStoreOptions::pool_options`] and
    /// [`PgStoreOptions::connect_options`] to get fintra's.
    ///
    /// # Errors
    /// `InvalidInput` for a notification channel that is not a plain identifier.
    pub fn from_pool(pool: PgPool, options: &PgStoreOptions) -> Result<Self> {
        if !valid_role(&options.notify_channel) {
            return Err(Error::invalid("notify_channel", "letters, digits and _ only"));
        }
        let channel = options.notify.then(|| options.notify_channel.clone());
        let group = match options.group_commit {
            Some(config) => {
                config.validate()?;
                Some(Arc::new(Group::new(config)))
            }
            None => None,
        };
        Ok(Self {
            pool,
            sql: Arc::new(AppendSql::new(channel.as_deref(), options.layout)),
            channel,
            group,
        })
    }

    /// The assembled append statements.
    pub(crate) fn append_sql(&self) -> &AppendSql {
        &self.sql
    }

    /// The layout of the events table this store writes to.
    pub(crate) fn layout(&self) -> crate::EventLayout {
        self.sql.layout
    }

    /// The channel appends notify on, if they do.
    pub(crate) fn channel(&self) -> Option<&str> {
        self.channel.as_deref()
    }

    /// Creates or upgrades the schema (embedded migrations, then the shared functions) in the
    /// connection's `search_path`. The schema itself must exist.
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
        MIGRATOR.run(&self.pool).await.map_err(Error::backend)?;
        let shared = crate::tenancy::shared_schema_sql(self.sql.layout);
        sqlx::raw_sql(&shared).execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    /// The pool, for the host's own queries. Prefer [`PgEventStore::begin`] over
    /// `pool().begin()` for transactions: see [`PgTx`] for why.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Begins a cancel-safe transaction on the store's pool, for the host's own statements and
    /// [`PgTx::append`]: see [`PgTx`].
    ///
    /// # Errors
    /// `Backend`.
    pub async fn begin(&self) -> Result<PgTx> {
        PgTx::begin(&self.pool).await
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

    /// Appends inside the caller's connection or transaction, so the events commit or roll back
    /// with the host's own writes. Prefer [`PgTx::append`], which adds cancel safety: if this
    /// future is dropped midway, what it wrote inside the transaction is unknown, and the
    /// caller must roll back rather than commit ([`PgTx`] enforces that; a bare connection or
    /// sqlx transaction cannot).
    ///
    /// The append runs under a savepoint: a refused append (conflict, duplicate id) leaves the
    /// caller's transaction usable. Start transactions with [`PgEventStore::begin`] or sqlx's
    /// `begin()`, not a raw `BEGIN`, so the savepoint nests correctly.
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
            for _ in 0..ANY_RACE_ATTEMPTS_MAX {
                let mut savepoint = conn.begin().await.map_err(backend)?;
                let outcome =
                    attempt(&mut savepoint, &self.sql, Txn::Nested, stream, expected, events)
                        .await?;
                if let Attempt::Appended(result) = outcome {
                    savepoint.commit().await.map_err(backend)?;
                    return Ok(result);
                }
                savepoint.rollback().await.map_err(backend)?;
                match self.explain(conn, outcome, stream, expected, events).await {
                    Explained::Done(result) => return result,
                    Explained::Retry => {}
                }
            }
            Err(lost_race(stream))
        }
        .instrument(span)
        .await
    }

    /// After an append that wrote nothing: the result to return, or `Retry` when the stream was
    /// created concurrently under `ExpectedVersion::Any` (which must not conflict).
    async fn explain(
        &self,
        conn: &mut PgConnection,
        outcome: Attempt,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Explained {
        let refusal = match outcome {
            Attempt::Appended(result) => return Explained::Done(Ok(result)),
            Attempt::TransactionFull => {
                return Explained::Done(Err(Error::limit(
                    "TRANSACTION_EVENTS_MAX",
                    crate::TRANSACTION_EVENTS_MAX,
                    crate::TRANSACTION_EVENTS_MAX.saturating_add(1),
                )));
            }
            Attempt::Failed(WriteFailure::Other(error)) => return Explained::Done(Err(error)),
            Attempt::Failed(WriteFailure::EventIdTaken) => Refusal::EventIdTaken,
            // Only bulk imports create several heads at once.
            Attempt::Refused | Attempt::Failed(WriteFailure::CreatedConcurrently) => Refusal::Head,
        };
        match explain_refusal(conn, self.sql.layout, stream, expected, events, refusal).await {
            Err(Error::Conflict { .. }) if expected == ExpectedVersion::Any => Explained::Retry,
            other => Explained::Done(other),
        }
    }

    /// One append as its own statement and transaction on a pooled connection.
    pub(crate) async fn append_own(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        let span = tracing::info_span!("fintra.pg.append", stream = %stream, events = events.len());
        async {
            let mut conn = Checkout::acquire(&self.pool).await?;
            let mut outcome = Err(lost_race(stream));
            for _ in 0..ANY_RACE_ATTEMPTS_MAX {
                // Autocommit: the statement is its own transaction, so a refusal wrote nothing.
                let attempted =
                    match attempt(&mut conn, &self.sql, Txn::Own, stream, expected, events).await {
                        Ok(Attempt::TransactionFull) => Err(Error::corrupted(
                            "a fresh transaction found its position range already used",
                        )),
                        Ok(attempted) => Ok(attempted),
                        Err(error) => Err(error),
                    };
                let explained = match attempted {
                    Ok(attempted) => {
                        self.explain(&mut conn, attempted, stream, expected, events).await
                    }
                    Err(error) => Explained::Done(Err(error)),
                };
                if let Explained::Done(result) = explained {
                    outcome = result;
                    break;
                }
            }
            conn.finish(&outcome);
            outcome
        }
        .instrument(span)
        .await
    }

    /// One page of the global log as raw binary `COPY` data (decoded by `copy_decode`);
    /// `capacity` is the size its buffer starts at (a reader passes its last page's).
    pub(crate) async fn read_all_raw(
        &self,
        after: Position,
        limit: usize,
        capacity: usize,
    ) -> Result<bytes::Bytes> {
        // Positions above i64::MAX cannot exist; reading after one returns nothing.
        let Ok(after) = i64::try_from(after.get()) else {
            return Ok(crate::copy_binary::empty_copy());
        };
        // Binary COPY moves the rows with the least per-row overhead; every number is an integer
        // formatted by Rust, so nothing untrusted reaches the statement text.
        let sql = format!(
            "COPY (SELECT * FROM fintra_read_all({after}, {limit}, {READ_PAGE_BYTES_MAX})) \
             TO STDOUT (FORMAT binary)"
        );
        let span = tracing::debug_span!("fintra.pg.read_all", after);
        async {
            let mut conn = Checkout::acquire(&self.pool).await?;
            let outcome = copy_out(&mut conn, &sql, capacity).await;
            conn.finish(&outcome);
            outcome
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

/// What [`PgEventStore::explain`] concluded.
enum Explained {
    Done(Result<AppendResult>),
    Retry,
}

/// How often an `ExpectedVersion::Any` append retries after losing the race to create its
/// stream (a retry finds the head row and updates it, so one is almost always enough).
const ANY_RACE_ATTEMPTS_MAX: usize = 4;

fn lost_race(stream: &StreamId) -> Error {
    Error::backend(std::io::Error::other(format!(
        "appends to {stream} kept losing the race to create it ({ANY_RACE_ATTEMPTS_MAX} attempts)"
    )))
}

fn as_limit(field: &'static str, value: usize) -> Result<i64> {
    to_i64(field, u64::try_from(value).unwrap_or(u64::MAX))
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
        match &self.group {
            Some(group) if group.takes(events) => {
                let span = tracing::info_span!(
                    "fintra.pg.append",
                    stream = %stream,
                    events = events.len(),
                    grouped = true
                );
                crate::group::append(self, group, stream, expected, events).instrument(span).await
            }
            _ => self.append_own(stream, expected, events).await,
        }
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        check_read_limit(options.limit)?;
        let (recorded, occurred) = Self::as_of_bounds(options.as_of);
        let limit = as_limit("limit", options.limit)?;
        let from = to_i64("from", options.from.get())?;
        let bytes = as_limit("bytes", READ_PAGE_BYTES_MAX)?;
        let span = tracing::debug_span!("fintra.pg.read_stream", stream = %stream);
        async {
            let mut conn = Checkout::acquire(&self.pool).await?;
            let rows = sqlx::query(include_str!("../sql/read_stream.sql"))
                .bind(stream.as_str())
                .bind(from)
                .bind(recorded)
                .bind(occurred)
                .bind(limit)
                .bind(bytes)
                .fetch_all(&mut *conn)
                .await
                .map_err(backend);
            let outcome = rows.and_then(|rows| recorded_events(&rows));
            conn.finish(&outcome);
            outcome
        }
        .instrument(span)
        .await
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        check_read_limit(limit)?;
        let data = self.read_all_raw(after, limit, 0).await?;
        crate::copy_decode::decode(data, limit)
    }

    async fn committed_head(&self) -> Result<Option<Position>> {
        let mut conn = Checkout::acquire(&self.pool).await?;
        // Every committed row, whatever the gap-safe bound still holds back (the index's last
        // entry).
        let row = sqlx::query("SELECT max(position) AS head FROM fintra_events")
            .fetch_one(&mut *conn)
            .await
            .map_err(backend);
        let outcome = row.and_then(|row| {
            row.try_get::<Option<i64>, _>("head")
                .map_err(backend)
                .and_then(|head| head.map(|p| to_u64("position", p).map(Position)).transpose())
        });
        conn.finish(&outcome);
        outcome
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion> {
        let mut conn = Checkout::acquire(&self.pool).await?;
        let row = sqlx::query("SELECT version FROM fintra_streams WHERE stream_id = $1")
            .bind(stream.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend);
        let outcome = match row {
            Ok(Some(row)) => row
                .try_get("version")
                .map_err(backend)
                .and_then(|v| to_u64("version", v))
                .map(StreamVersion),
            Ok(None) => Ok(StreamVersion::NONE),
            Err(error) => Err(error),
        };
        conn.finish(&outcome);
        outcome
    }
}

/// Runs a `COPY … TO STDOUT` and collects its output.
async fn copy_out(conn: &mut PgConnection, sql: &str, capacity: usize) -> Result<bytes::Bytes> {
    let mut out = conn.copy_out_raw(sql).await.map_err(backend)?;
    let mut buffer = Vec::with_capacity(capacity);
    while let Some(chunk) = out.next().await {
        buffer.extend_from_slice(&chunk.map_err(backend)?);
    }
    // Events are zero-copy slices of this buffer and keep all of it alive: a short page after a
    // long one gives back what it does not use.
    if buffer.capacity() > buffer.len().saturating_mul(2) {
        buffer.shrink_to_fit();
    }
    Ok(bytes::Bytes::from(buffer))
}
