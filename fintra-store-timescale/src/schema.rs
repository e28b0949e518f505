//! Creating the warm schema for either layout, and keeping native partitions ahead of time.

use chrono::{DateTime, TimeDelta, Utc};
use fintra_core::{Error, Result};
use sqlx::{Acquire, PgConnection, Row};

use fintra_store_postgres::warm;

use crate::store::{TimescaleEventStore, WarmLayout};

/// One partition of the events table (a native partition or a TimescaleDB chunk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// The table's name (`fintra_events_p<from>_<to>` in Unix seconds, or a chunk's name).
    pub name: String,
    /// The schema the table lives in.
    pub schema: String,
    /// Inclusive lower bound of `recorded_at`.
    pub from: DateTime<Utc>,
    /// Exclusive upper bound of `recorded_at`.
    pub to: DateTime<Utc>,
}

/// What [`TimescaleEventStore::maintain`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Maintenance {
    /// Partitions created.
    pub created: Vec<String>,
    /// Rows moved out of the default partition into their new partitions.
    pub rows_moved: u64,
}

/// Serialises schema changes of one schema across processes.
const MAINTENANCE_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.fintra_warm'))";

fn seconds(interval: TimeDelta) -> i64 {
    interval.num_seconds()
}

fn at(seconds: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| Error::invalid("recorded_at", format!("{seconds} s is out of range")))
}

/// `(from, to)` in Unix seconds from a native partition's name.
fn bounds_of(name: &str) -> Option<(i64, i64)> {
    let rest = name.strip_prefix("fintra_events_p")?;
    let (from, to) = rest.split_once('_')?;
    Some((from.parse().ok()?, to.parse().ok()?))
}

