//! Moving old partitions from the warm store to the cold archive, restoring archives, and
//! reading the global log across both.
//!
//! Each partition older than the cutoff goes through three recorded steps (`fintra_tiering`):
//!
//! 1. **exported** — its rows, read in position order, are written as a
//!    [`ParquetArchive`] (files first, the manifest last); the row count, content hash and a
//!    position checksum are recorded;
//! 2. **verified** — the archive is read back and checked against its manifest and against the
//!    recorded count and hash;
//! 3. **dropped** — in one transaction: the partition is locked, its rows are counted and
//!    checksummed again (a late writer would show here, and the partition is then exported
//!    afresh), it is detached and dropped (or its chunk dropped), and the state is recorded.
//!
//! A crash anywhere leaves a state the next [`Tiering::run`] resumes from: files without a
//! manifest or a manifest without a state row are rewritten identically (archive ids are derived
//! from positions), an unverified export is verified again, an uncommitted drop did not happen.
//! Event ids of tiered events stay claimed in `fintra_event_ids`.

use chrono::{DateTime, Utc};
use fintra_core::{Error, RecordedEvent, Result};
use fintra_store_parquet::{ArchiveError, ParquetArchive, ReadFilter};

mod tiered_log;
pub use tiered_log::TieredLog;

/// How long a staged archive file without a manifest is left alone before a tiering run
/// removes it as the remains of a crashed write.
pub const STAGED_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);
use rust_decimal::Decimal;
use sqlx::{Acquire, PgConnection, Row};

use crate::schema::Partition;
use crate::store::{TimescaleEventStore, WarmLayout};

/// The recorded steps of tiering one partition, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TieringStep {
    /// The archive is written and its numbers recorded.
    Exported,
    /// The archive was read back and matched.
    Verified,
    /// The partition is gone from the warm store.
    Dropped,
}

/// What one [`Tiering::run`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TieringReport {
    /// Partitions dropped after a verified export (or because they were empty).
    pub dropped: Vec<String>,
    /// Archives written or rewritten.
    pub exported: Vec<String>,
    /// Events moved to the cold tier.
    pub events: u64,
    /// Partitions whose rows changed after export (a late writer); they are exported afresh
    /// by the next run.
    pub changed: Vec<String>,
}

/// Tiering between one warm store and one archive.
#[derive(Debug)]
pub struct Tiering<'a> {
    store: &'a TimescaleEventStore,
    archive: &'a ParquetArchive,
    fence: Option<fintra_store_postgres::fence::FenceToken>,
}

type Statement<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// A partition's row in `fintra_tiering`.
struct Recorded {
    step: TieringStep,
    archive_id: String,
    census: Census,
    content_hash: String,
}

/// The numbers a partition's rows are checked against before it is dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Census {
    rows: i64,
    position_sum: Decimal,
}

pub(crate) fn archive_error(error: ArchiveError) -> Error {
    match error {
        ArchiveError::Corrupted { archive, reason } => {
            Error::corrupted(format!("archive {archive}: {reason}"))
        }
        ArchiveError::Log(error) => error,
        other => Error::backend(other),
    }
}

fn quoted(partition: &Partition) -> String {
    format!("\"{}\".\"{}\"", partition.schema, partition.name)
}

impl<'a> Tiering<'a> {
    /// Tiering from `store` to `archive`.
    pub fn new(store: &'a TimescaleEventStore, archive: &'a ParquetArchive) -> Self {
        Self { store, archive, fence: None }
    }

    /// Fences every step with a lease's token (`fintra_projections::lease::Lease::token`), for
    /// tiering run by one of several processes (`fintra_projections::fleet::run_leased`): each
    /// recorded step, each archive delete and each partition drop runs in a transaction that
    /// first checks the lease and holds its row, so an owner paused past its lease cannot drop,
    /// delete or record anything after a takeover — its step fails with `Error::Fenced`.
    /// Writing an archive is not fenced (archive ids come from positions: a stale owner rewrites
    /// the same files), its recording is.
    #[must_use]
    pub fn with_fence(mut self, token: fintra_store_postgres::fence::FenceToken) -> Self {
        self.fence = Some(token);
        self
    }

