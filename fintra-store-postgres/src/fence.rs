//! The fencing check of a lease: the one statement every fenced write runs in its own
//! transaction. Leases themselves (taking, renewing, releasing, the `fintra_leases` table) are
//! `fintra_projections::lease`; this check lives here so that any crate writing to PostgreSQL —
//! the projections, the warm store's tiering — can fence its writes with the same token.

use fintra_core::{Error, Result};
use sqlx::PgConnection;

/// A lease of `fintra_leases` as its holder knows it: the unit of work, the owner and the epoch
/// it was granted at (the fencing token).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FenceToken {
    /// The unit of work.
    pub unit: String,
    /// Its holder.
    pub owner: String,
    /// The epoch the holder was granted.
    pub epoch: i64,
}

/// Inside the caller's transaction: checks that `token` is still the lease's current holder
/// (same owner and epoch, not lapsed) and locks the lease row until the transaction ends, so no
/// takeover can happen before the transaction commits or rolls back. A lease table that does not
/// exist is an error, not a pass.
///
/// # Errors
/// [`Error::Fenced`] when the lease was lost: the caller must roll back. `Backend` for database
/// failures.
pub async fn fence(conn: &mut PgConnection, token: &FenceToken) -> Result<()> {
    let held = sqlx::query(
        "UPDATE fintra_leases SET renewed_at = now()
         WHERE unit = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()",
    )
    .bind(&token.unit)
    .bind(&token.owner)
    .bind(token.epoch)
    .execute(&mut *conn)
    .await
    .map_err(Error::backend)?;
    if held.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::Fenced { unit: token.unit.clone(), epoch: token.epoch })
    }
}