impl TimescaleEventStore {
    /// Creates the schema for the detected layout (idempotent, safe to run at every start-up and
    /// from several processes), records the layout and partition width, and runs
    /// [`TimescaleEventStore::maintain`].
    ///
    /// TimescaleDB layout: a hypertable, a compression policy
    /// ([`compress_after`](crate::TimescaleStoreOptions::compress_after)), an optional retention
    /// policy, metric points as a hypertable and the daily rollup as a continuous aggregate.
    /// Native layout: range partitions, a default partition, a rollup table.
    ///
    /// Creates the schema named by [`PgStoreOptions::schema`](fintra_store_postgres::PgStoreOptions)
    /// when it is missing.
    ///
    /// # Errors
    /// `InvalidInput` when the schema holds another store's `fintra_events` table (the hot
    /// store's), `Backend`.
    pub async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool().acquire().await.map_err(Error::backend)?;
        if let Some(schema) = &self.options.store.schema {
            if schema.is_empty() || !schema.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(Error::invalid("schema", "letters, digits and _ only"));
            }
            sqlx::raw_sql(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&mut *conn)
                .await
                .map_err(Error::backend)?;
        }
        {
            let mut tx = conn.begin().await.map_err(Error::backend)?;
            sqlx::query(MAINTENANCE_LOCK).execute(&mut *tx).await.map_err(Error::backend)?;
            // Another store's events table (the hot store's) in this schema: refuse rather than
            // write around its unique constraints.
            let foreign: Option<bool> = sqlx::query_scalar(
                "SELECT to_regclass('fintra_events') IS NOT NULL \
                 AND to_regclass('fintra_warm_meta') IS NULL",
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(Error::backend)?;
            if foreign == Some(true) {
                tx.rollback().await.map_err(Error::backend)?;
                return Err(Error::invalid(
                    "schema",
                    "it holds a fintra_events table that is not the warm store's \
                     (the hot store's?): give the warm store a schema of its own",
                ));
            }
            sqlx::raw_sql(include_str!("../sql/common.sql"))
                .execute(&mut *tx)
                .await
                .map_err(Error::backend)?;
            // The first migrate fixes the width; later ones keep it.
            let width = seconds(self.options.partition_interval).to_string();
            sqlx::query(
                "INSERT INTO fintra_warm_meta (key, value) VALUES ('layout', $1), \
                 ('partition_seconds', $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(self.layout.name())
            .bind(&width)
            .execute(&mut *tx)
            .await
            .map_err(Error::backend)?;
            let interval = format!("{} seconds", self.partition_seconds_on(&mut tx).await?);
            let ddl = self.tables_ddl(&interval);
            sqlx::raw_sql(&ddl).execute(&mut *tx).await.map_err(Error::backend)?;
            tx.commit().await.map_err(Error::backend)?;
        }
        if let WarmLayout::TimescaleDb { schema, .. } = &self.layout {
            self.timescale_policies(&mut conn, schema).await?;
        }
        drop(conn);
        self.maintain().await.map(|_| ())
    }

    /// The tables of the detected layout, then the hot store's shared functions (the gap-safe
    /// page reader among them) and the tenant-binding table over them.
    fn tables_ddl(&self, interval: &str) -> String {
        let events = |partitioning: &str| {
            include_str!("../sql/events_table.sql")
                .replace("{columns}", warm::EVENTS_TABLE_COLUMNS)
                .replace("{partitioning}", partitioning)
        };
        let tables = match &self.layout {
            WarmLayout::NativePartitions => [
                events(" PARTITION BY RANGE (recorded_at)"),
                include_str!("../sql/events_native.sql").to_owned(),
                include_str!("../sql/events_indexes.sql").to_owned(),
                include_str!("../sql/metrics_table.sql").replace("{partitioning}", ""),
                include_str!("../sql/metrics_indexes.sql").to_owned(),
                include_str!("../sql/metrics_native.sql").to_owned(),
            ]
            .concat(),
            WarmLayout::TimescaleDb { schema, .. } => qualify(
                &[
                    events(""),
                    include_str!("../sql/events_timescale.sql").replace("{interval}", interval),
                    include_str!("../sql/events_indexes.sql").to_owned(),
                    include_str!("../sql/metrics_table.sql").replace("{partitioning}", ""),
                    include_str!("../sql/metrics_timescale.sql").replace("{interval}", interval),
                    include_str!("../sql/metrics_indexes.sql").to_owned(),
                ]
                .concat(),
                schema,
            ),
        };
        tables + &warm::shared_schema_sql(fintra_store_postgres::EventLayout::Partitioned)
    }

    /// Continuous aggregate, compression and retention: statements TimescaleDB will not run
    /// inside a transaction block, each idempotent.
    async fn timescale_policies(&self, conn: &mut PgConnection, schema: &str) -> Result<()> {
        let mut statements = vec![qualify(include_str!("../sql/metrics_cagg.sql"), schema)];
        if let Some(after) = self.options.compress_after {
            statements.push(
                "ALTER TABLE fintra_events SET (timescaledb.compress, \
                 timescaledb.compress_segmentby = 'stream_id', \
                 timescaledb.compress_orderby = 'stream_version')"
                    .to_owned(),
            );
            statements.push(format!(
                "SELECT \"{schema}\".add_compression_policy('fintra_events', \
                 INTERVAL '{} seconds', if_not_exists => true)",
                seconds(after)
            ));
        }
        if let Some(retention) = self.options.retention {
            statements.push(format!(
                "SELECT \"{schema}\".add_retention_policy('fintra_events', \
                 INTERVAL '{} seconds', if_not_exists => true)",
                seconds(retention)
            ));
        }
        for statement in statements {
            sqlx::raw_sql(&statement).execute(&mut *conn).await.map_err(Error::backend)?;
        }
        Ok(())
    }

    async fn partition_seconds_on(&self, conn: &mut PgConnection) -> Result<i64> {
        let value: Option<String> = sqlx::query_scalar(
            "SELECT value FROM fintra_warm_meta WHERE key = 'partition_seconds'",
        )
        .fetch_optional(&mut *conn)
        .await
        .map_err(Error::backend)?;
        match value {
            Some(value) => value
                .parse()
                .map_err(|_| Error::corrupted(format!("partition_seconds is {value:?}"))),
            None => Ok(seconds(self.options.partition_interval)),
        }
    }

    /// The partition width this schema was created with.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn partition_interval(&self) -> Result<TimeDelta> {
        let mut conn = self.pool().acquire().await.map_err(Error::backend)?;
        Ok(TimeDelta::seconds(self.partition_seconds_on(&mut conn).await?))
    }

    /// Native layout: makes sure partitions exist from the one before the current to
    /// [`partitions_ahead`](crate::TimescaleStoreOptions::partitions_ahead) after it, and moves
    /// rows the default partition caught into partitions of their own. Run it from a scheduler
    /// (daily is plenty with the default width); appends never fail when it lags, they land in
    /// the default partition until the next run. TimescaleDB layout: nothing to do (chunks are
    /// created on demand).
    ///
    /// # Errors
    /// `Backend`.
    pub async fn maintain(&self) -> Result<Maintenance> {
        if self.layout != WarmLayout::NativePartitions {
            return Ok(Maintenance::default());
        }
        let mut conn = self.pool().acquire().await.map_err(Error::backend)?;
        let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
            .fetch_one(&mut *conn)
            .await
            .map_err(Error::backend)?;
        // On this connection: a pool of one (the TimescaleDB test server) must not deadlock.
        let width = self.partition_seconds_on(&mut conn).await?;
        let ahead = i64::from(self.options.partitions_ahead);
        let from = now - TimeDelta::seconds(width);
        let to = now + TimeDelta::seconds(width.saturating_mul(ahead + 1));
        let mut report = self.ensure_partitions_on(&mut conn, from, to).await?;
        // Whatever the default partition caught (appends while maintenance lagged, or restores
        // of old events) gets partitions of its own.
        let caught: (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
            sqlx::query_as("SELECT min(recorded_at), max(recorded_at) FROM fintra_events_default")
                .fetch_one(&mut *conn)
                .await
                .map_err(Error::backend)?;
        if let (Some(first), Some(last)) = caught {
            let more = self.ensure_partitions_on(&mut conn, first, last).await?;
            report.created.extend(more.created);
            report.rows_moved += more.rows_moved;
        }
        Ok(report)
    }

    /// Native layout: partitions covering `[from, to]`, created where missing (moving any rows
    /// of their range out of the default partition). TimescaleDB layout: nothing.
    ///
    /// # Errors
    /// `InvalidInput` for instants out of range, `Backend`.
    pub async fn ensure_partitions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Maintenance> {
        if self.layout != WarmLayout::NativePartitions {
            return Ok(Maintenance::default());
        }
        let mut conn = self.pool().acquire().await.map_err(Error::backend)?;
        self.ensure_partitions_on(&mut conn, from, to).await
    }

    async fn ensure_partitions_on(
        &self,
        conn: &mut PgConnection,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Maintenance> {
        let width = self.partition_seconds_on(conn).await?;
        let existing: Vec<String> =
            self.partitions_on(conn).await?.into_iter().map(|p| p.name).collect();
        let mut report = Maintenance::default();
        let mut start = from.timestamp().div_euclid(width) * width;
        while start <= to.timestamp() {
            let end = start + width;
            let name = format!("fintra_events_p{start}_{end}");
            if !existing.contains(&name) {
                let moved = create_partition(conn, &name, at(start)?, at(end)?).await?;
                if let Some(moved) = moved {
                    report.created.push(name);
                    report.rows_moved += moved;
                }
            }
            start = end;
        }
        Ok(report)
    }

    /// The partitions (or chunks) of the events table, oldest first. The native default
    /// partition is not listed.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn partitions(&self) -> Result<Vec<Partition>> {
        let mut conn = self.pool().acquire().await.map_err(Error::backend)?;
        self.partitions_on(&mut conn).await
    }

    pub(crate) async fn partitions_on(&self, conn: &mut PgConnection) -> Result<Vec<Partition>> {
        let mut partitions = Vec::new();
        match &self.layout {
            WarmLayout::NativePartitions => {
                let rows = sqlx::query(
                    "SELECT c.relname::text AS name, n.nspname::text AS schema FROM pg_inherits i \
                     JOIN pg_class c ON c.oid = i.inhrelid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE i.inhparent = 'fintra_events'::regclass",
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(Error::backend)?;
                for row in rows {
                    let name: String = row.try_get("name").map_err(Error::backend)?;
                    let schema: String = row.try_get("schema").map_err(Error::backend)?;
                    if let Some((from, to)) = bounds_of(&name) {
                        partitions.push(Partition { name, schema, from: at(from)?, to: at(to)? });
                    }
                }
            }
            WarmLayout::TimescaleDb { .. } => {
                let rows = sqlx::query(
                    "SELECT chunk_name::text AS name, chunk_schema::text AS schema, \
                     range_start, range_end FROM timescaledb_information.chunks \
                     WHERE hypertable_name = 'fintra_events' \
                     AND hypertable_schema = current_schema()",
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(Error::backend)?;
                for row in rows {
                    partitions.push(Partition {
                        name: row.try_get("name").map_err(Error::backend)?,
                        schema: row.try_get("schema").map_err(Error::backend)?,
                        from: row.try_get("range_start").map_err(Error::backend)?,
                        to: row.try_get("range_end").map_err(Error::backend)?,
                    });
                }
            }
        }
        partitions.sort_by_key(|p| p.from);
        Ok(partitions)
    }
}

/// Creates one native partition; when the default partition holds rows of its range, detaches
/// the default, creates the partition, moves the rows and re-attaches the default, all in one
/// transaction. `None` when another process created it first.
async fn create_partition(
    conn: &mut PgConnection,
    name: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<u64>> {
    let mut tx = conn.begin().await.map_err(Error::backend)?;
    sqlx::query(MAINTENANCE_LOCK).execute(&mut *tx).await.map_err(Error::backend)?;
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(Error::backend)?;
    if exists.is_some() {
        tx.rollback().await.map_err(Error::backend)?;
        return Ok(None);
    }
    let caught: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM fintra_events_default WHERE recorded_at >= $1 AND recorded_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&mut *tx)
    .await
    .map_err(Error::backend)?;
    // Bounds are formatted by chrono in RFC 3339 (no quotes possible); the name is ours.
    let create = format!(
        "CREATE TABLE \"{name}\" PARTITION OF fintra_events FOR VALUES FROM ('{}') TO ('{}')",
        from.to_rfc3339(),
        to.to_rfc3339()
    );
    if caught == 0 {
        sqlx::raw_sql(&create).execute(&mut *tx).await.map_err(Error::backend)?;
    } else {
        let range = format!(
            "recorded_at >= '{}' AND recorded_at < '{}'",
            from.to_rfc3339(),
            to.to_rfc3339()
        );
        let script = format!(
            "ALTER TABLE fintra_events DETACH PARTITION fintra_events_default;\n\
             {create};\n\
             INSERT INTO fintra_events SELECT * FROM fintra_events_default WHERE {range};\n\
             DELETE FROM fintra_events_default WHERE {range};\n\
             ALTER TABLE fintra_events ATTACH PARTITION fintra_events_default DEFAULT;"
        );
        sqlx::raw_sql(&script).execute(&mut *tx).await.map_err(Error::backend)?;
    }
    tx.commit().await.map_err(Error::backend)?;
    Ok(Some(u64::try_from(caught).unwrap_or(0)))
}

/// Qualifies TimescaleDB's functions with the extension's schema, so the DDL works whatever the
/// connection's `search_path` (a fintra schema alone, typically).
fn qualify(sql: &str, schema: &str) -> String {
    ["create_hypertable(", "by_range(", "time_bucket(", "last("]
        .iter()
        .fold(sql.to_owned(), |sql, function| {
            sql.replace(function, &format!("\"{schema}\".{function}"))
        })
}