    /// Checks the fence, if any, inside the caller's transaction.
    async fn check_fence(&self, conn: &mut PgConnection) -> Result<()> {
        match &self.fence {
            Some(token) => fintra_store_postgres::fence::fence(conn, token).await,
            None => Ok(()),
        }
    }

    /// Runs one state-recording statement, under the fence when there is one.
    async fn record(&self, conn: &mut PgConnection, statement: Statement<'_>) -> Result<()> {
        if self.fence.is_none() {
            statement.execute(&mut *conn).await.map_err(Error::backend)?;
            return Ok(());
        }
        let mut tx = conn.begin().await.map_err(Error::backend)?;
        self.check_fence(&mut tx).await?;
        statement.execute(&mut *tx).await.map_err(Error::backend)?;
        tx.commit().await.map_err(Error::backend)
    }

    /// Moves every partition that ends at or before `cutoff` (and before the database's
    /// current time) to the archive. Idempotent; resumes interrupted runs.
    ///
    /// Memory: one partition's events are held while its archive is written; size partitions
    /// ([`partition_interval`](crate::TimescaleStoreOptions::partition_interval)) accordingly.
    ///
    /// # Errors
    /// `Corrupted` when an archive does not verify (its state is cleared, so the next run
    /// exports it again); `Backend` for database and object-store failures.
    pub async fn run(&self, cutoff: DateTime<Utc>) -> Result<TieringReport> {
        self.run_until(cutoff, TieringStep::Dropped).await
    }

    /// [`Tiering::run`], stopping every partition after `last` — exactly what a crash right
    /// after that step leaves behind. For operators who want to inspect archives before
    /// dropping, and for tests of resumption.
    ///
    /// # Errors
    /// As [`Tiering::run`].
    pub async fn run_until(
        &self,
        cutoff: DateTime<Utc>,
        last: TieringStep,
    ) -> Result<TieringReport> {
        // Native layout: rows the default partition caught get their partitions first, so
        // they are tiered with their time range instead of staying behind. (Before taking a
        // connection: a pool of one must not deadlock.)
        self.store.maintain().await?;
        // Finish archive writes and deletes a crash interrupted; staged files of uncommitted
        // writes are left for an hour, in case another process is writing them now.
        self.archive.recover(STAGED_GRACE).await.map_err(archive_error)?;
        let mut conn = self.store.pool().acquire().await.map_err(Error::backend)?;
        let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
            .fetch_one(&mut *conn)
            .await
            .map_err(Error::backend)?;
        let cutoff = cutoff.min(now);
        let mut report = TieringReport::default();
        let partitions = self.store.partitions_on(&mut conn).await?;
        for partition in partitions.iter().filter(|p| p.to <= cutoff) {
            self.tier(&mut conn, partition, last, &mut report).await?;
        }
        Ok(report)
    }

