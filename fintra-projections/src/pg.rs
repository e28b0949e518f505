//! PostgreSQL read models: the change and the checkpoint commit in one transaction (exactly-once
//! effect), versioned tables behind a view for blue-green rebuilds, parked events, and inline
//! projections that run inside the append transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fintra_core::{
    AppendResult, ExpectedVersion, NewEvent, Position, RecordedEvent, StreamId, StreamVersion,
};
use fintra_store_postgres::{PgEventStore, PgTx};
use sqlx::{Acquire, PgConnection, PgPool, Row};

use crate::runner::{ProjectionError, Sink};

/// A projection into a PostgreSQL table.
#[async_trait]
pub trait PgProjection: Send + Sync {
    /// The read model's name: `[a-z_][a-z0-9_]*`, at most 40 bytes. Readers query the view of
    /// this name; the data lives in `<name>_v<version>`.
    fn name(&self) -> &str;
    /// The version; a new version is built alongside the active one and then switched to.
    fn version(&self) -> u32;
    /// Whether it wants events of this type.
    fn handles(&self, event_type: &str) -> bool;
    /// DDL creating the table `table` if it does not exist.
    fn create_table(&self, table: &str) -> String;
    /// Applies one event inside the sink's transaction.
    ///
    /// # Errors
    /// [`ProjectionError::Refused`] for an event it cannot take (a poison event); sink errors.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError>;

    /// Deletes, inside the sink's transaction, every row derived from `subject`'s events: the
    /// subject was erased (crypto-shredding) and its read-model rows must go with it. `subject`
    /// is the erased subject's id — for the twin's profiles, the profile's stream id.
    ///
    /// # Errors
    /// Sink errors.
    async fn forget(
        &self,
        conn: &mut PgConnection,
        table: &str,
        subject: &str,
    ) -> Result<(), ProjectionError>;

    /// Applies a batch (in log order) inside the sink's transaction. The default applies one
    /// event at a time; override it to write a page with a few set-based statements.
    ///
    /// # Errors
    /// As [`PgProjection::apply`].
    async fn apply_batch(
        &self,
        conn: &mut PgConnection,
        table: &str,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        for event in events {
            self.apply(conn, table, event).await?;
        }
        Ok(())
    }
}

const SETUP: &str = r"
CREATE TABLE IF NOT EXISTS fintra_projection_parked (
    name text NOT NULL,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    reason text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, position)
);
CREATE TABLE IF NOT EXISTS fintra_projection_active (
    name text PRIMARY KEY,
    version integer NOT NULL,
    switched_at timestamptz NOT NULL DEFAULT now()
);
";

use crate::checkpoints::pg_error as sink_error;

fn tx_error(error: fintra_core::Error) -> ProjectionError {
    ProjectionError::sink("postgres", error)
}

/// A cancel-safe transaction for the sinks: dropped midway, its connection is closed rather
/// than pooled (see `fintra_store_postgres::PgTx`).
pub(crate) async fn begin(pool: &PgPool) -> Result<PgTx, ProjectionError> {
    PgTx::begin(pool).await.map_err(tx_error)
}

pub(crate) async fn commit(tx: PgTx) -> Result<(), ProjectionError> {
    tx.commit().await.map_err(tx_error)
}

pub(crate) async fn rollback(tx: PgTx) -> Result<(), ProjectionError> {
    tx.rollback().await.map_err(tx_error)
}

fn valid_name(name: &str) -> Result<(), ProjectionError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ProjectionError::sink(
            "postgres",
            std::io::Error::other(format!(
                "projection name {name:?} must match [a-z_][a-z0-9_]{{0,39}}"
            )),
        ))
    }
}

/// An event a projection refused and the runner set aside ([`PoisonPolicy::Park`]).
///
/// [`PoisonPolicy::Park`]: crate::PoisonPolicy::Park
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkedEvent {
    /// Its position in the global log.
    pub position: Position,
    /// Its id.
    pub event_id: fintra_core::EventId,
    /// Its type.
    pub event_type: String,
    /// Why the projection refused it (the refusal's message).
    pub reason: String,
    /// When it was parked.
    pub parked_at: DateTime<Utc>,
}

