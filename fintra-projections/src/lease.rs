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
use sqlx::{PgConnection, PgPool, Row};

use crate::checkpoints::pg_error;
use crate::runner::ProjectionError;

/// The lease table (one row per unit of work).
const LEASES_DDL: &str = "CREATE TABLE IF NOT EXISTS fintra_leases (
    unit text PRIMARY KEY,
    owner text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    renewed_at timestamptz NOT NULL DEFAULT now()
)";

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

fn check_names(unit: &str, owner: &str) -> Result<(), ProjectionError> {
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
        sqlx::raw_sql(LEASES_DDL).execute(&pool).await.map_err(pg_error)?;
        Ok(Self { pool, ttl_ms })
    }

    /// Takes `unit` for `owner` if it is free, lapsed or already `owner`'s; `None` while another
    /// owner holds it. Taking it from anyone (or after it lapsed) bumps the epoch; `owner`
    /// re-acquiring a live lease of its own renews it at the same epoch.
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
                 epoch = l.epoch + CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > now()
                                        THEN 0 ELSE 1 END,
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

    /// Every lease whose unit starts with `prefix` (`""`: all), by unit: who owns what.
    ///
    /// # Errors
    /// Sink errors.
    pub async fn list(&self, prefix: &str) -> Result<Vec<LeaseState>, ProjectionError> {
        let rows = sqlx::query(
            "SELECT unit, owner, epoch, expires_at, renewed_at FROM fintra_leases
             WHERE starts_with(unit, $1) ORDER BY unit",
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
                })
            })
            .collect()
    }
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
/// commits or rolls back.
///
/// # Errors
/// [`ProjectionError::Fenced`] when the lease was lost: the caller must roll back. Sink errors.
pub async fn fence(conn: &mut PgConnection, lease: &Lease) -> Result<(), ProjectionError> {
    let held = sqlx::query(
        "UPDATE fintra_leases SET renewed_at = now()
         WHERE unit = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()",
    )
    .bind(&lease.unit)
    .bind(&lease.owner)
    .bind(lease.epoch)
    .execute(&mut *conn)
    .await
    .map_err(pg_error)?;
    if held.rows_affected() == 1 {
        Ok(())
    } else {
        Err(ProjectionError::Fenced { unit: lease.unit.clone(), epoch: lease.epoch })
    }
}