    async fn state(conn: &mut PgConnection, partition: &Partition) -> Result<Option<Recorded>> {
        let row = sqlx::query(
            "SELECT state, archive_id, rows, position_sum, content_hash FROM fintra_tiering \
             WHERE partition_name = $1",
        )
        .bind(&partition.name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(Error::backend)?;
        let Some(row) = row else { return Ok(None) };
        let get = |e: sqlx::Error| Error::backend(e);
        let step = match row.try_get::<&str, _>("state").map_err(get)? {
            "exported" => TieringStep::Exported,
            "verified" => TieringStep::Verified,
            "dropped" => TieringStep::Dropped,
            other => return Err(Error::corrupted(format!("tiering state {other:?}"))),
        };
        Ok(Some(Recorded {
            step,
            archive_id: row.try_get("archive_id").map_err(get)?,
            census: Census {
                rows: row.try_get("rows").map_err(get)?,
                position_sum: row.try_get("position_sum").map_err(get)?,
            },
            content_hash: row.try_get("content_hash").map_err(get)?,
        }))
    }

    async fn tier(
        &self,
        conn: &mut PgConnection,
        partition: &Partition,
        last: TieringStep,
        report: &mut TieringReport,
    ) -> Result<()> {
        let mut state = Self::state(conn, partition).await?;
        if state.as_ref().is_some_and(|r| r.step == TieringStep::Dropped) {
            // Tiered before and here again (rows written into its range since): tier what it
            // holds now as a new archive; the earlier archive keeps the earlier rows.
            self.clear_state(conn, partition).await?;
            state = None;
        }
        if state.is_none() {
            self.export(conn, partition, report).await?;
            state = Self::state(conn, partition).await?;
        }
        let Some(mut recorded) = state else {
            return Err(Error::corrupted("tiering state vanished after export"));
        };
        if last == TieringStep::Exported {
            return Ok(());
        }
        if recorded.step == TieringStep::Exported {
            self.verify(conn, partition, &recorded).await?;
            recorded.step = TieringStep::Verified;
        }
        if last == TieringStep::Verified {
            return Ok(());
        }
        if self.drop_partition(conn, partition, &recorded.archive_id, &recorded.census).await? {
            report.dropped.push(partition.name.clone());
            report.events += u64::try_from(recorded.census.rows).unwrap_or(0);
        } else {
            report.changed.push(partition.name.clone());
        }
        Ok(())
    }

    /// Step 1: the partition's rows → an archive, and the state row.
    async fn export(
        &self,
        conn: &mut PgConnection,
        partition: &Partition,
        report: &mut TieringReport,
    ) -> Result<()> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM {} ORDER BY position",
            fintra_store_postgres::warm::EVENT_COLUMNS,
            quoted(partition)
        ))
        .fetch_all(&mut *conn)
        .await
        .map_err(Error::backend)?;
        let events = fintra_store_postgres::warm::decode_event_rows(&rows)?;
        drop(rows);
        let census = census_of(&events)?;
        let (archive_id, hash) = if events.is_empty() {
            (String::new(), String::new())
        } else {
            let manifest = self.archive.write(&events).await.map_err(archive_error)?;
            report.exported.push(manifest.archive_id.clone());
            (manifest.archive_id, manifest.content_hash)
        };
        let statement = sqlx::query(
            "INSERT INTO fintra_tiering (partition_name, range_from, range_to, state, archive_id, \
             rows, position_sum, content_hash) VALUES ($1, $2, $3, 'exported', $4, $5, $6, $7) \
             ON CONFLICT (partition_name) DO NOTHING",
        )
        .bind(&partition.name)
        .bind(partition.from)
        .bind(partition.to)
        .bind(&archive_id)
        .bind(census.rows)
        .bind(census.position_sum)
        .bind(&hash);
        self.record(conn, statement).await
    }

    /// Step 2: the archive read back matches the manifest and the recorded numbers.
    async fn verify(
        &self,
        conn: &mut PgConnection,
        partition: &Partition,
        recorded: &Recorded,
    ) -> Result<()> {
        let (archive_id, census, hash) =
            (recorded.archive_id.as_str(), &recorded.census, recorded.content_hash.as_str());
        if census.rows > 0 {
            let checked = match self.archive.verify(archive_id).await {
                Ok(verified) => {
                    let rows = i64::try_from(verified.rows).unwrap_or(i64::MAX);
                    if rows == census.rows && verified.content_hash == hash {
                        Ok(())
                    } else {
                        Err(Error::corrupted(format!(
                            "archive {archive_id} holds {rows} rows / hash {}, the partition \
                             had {} / {hash}",
                            verified.content_hash, census.rows
                        )))
                    }
                }
                Err(error) => Err(archive_error(error)),
            };
            if let Err(error) = checked {
                // Start this partition over next time: its archive is rewritten from the rows.
                self.forget(conn, partition, archive_id).await?;
                return Err(error);
            }
        }
        let statement = sqlx::query(
            "UPDATE fintra_tiering SET state = 'verified', updated_at = now() \
             WHERE partition_name = $1 AND state = 'exported'",
        )
        .bind(&partition.name);
        self.record(conn, statement).await
    }

    /// Starts a partition over: deletes its archive (the partition still holds every row, so
    /// the archive is redundant — and stale when the rows changed), then its state. Under a
    /// fence, the lease row is held from the check through the delete to the commit.
    async fn forget(
        &self,
        conn: &mut PgConnection,
        partition: &Partition,
        archive_id: &str,
    ) -> Result<()> {
        let mut tx = conn.begin().await.map_err(Error::backend)?;
        self.check_fence(&mut tx).await?;
        if !archive_id.is_empty() {
            self.archive.delete(archive_id).await.map_err(archive_error)?;
        }
        sqlx::query("DELETE FROM fintra_tiering WHERE partition_name = $1")
            .bind(&partition.name)
            .execute(&mut *tx)
            .await
            .map_err(Error::backend)?;
        tx.commit().await.map_err(Error::backend)
    }

    async fn clear_state(&self, conn: &mut PgConnection, partition: &Partition) -> Result<()> {
        let statement = sqlx::query("DELETE FROM fintra_tiering WHERE partition_name = $1")
            .bind(&partition.name);
        self.record(conn, statement).await
    }

    /// Step 3, in one transaction: lock, recount, drop, record. False (and the state cleared)
    /// when the rows changed since the export.
    async fn drop_partition(
        &self,
        conn: &mut PgConnection,
        partition: &Partition,
        archive_id: &str,
        census: &Census,
    ) -> Result<bool> {
        let table = quoted(partition);
        let mut tx = conn.begin().await.map_err(Error::backend)?;
        self.check_fence(&mut tx).await?;
        sqlx::raw_sql(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            .execute(&mut *tx)
            .await
            .map_err(Error::backend)?;
        let row = sqlx::query(&format!(
            "SELECT count(*) AS rows, COALESCE(sum(position), 0)::numeric AS position_sum \
             FROM {table}"
        ))
        .fetch_one(&mut *tx)
        .await
        .map_err(Error::backend)?;
        let now = Census {
            rows: row.try_get("rows").map_err(Error::backend)?,
            position_sum: row.try_get("position_sum").map_err(Error::backend)?,
        };
        if now != *census {
            tx.rollback().await.map_err(Error::backend)?;
            self.forget(conn, partition, archive_id).await?;
            return Ok(false);
        }
        let drop = match &self.store.layout {
            WarmLayout::NativePartitions => {
                format!("ALTER TABLE fintra_events DETACH PARTITION {table}; DROP TABLE {table};")
            }
            WarmLayout::TimescaleDb { schema, .. } => format!(
                "SELECT \"{schema}\".drop_chunks('fintra_events', older_than => '{}'::timestamptz, \
                 newer_than => '{}'::timestamptz)",
                partition.to.to_rfc3339(),
                partition.from.to_rfc3339()
            ),
        };
        sqlx::raw_sql(&drop).execute(&mut *tx).await.map_err(Error::backend)?;
        sqlx::query(
            "UPDATE fintra_tiering SET state = 'dropped', updated_at = now() \
             WHERE partition_name = $1",
        )
        .bind(&partition.name)
        .execute(&mut *tx)
        .await
        .map_err(Error::backend)?;
        tx.commit().await.map_err(Error::backend)?;
        Ok(true)
    }

    /// Writes an archive's events back into the warm store with their original positions,
    /// ids, versions and recorded times (partitions are created as needed), so the global
    /// order is unchanged. Idempotent: events already present are skipped. Clears the tiering
    /// state of the archive's partitions, so they can be tiered again. Returns the events
    /// written.
    ///
    /// # Errors
    /// `InvalidInput` when the archive's positions lie above the store's current transaction
    /// range (a different database: new appends would sort before the restored events);
    /// `InvalidInput` when a restored stream belongs to another tenant; `Corrupted` when the
    /// archive does not verify; `Backend`.
    pub async fn restore(&self, archive_id: &str) -> Result<u64> {
        self.archive.verify(archive_id).await.map_err(archive_error)?;
        let manifest = self.archive.manifest(archive_id).await.map_err(archive_error)?;
        let events =
            self.archive.read(archive_id, &ReadFilter::default()).await.map_err(archive_error)?;
        self.store.ensure_partitions(manifest.first_recorded_at, manifest.last_recorded_at).await?;
        let mut conn = self.store.pool().acquire().await.map_err(Error::backend)?;
        let floor: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint << 20")
            .fetch_one(&mut *conn)
            .await
            .map_err(Error::backend)?;
        if u64::try_from(floor).unwrap_or(0) <= manifest.last_position {
            return Err(Error::invalid(
                "archive",
                "its positions lie above this database's transaction range; appends would sort \
                 before the restored events",
            ));
        }
        drop(conn);
        let mut tx = self.store.log().begin().await?;
        let outcome = async {
            let mut written = 0u64;
            for chunk in events.chunks(RESTORE_CHUNK_EVENTS) {
                written += insert_recorded(&mut tx, chunk).await?;
            }
            sqlx::query("DELETE FROM fintra_tiering WHERE archive_id = $1")
                .bind(archive_id)
                .execute(&mut *tx)
                .await
                .map_err(Error::backend)?;
            Ok::<_, Error>(written)
        }
        .await;
        // Roll back explicitly on failure: the connection goes back to the pool at once.
        let written = match outcome {
            Ok(written) => written,
            Err(error) => {
                tx.rollback().await?;
                return Err(error);
            }
        };
        tx.commit().await?;
        Ok(written)
    }
}

