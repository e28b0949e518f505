//! [`PgSnapshotStore`]: the latest snapshot per stream, in `fintra_snapshots`.

use async_trait::async_trait;
use bytes::Bytes;
use fintra_core::{Result, Snapshot, SnapshotStore, StreamId, StreamVersion};
use sqlx::{PgPool, Row};

use crate::error::{backend, to_i64, to_u64};

/// Snapshots on PostgreSQL. A save only replaces an older snapshot (the upsert's `WHERE`), so
/// concurrent savers never move a stream's snapshot backwards.
#[derive(Clone, Debug)]
pub struct PgSnapshotStore {
    pool: PgPool,
}

impl PgSnapshotStore {
    /// Snapshots in the pool's database (schema created by `PgEventStore::migrate`).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SnapshotStore for PgSnapshotStore {
    async fn save(&self, snapshot: &Snapshot) -> Result<()> {
        snapshot.validate()?;
        let schema_version = i32::try_from(snapshot.schema_version)
            .map_err(|_| fintra_core::Error::invalid("schema_version", "exceeds i32::MAX"))?;
        sqlx::query(include_str!("../sql/save_snapshot.sql"))
            .bind(snapshot.stream_id.as_str())
            .bind(to_i64("version", snapshot.version.get())?)
            .bind(schema_version)
            .bind(snapshot.occurred_at)
            .bind(snapshot.state.as_ref())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let row = sqlx::query(
            "SELECT version, schema_version, occurred_at, state FROM fintra_snapshots WHERE stream_id = $1",
        )
        .bind(stream.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let schema_version: i32 = row.try_get("schema_version").map_err(backend)?;
        let state: Vec<u8> = row.try_get("state").map_err(backend)?;
        Ok(Some(Snapshot {
            stream_id: stream.clone(),
            version: StreamVersion(to_u64("version", row.try_get("version").map_err(backend)?)?),
            schema_version: u32::try_from(schema_version)
                .map_err(|_| fintra_core::Error::corrupted("negative snapshot schema version"))?,
            occurred_at: row.try_get("occurred_at").map_err(backend)?,
            state: Bytes::from(state),
        }))
    }
}
