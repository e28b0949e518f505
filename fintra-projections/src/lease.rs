//! Fenced leases in PostgreSQL: one active owner per unit of work (a projection, a shard, a
//! publisher) among any number of processes.
//!
//! A lease has an owner, an **epoch** (the fencing token) and an expiry. Taking a lease that is
//! free, expired or released bumps its epoch; renewing keeps it. Every checkpoint write of a
//! fenced sink runs [`fence`] in its own transaction: it re-checks owner, epoch and expiry and
//! locks the lease row until the transaction ends. So a process that was paused (GC, `SIGSTOP`,
//! a network partition) past its lease, and wakes up mid-batch, cannot commit: a newer owner has
//! bumped the epoch, and its write is refused with [`ProjectionError::Fenced`]. A takeover that
//! races a commit waits for the row lock, so it starts after the old owner's last commit, never
//! in the middle of it.
//!
//! ```no_run
//! # async fn demo(pool: sqlx::PgPool) -> Result<(), fintra_projections::ProjectionError> {
//! use std::time::Duration;
//! use fintra_projections::lease::{LeaseOptions, PgLeases};
//! let leases = PgLeases::new(pool, LeaseOptions { ttl: Duration::from_secs(10) }).await?;
//! if let Some(lease) = leases.try_acquire("balances@v1", "host-a").await? {
//!     // … run the projection with a sink fenced by `lease` …
//!     leases.release(&lease).await?;
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use fintra_core::StreamId;
use sqlx::{PgConnection, PgPool, Row};
use tokio::sync::watch;

use crate::checkpoints::pg_error;
use crate::runner::ProjectionError;

/// The lease table (one row per unit of work), created or brought up to date.
const LEASES_DDL: &str = "CREATE TABLE IF NOT EXISTS fintra_leases (
    unit text PRIMARY KEY,
    owner text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    renewed_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    last_error_at timestamptz
);
DO $$ BEGIN
    -- Tables created before the last-error columns: add them (an exclusive lock, once).
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                   AND table_name = 'fintra_leases' AND column_name = 'last_error') THEN
        ALTER TABLE fintra_leases ADD COLUMN IF NOT EXISTS last_error text,
            ADD COLUMN IF NOT EXISTS last_error_at timestamptz;
    END IF;
END $$";

/// How long a lease lasts without renewal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseOptions {
    /// Time to live: an owner that does not renew within it loses the lease to the next
    /// acquirer. Renew at a third of it. At least 100 ms.
    pub ttl: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        Self { ttl: Duration::from_secs(10) }
    }
}

/// A lease held by this process: the unit, the owner and the epoch it was granted at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The unit of work.
    pub unit: String,
    /// Who holds it (a process or host name, unique among the contenders).
    pub owner: String,
    /// The fencing token: bumped every time the lease changes hands or lapses.
    pub epoch: i64,
    /// When it lapses unless renewed (the server's clock).
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// The fencing token of this lease, for writers outside this crate (the warm store's
    /// `Tiering::with_fence`).
    pub fn token(&self) -> fintra_store_postgres::fence::FenceToken {
        fintra_store_postgres::fence::FenceToken {
            unit: self.unit.clone(),
            owner: self.owner.clone(),
            epoch: self.epoch,
        }
    }
}

/// One row of [`PgLeases::list`]: who holds what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseState {
    /// The unit of work.
    pub unit: String,
    /// Its current (or last) owner.
    pub owner: String,
    /// Its epoch.
    pub epoch: i64,
    /// When it lapses (in the past: free).
    pub expires_at: DateTime<Utc>,
    /// The owner's last renewal or fenced write.
    pub renewed_at: DateTime<Utc>,
    /// The last error a worker holding this unit reported ([`PgLeases::record_error`]), with
    /// when; kept across changes of hands until the next error replaces it.
    pub last_error: Option<(DateTime<Utc>, String)>,
}

/// Leases in one PostgreSQL schema. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PgLeases {
    pool: PgPool,
    ttl_ms: i64,
}

fn invalid(field: &'static str, why: &str) -> ProjectionError {
    ProjectionError::Store(fintra_core::Error::invalid(field, why))
}

pub(crate) fn check_names(unit: &str, owner: &str) -> Result<(), ProjectionError> {
    for (field, value) in [("unit", unit), ("owner", owner)] {
        if value.is_empty() || value.len() > 200 {
            return Err(invalid(field, "1 to 200 bytes"));
        }
    }
    Ok(())
}

impl PgLeases {
    /// Creates the lease table if missing.
    ///
    /// # Errors
    /// `InvalidInput` for a time to live under 100 ms or beyond a day; sink errors.
    pub async fn new(pool: PgPool, options: LeaseOptions) -> Result<Self, ProjectionError> {
        let ttl_ms = i64::try_from(options.ttl.as_millis()).unwrap_or(i64::MAX);
        if !(100..=86_400_000).contains(&ttl_ms) {
            return Err(invalid("ttl", "100 ms to one day"));
        }
        crate::pg::create_if_missing(&pool, LEASES_DDL).await?;
        Ok(Self { pool, ttl_ms })
    }

