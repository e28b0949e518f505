//! One home for checkpoints kept in PostgreSQL and for mapping sqlx errors: every sink and
//! publisher reads, writes and validates its position the same way.

use fintra_core::Position;
use sqlx::{PgConnection, PgPool};

use crate::runner::ProjectionError;

/// The checkpoint table of the PostgreSQL sinks and the Kafka publisher.
pub(crate) const CHECKPOINTS_DDL: &str =
    "CREATE TABLE IF NOT EXISTS fintra_projection_checkpoints (
    name text PRIMARY KEY,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
)";

/// A PostgreSQL failure of a sink.
pub(crate) fn pg_error(error: sqlx::Error) -> ProjectionError {
    ProjectionError::sink("postgres", error)
}

/// A position as stored (a `bigint`); a negative one is corrupted data, never "start over".
pub(crate) fn from_stored(position: i64) -> Result<Position, ProjectionError> {
    Ok(Position::from_stored(position)?)
}

/// A position as text (Redis); anything but a non-negative integer is corrupted.
pub(crate) fn from_stored_text(text: &str) -> Result<Position, ProjectionError> {
    let value: i64 = text.parse().map_err(|_| {
        fintra_core::Error::corrupted(format!("checkpoint {text:?} is not a position"))
    })?;
    from_stored(value)
}

/// A position for a `bigint` column.
pub(crate) fn to_stored(position: Position) -> Result<i64, ProjectionError> {
    i64::try_from(position.0).map_err(|_| {
        ProjectionError::Store(fintra_core::Error::corrupted(format!(
            "position {} beyond bigint",
            position.0
        )))
    })
}

/// The position stored under `name` in `table` (a bookkeeping table of this crate with `name`
/// and `position` columns); the start of the log if none.
pub(crate) async fn load(
    pool: &PgPool,
    table: &'static str,
    name: &str,
) -> Result<Position, ProjectionError> {
    let position: Option<i64> =
        sqlx::query_scalar(&format!("SELECT position FROM {table} WHERE name = $1"))
            .bind(name)
            .fetch_optional(pool)
            .await
            .map_err(pg_error)?;
    position.map_or(Ok(Position::START), from_stored)
}

/// Moves `name`'s checkpoint in `fintra_projection_checkpoints` to `through` (never backwards).
pub(crate) async fn save(
    conn: &mut PgConnection,
    name: &str,
    through: Position,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO fintra_projection_checkpoints (name, position) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
         WHERE fintra_projection_checkpoints.position < EXCLUDED.position",
    )
    .bind(name)
    .bind(to_stored(through)?)
    .execute(&mut *conn)
    .await
    .map_err(pg_error)?;
    Ok(())
}
