//! [`PgSnapshotStore`]: the latest snapshot per stream, in `fintra_snapshots`.

use async_trait::async_trait;
use bytes::Bytes;
use fintra_core::{Result, Snapshot, SnapshotStore, StreamId, StreamVersion};
use sqlx::{PgPool, Row};

use crate::error::{backend, to_i64, to_u64};

/// Snapshots on PostgreSQL. A save only replaces an older snapshot (the upsert's `WHERE`), so
/// concurrent savers never move a stream's snapshot backwards; it is refused for a stream the
/// session cannot see or at a version the stream has not reached. Each snapshot carries its
/// stream's tenant, so row-level security covers snapshots like events.
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
        let version = to_i64("version", snapshot.version.get())?;
        let row = sqlx::query(include_str!("../sql/save_snapshot.sql"))
            .bind(snapshot.stream_id.as_str())
            .bind(version)
            .bind(schema_version)
            .bind(snapshot.occurred_at)
            .bind(snapshot.state.as_ref())
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let saved: i64 = row.try_get("saved").map_err(backend)?;
        let head: Option<i64> = row.try_get("head").map_err(backend)?;
        // Nothing saved is fine when a newer snapshot is stored; not when the stream is
        // missing (or another tenant's) or has not reached the snapshot's version.
        match head {
            Some(head) if saved > 0 || head >= version => Ok(()),
            Some(head) => Err(fintra_core::Error::invalid(
                "version",
                format!("the snapshot is at version {version}, the stream at {head}"),
            )),
            None => Err(fintra_core::Error::invalid(
                "stream_id",
                "no such stream is visible to this session",
            )),
        }
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