    /// Takes `unit` for `owner` if it is free, lapsed or already `owner`'s; `None` while another
    /// owner holds it. Every take bumps the epoch — also `owner` taking a live lease of its own
    /// again, so two processes that share an owner name (a reused pod name, pid 1 in every
    /// container) still fence each other; keep a lease with [`PgLeases::renew`], which does not.
    ///
    /// # Errors
    /// `InvalidInput` for an empty or over-long unit or owner; sink errors.
    pub async fn try_acquire(
        &self,
        unit: &str,
        owner: &str,
    ) -> Result<Option<Lease>, ProjectionError> {
        check_names(unit, owner)?;
        let row = sqlx::query(
            "INSERT INTO fintra_leases AS l (unit, owner, epoch, expires_at)
             VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
             ON CONFLICT (unit) DO UPDATE SET
                 owner = EXCLUDED.owner,
                 epoch = l.epoch + 1,
                 expires_at = EXCLUDED.expires_at,
                 renewed_at = now()
             WHERE l.owner = EXCLUDED.owner OR l.expires_at <= now()
             RETURNING epoch, expires_at",
        )
        .bind(unit)
        .bind(owner)
        .bind(self.ttl_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(pg_error)?;
        row.map(|row| lease_of(unit, owner, &row)).transpose()
    }

    /// Extends a live lease by the time to live; `None` when it was lost (lapsed and taken, or
    /// lapsed: a lapsed lease is re-taken with [`PgLeases::try_acquire`], at a new epoch).
    ///
    /// # Errors
    /// Sink errors.
    pub async fn renew(&self, lease: &Lease) -> Result<Option<Lease>, ProjectionError> {
        let row = sqlx::query(
            "UPDATE fintra_leases
             SET expires_at = now() + $4 * interval '1 millisecond', renewed_at = now()
             WHERE unit = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()
             RETURNING epoch, expires_at",
        )
        .bind(&lease.unit)
        .bind(&lease.owner)
        .bind(lease.epoch)
        .bind(self.ttl_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(pg_error)?;
        row.map(|row| lease_of(&lease.unit, &lease.owner, &row)).transpose()
    }

    /// Gives the lease up at once (graceful handover on shutdown): the next
    /// [`PgLeases::try_acquire`] by anyone takes it, at a new epoch. Releasing a lease already
    /// lost does nothing.
    ///
    /// # Errors
    /// Sink errors.
    pub async fn release(&self, lease: &Lease) -> Result<(), ProjectionError> {
        sqlx::query(
            "UPDATE fintra_leases SET expires_at = now() - interval '1 millisecond'
             WHERE unit = $1 AND owner = $2 AND epoch = $3",
        )
        .bind(&lease.unit)
        .bind(&lease.owner)
        .bind(lease.epoch)
        .execute(&self.pool)
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    /// Records `error` as the last error of `lease`'s unit (what [`crate::fleet::status`] and
    /// [`PgLeases::list`] report), truncated to 2,000 bytes. Recorded whoever holds the unit now:
    /// a worker's failure is worth knowing even after it lost the lease.
    ///
    /// # Errors
    /// Sink errors.
    pub async fn record_error(&self, lease: &Lease, error: &str) -> Result<(), ProjectionError> {
        let mut end = error.len().min(2_000);
        while !error.is_char_boundary(end) {
            end -= 1;
        }
        sqlx::query(
            "UPDATE fintra_leases SET last_error = $2, last_error_at = now() WHERE unit = $1",
        )
        .bind(&lease.unit)
        .bind(&error[..end])
        .execute(&self.pool)
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    /// The time to live of the leases this handle grants.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.ttl_ms).unwrap_or(u64::MAX))
    }

    /// The live (not lapsed, not released) leases whose unit starts with `prefix`, by unit.
    ///
    /// # Errors
    /// Sink errors.
    pub async fn live(&self, prefix: &str) -> Result<Vec<LeaseState>, ProjectionError> {
        let now: DateTime<Utc> =
            sqlx::query_scalar("SELECT now()").fetch_one(&self.pool).await.map_err(pg_error)?;
        Ok(self.list(prefix).await?.into_iter().filter(|l| l.expires_at > now).collect())
    }

    /// Every lease whose unit starts with `prefix` (`""`: all), by unit: who owns what.
    ///
    /// # Errors
    /// Sink errors.
    pub async fn list(&self, prefix: &str) -> Result<Vec<LeaseState>, ProjectionError> {
        let rows = sqlx::query(
            "SELECT unit, owner, epoch, expires_at, renewed_at, last_error, last_error_at
             FROM fintra_leases WHERE starts_with(unit, $1) ORDER BY unit",
        )
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .map_err(pg_error)?;
        rows.iter()
            .map(|row| {
                Ok(LeaseState {
                    unit: row.try_get("unit").map_err(pg_error)?,
                    owner: row.try_get("owner").map_err(pg_error)?,
                    epoch: row.try_get("epoch").map_err(pg_error)?,
                    expires_at: row.try_get("expires_at").map_err(pg_error)?,
                    renewed_at: row.try_get("renewed_at").map_err(pg_error)?,
                    last_error: last_error_of(row)?,
                })
            })
            .collect()
    }
}

/// The `last_error` and `last_error_at` columns of a lease row.
pub(crate) fn last_error_of(
    row: &sqlx::postgres::PgRow,
) -> Result<Option<(DateTime<Utc>, String)>, ProjectionError> {
    let error: Option<String> = row.try_get("last_error").map_err(pg_error)?;
    let at: Option<DateTime<Utc>> = row.try_get("last_error_at").map_err(pg_error)?;
    Ok(at.zip(error))
}

fn lease_of(
    unit: &str,
    owner: &str,
    row: &sqlx::postgres::PgRow,
) -> Result<Lease, ProjectionError> {
    Ok(Lease {
        unit: unit.to_owned(),
        owner: owner.to_owned(),
        epoch: row.try_get("epoch").map_err(pg_error)?,
        expires_at: row.try_get("expires_at").map_err(pg_error)?,
    })
}

/// Inside the caller's transaction: checks that `lease` is still current (same owner and epoch,
/// not lapsed) and locks its row until the transaction ends, so no takeover can start before it
/// commits or rolls back ([`fintra_store_postgres::fence::fence`]).
///
/// # Errors
/// [`ProjectionError::Fenced`] when the lease was lost: the caller must roll back. Sink errors.
pub async fn fence(conn: &mut PgConnection, lease: &Lease) -> Result<(), ProjectionError> {
    match fintra_store_postgres::fence::fence(conn, &lease.token()).await {
        Ok(()) => Ok(()),
        Err(fintra_core::Error::Fenced { unit, epoch }) => {
            Err(ProjectionError::Fenced { unit, epoch })
        }
        Err(error) => Err(ProjectionError::Store(error)),
    }
}

impl PgLeases {
    /// Keeps `lease` alive from a background task, renewing it at a third of the time to live,
    /// until the [`Keeper`] is dropped or the lease is lost (another owner took it, or no renewal
    /// succeeded for a whole time to live — a database that cannot be reached). Pass
    /// [`Keeper::lost`] to the runner as its shutdown signal, so the runner stops when the lease
    /// goes; its writes are fenced meanwhile anyway.
    pub fn keep(&self, lease: Lease) -> Keeper {
        let (tx, rx) = watch::channel(false);
        let leases = self.clone();
        let ttl = self.ttl();
        let task = tokio::spawn(async move {
            let mut last_renewed = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(ttl / 3).await;
                match leases.renew(&lease).await {
                    Ok(Some(_)) => last_renewed = tokio::time::Instant::now(),
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(unit = %lease.unit, %error, "lease renewal failed");
                        if last_renewed.elapsed() >= ttl {
                            break;
                        }
                    }
                }
            }
            tracing::warn!(unit = %lease.unit, epoch = lease.epoch, "lease lost");
            let _ = tx.send(true);
        });
        Keeper { lost: rx, task }
    }
}

/// A lease kept alive in the background ([`PgLeases::keep`]). Dropping it stops the renewals
/// (release the lease too, for a graceful handover).
#[derive(Debug)]
pub struct Keeper {
    lost: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Keeper {
    /// Whether the lease was lost.
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Resolves once the lease is lost (or the keeper is dropped).
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut lost = self.lost.clone();
        async move {
            // An error means the keeper task ended: the lease is no longer kept.
            let _ = lost.wait_for(|lost| *lost).await;
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One shard of a projection split K ways by a stable hash of the stream id
/// ([`PgSink::with_shard`](crate::PgSink::with_shard)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Most shards of one projection.
pub const SHARDS_MAX: u32 = 1024;

impl Shard {
    /// Shard `index` of `count` (0-based).
    ///
    /// # Errors
    /// `InvalidInput` for a count of 0 or above [`SHARDS_MAX`], or an index not below it.
    pub fn new(index: u32, count: u32) -> Result<Self, ProjectionError> {
        if count == 0 || count > SHARDS_MAX {
            return Err(invalid("count", "1 to SHARDS_MAX shards"));
        }
        if index >= count {
            return Err(invalid("index", "below the shard count"));
        }
        Ok(Self { index, count })
    }

    /// Its index.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shards the projection has.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The shard of `stream` among `count`: FNV-1a (64-bit) of the stream id's bytes, modulo
    /// `count` — fixed, so every process and every version agrees.
    pub fn of_stream(stream: &StreamId, count: u32) -> u32 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in stream.as_str().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        u32::try_from(hash % u64::from(count.max(1))).unwrap_or(0)
    }

    /// Whether `stream` belongs to this shard.
    pub fn owns(self, stream: &StreamId) -> bool {
        Self::of_stream(stream, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}of{}", self.index, self.count)
    }
}