/// Events per restore statement.
const RESTORE_CHUNK_EVENTS: usize = 5_000;

fn census_of(events: &[RecordedEvent]) -> Result<Census> {
    let rows = i64::try_from(events.len()).map_err(|_| Error::corrupted("too many rows"))?;
    let position_sum = events.iter().map(|e| Decimal::from(e.position.get())).sum();
    Ok(Census { rows, position_sum })
}

/// Inserts recorded events as they are (positions, recorded times), with their ids and head
/// rows; rows already present are skipped.
async fn insert_recorded(tx: &mut PgConnection, events: &[RecordedEvent]) -> Result<u64> {
    let i64_of = |field: &'static str, v: u64| {
        i64::try_from(v).map_err(|_| Error::invalid(field, "exceeds i64::MAX"))
    };
    let positions =
        events.iter().map(|e| i64_of("position", e.position.get())).collect::<Result<Vec<_>>>()?;
    let versions = events
        .iter()
        .map(|e| i64_of("stream_version", e.stream_version.get()))
        .collect::<Result<Vec<_>>>()?;
    let schema_versions = events
        .iter()
        .map(|e| i32::try_from(e.schema_version))
        .collect::<std::result::Result<Vec<i32>, _>>()
        .map_err(|_| Error::invalid("schema_version", "exceeds i32::MAX"))?;
    let result = sqlx::query(include_str!("../sql/restore.sql"))
        .bind(positions)
        .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.stream_id.as_str()).collect::<Vec<_>>())
        .bind(versions)
        .bind(events.iter().map(|e| e.metadata.tenant_id.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
        .bind(schema_versions)
        .bind(events.iter().map(|e| e.recorded_at).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.metadata.correlation_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.metadata.causation_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.metadata.actor.to_storage()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| sqlx::types::Json(&e.metadata.headers)).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.content_type.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.payload.as_ref()).collect::<Vec<&[u8]>>())
        .fetch_one(&mut *tx)
        .await
        .map_err(Error::backend)?;
    let inserted: i64 = result.try_get("inserted").map_err(Error::backend)?;
    let refused: i64 = result.try_get("refused_heads").map_err(Error::backend)?;
    if refused > 0 {
        return Err(Error::invalid("tenant_id", "a restored stream belongs to another tenant"));
    }
    let clashing: i64 = result.try_get("clashing_ids").map_err(Error::backend)?;
    if clashing > 0 {
        return Err(Error::invalid("event_id", "an archived id is claimed by another event here"));
    }
    Ok(u64::try_from(inserted).unwrap_or(0))
}