/// A [`PgProjection`] bound to a pool: its table, checkpoint and parked events.
#[derive(Debug)]
pub struct PgSink<P> {
    pool: PgPool,
    projection: P,
    table: String,
    lease: Option<crate::lease::Lease>,
    shard: Option<crate::lease::Shard>,
}

impl<P: PgProjection> PgSink<P> {
    /// Creates the bookkeeping tables and the projection's versioned table if missing.
    ///
    /// # Errors
    /// An invalid name; sink errors.
    pub async fn new(pool: PgPool, projection: P) -> Result<Self, ProjectionError> {
        valid_name(projection.name())?;
        let table = format!("{}_v{}", projection.name(), projection.version());
        // `CREATE … IF NOT EXISTS` is not safe against itself: two processes (or the shards of
        // one projection) creating the same table at once can fail on the catalog's unique index
        // or with "already exists"; `create_tables` tries again, and then finds the table.
        create_tables(&pool, &projection.create_table(&table)).await?;
        Ok(Self { pool, projection, table, lease: None, shard: None })
    }

    /// Makes this sink one shard of the projection: it applies only the events of streams
    /// whose [`Shard::of_stream`](crate::lease::Shard::of_stream) is `shard` (and every erasure
    /// notice), and keeps its own checkpoint and parked list (`<name>@v<N>#<index>of<count>`).
    /// The K shards share the projection's table, so the projection must key its rows by
    /// something one stream's events decide alone (the stream id, a profile id): two shards then
    /// never write the same row. Each shard keeps per-stream order and gap safety, since it
    /// reads the whole global log and skips the other shards' streams.
    #[must_use]
    pub fn with_shard(mut self, shard: crate::lease::Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Fences every write of this sink with `lease`: each batch and its checkpoint commit only
    /// while `lease` is still this process's, at its epoch; otherwise the write is rolled back
    /// and refused with [`ProjectionError::Fenced`] ([`crate::lease`]).
    #[must_use]
    pub fn with_lease(mut self, lease: crate::lease::Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Checks the lease, if any, first thing in the write's transaction (and holds its row lock
    /// until the transaction ends).
    async fn fence(&self, tx: &mut PgConnection) -> Result<(), ProjectionError> {
        match &self.lease {
            Some(lease) => crate::lease::fence(tx, lease).await,
            None => Ok(()),
        }
    }

    /// The versioned table this sink writes.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The projection.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// Points readers at this version: the view `<name>` is replaced and the active version
    /// recorded in one transaction, so a reader sees the old version or the new one, never a mix.
    ///
    /// # Errors
    /// Sink errors.
    pub async fn activate(&self) -> Result<(), ProjectionError> {
        let name = self.projection.name();
        let mut tx = crate::pg::begin(&self.pool).await?;
        sqlx::query(&format!("DROP VIEW IF EXISTS {name}"))
            .execute(&mut *tx)
            .await
            .map_err(sink_error)?;
        sqlx::query(&format!("CREATE VIEW {name} AS SELECT * FROM {}", self.table))
            .execute(&mut *tx)
            .await
            .map_err(sink_error)?;
        sqlx::query(
            "INSERT INTO fintra_projection_active (name, version) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, switched_at = now()",
        )
        .bind(name)
        .bind(i32::try_from(self.projection.version()).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await
        .map_err(sink_error)?;
        crate::pg::commit(tx).await
    }

    /// Drops the tables and checkpoints of this projection's other versions (after a switch).
    /// Refuses while this version is not the active one.
    ///
    /// # Errors
    /// Sink errors.
    pub async fn retire_other_versions(&self) -> Result<usize, ProjectionError> {
        let name = self.projection.name();
        let active: Option<i32> =
            sqlx::query_scalar("SELECT version FROM fintra_projection_active WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(sink_error)?;
        if active != i32::try_from(self.projection.version()).ok() {
            return Err(ProjectionError::sink(
                "postgres",
                std::io::Error::other("retire other versions only from the active one"),
            ));
        }
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name LIKE $1 AND table_name <> $2",
        )
        .bind(format!("{name}\\_v%"))
        .bind(&self.table)
        .fetch_all(&self.pool)
        .await
        .map_err(sink_error)?;
        let mut tx = crate::pg::begin(&self.pool).await?;
        for table in &tables {
            let version = table.rsplit("_v").next().unwrap_or_default();
            if !version.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
                .execute(&mut *tx)
                .await
                .map_err(sink_error)?;
            // The version's checkpoint and those of its shards (`<name>@v<N>#<i>of<k>`).
            sqlx::query(
                "DELETE FROM fintra_projection_checkpoints
                 WHERE name = $1 OR starts_with(name, $1 || '#')",
            )
            .bind(format!("{name}@v{version}"))
            .execute(&mut *tx)
            .await
            .map_err(sink_error)?;
        }
        crate::pg::commit(tx).await?;
        Ok(tables.len())
    }

    /// Parked events, oldest first.
    ///
    /// # Errors
    /// Sink errors; `Store(Corrupted)` for a negative stored position.
    pub async fn parked(&self) -> Result<Vec<ParkedEvent>, ProjectionError> {
        let rows = sqlx::query(
            "SELECT position, event_id, event_type, reason, parked_at FROM fintra_projection_parked \
             WHERE name = $1 ORDER BY position",
        )
        .bind(self.name())
        .fetch_all(&self.pool)
        .await
        .map_err(sink_error)?;
        rows.iter()
            .map(|r| {
                let position: i64 = r.try_get("position").map_err(sink_error)?;
                let position = u64::try_from(position).map_err(|_| {
                    fintra_core::Error::corrupted(format!("parked position {position} < 0"))
                })?;
                Ok(ParkedEvent {
                    position: Position(position),
                    event_id: r.try_get("event_id").map_err(sink_error)?,
                    event_type: r.try_get("event_type").map_err(sink_error)?,
                    reason: r.try_get("reason").map_err(sink_error)?,
                    parked_at: r.try_get("parked_at").map_err(sink_error)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl<P: PgProjection> Sink for PgSink<P> {
    fn name(&self) -> String {
        let base = format!("{}@v{}", self.projection.name(), self.projection.version());
        match self.shard {
            Some(shard) => format!("{base}#{shard}"),
            None => base,
        }
    }

    fn handles(&self, event_type: &str) -> bool {
        self.projection.handles(event_type)
    }

    async fn checkpoint(&mut self) -> Result<Position, ProjectionError> {
        crate::checkpoints::load(&self.pool, "fintra_projection_checkpoints", &self.name()).await
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError> {
        let mine: Vec<RecordedEvent>;
        let events = match self.shard {
            Some(shard) => {
                mine = events
                    .iter()
                    .filter(|e| e.shredded_subject().is_some() || shard.owns(&e.stream_id))
                    .cloned()
                    .collect();
                &mine[..]
            }
            None => events,
        };
        let mut tx = crate::pg::begin(&self.pool).await?;
        let applied = match self.fence(&mut tx).await {
            Ok(()) => apply_with_erasures(&self.projection, &mut tx, &self.table, events).await,
            Err(error) => Err(error),
        };
        let applied = match applied {
            Ok(()) => crate::checkpoints::save(&mut tx, &self.name(), through).await,
            Err(error) => Err(error),
        };
        if let Err(error) = applied {
            // Roll back now rather than on drop, so the pooled connection is clean when reused.
            crate::pg::rollback(tx).await?;
            return Err(error);
        }
        crate::pg::commit(tx).await
    }

    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError> {
        let mut tx = crate::pg::begin(&self.pool).await?;
        if let Err(error) = self.fence(&mut tx).await {
            crate::pg::rollback(tx).await?;
            return Err(error);
        }
        sqlx::query(
            "INSERT INTO fintra_projection_parked (name, position, event_id, event_type, reason)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(self.name())
        .bind(crate::checkpoints::to_stored(event.position)?)
        .bind(event.event_id)
        .bind(&event.event_type)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(sink_error)?;
        crate::checkpoints::save(&mut tx, &self.name(), event.position).await?;
        crate::pg::commit(tx).await
    }
}

/// Creates the bookkeeping tables and the projection's table if missing. `CREATE … IF NOT
/// EXISTS` is not safe against itself: two processes (or the shards of one projection) creating
/// the same table at once can fail on the catalog's unique index. The loser tries again once the
/// winner's table exists.
async fn create_tables(pool: &PgPool, table_ddl: &str) -> Result<(), ProjectionError> {
    create_if_missing(pool, crate::checkpoints::CHECKPOINTS_DDL).await?;
    create_if_missing(pool, SETUP).await?;
    create_if_missing(pool, table_ddl).await
}

/// Runs `CREATE … IF NOT EXISTS` statements, which are not safe against themselves: two
/// processes (or the shards of one projection) creating the same table at once can fail on the
/// catalog's unique index (23505) or with "already exists" (42P07 for the table, 42710 for its
/// row type). The loser tries again, and then finds the table.
pub(crate) async fn create_if_missing(pool: &PgPool, ddl: &str) -> Result<(), ProjectionError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match sqlx::raw_sql(ddl).execute(pool).await {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::Database(db))
                if attempt < 10
                    && (db.kind() == sqlx::error::ErrorKind::UniqueViolation
                        || matches!(db.code().as_deref(), Some("42P07" | "42710"))) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(error) => return Err(sink_error(error)),
        }
    }
}

/// Applies `events` in order, the runs between erasure notices as batches and each notice as a
/// [`PgProjection::forget`].
async fn apply_with_erasures<P: PgProjection>(
    projection: &P,
    conn: &mut PgConnection,
    table: &str,
    events: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    let mut start = 0;
    for (i, event) in events.iter().enumerate() {
        if let Some(subject) = event.shredded_subject() {
            projection.apply_batch(conn, table, &events[start..i]).await?;
            projection.forget(conn, table, &subject).await?;
            start = i + 1;
        }
    }
    projection.apply_batch(conn, table, &events[start..]).await
}

/// Appends `events` inside the caller's transaction and applies `projection` to them in the same
/// transaction: the read model (current balances, say) commits or rolls back with the events.
/// Inline projections keep no checkpoint — they are never behind. A retried append that had
/// committed ([`AppendResult::replayed`]) is not projected again.
///
/// # Errors
/// The append's errors; the projection's refusal (the caller should roll back).
pub async fn append_inline<P: PgProjection>(
    store: &PgEventStore,
    conn: &mut PgConnection,
    projection: &P,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendResult, ProjectionError> {
    let mut savepoint = conn.begin().await.map_err(sink_error)?;
    let appended = store.append_in(&mut savepoint, stream, expected, events).await?;
    if appended.replayed {
        // A retry of an append that committed: its events were projected then.
        savepoint.commit().await.map_err(sink_error)?;
        return Ok(appended);
    }
    let recorded_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT now()").fetch_one(&mut *savepoint).await.map_err(sink_error)?;
    let table = format!("{}_v{}", projection.name(), projection.version());
    // One append's positions and versions are consecutive (xid·2^20 + n, n = 1, 2, …).
    for (i, event) in events.iter().enumerate() {
        let offset = u64::try_from(i).unwrap_or(u64::MAX);
        let recorded = RecordedEvent {
            event_id: event.event_id,
            stream_id: stream.clone(),
            stream_version: StreamVersion(appended.first_version.0.saturating_add(offset)),
            position: Position(appended.first_position.0.saturating_add(offset)),
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            occurred_at: event.occurred_at,
            recorded_at,
            metadata: event.metadata.clone(),
            content_type: event.content_type.clone(),
            payload: event.payload.clone(),
        };
        if projection.handles(&recorded.event_type)
            && let Err(error) = projection.apply(&mut savepoint, &table, &recorded).await
        {
            savepoint.rollback().await.map_err(sink_error)?;
            return Err(error);
        }
    }
    savepoint.commit().await.map_err(sink_error)?;
    Ok(appended)
}
