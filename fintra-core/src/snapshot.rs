//! Snapshots: a serialized aggregate state at a stream version, so loads skip old events.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::backend::check_limit;
use crate::limits::SNAPSHOT_BYTES_MAX;
use crate::{Error, Result, StreamId, StreamVersion};

/// One saved state of a stream's aggregate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream it summarises.
    pub stream_id: StreamId,
    /// The stream version whose state it holds (events 1..=version folded).
    pub version: StreamVersion,
    /// The state's schema version; a snapshot of another schema is ignored on load.
    pub schema_version: u32,
    /// Domain time of the last folded event.
    pub occurred_at: DateTime<Utc>,
    /// The serialized state (JSON by default).
    pub state: Bytes,
}

impl Snapshot {
    /// Checks the snapshot against [`SNAPSHOT_BYTES_MAX`] and basic sanity.
    ///
    /// # Errors
    /// `LimitExceeded` for an oversized state, `InvalidInput` for version 0.
    pub fn validate(&self) -> Result<()> {
        if self.version == StreamVersion::NONE {
            return Err(Error::invalid("version", "a snapshot covers at least one event"));
        }
        check_limit("SNAPSHOT_BYTES_MAX", SNAPSHOT_BYTES_MAX, self.state.len())
    }
}

/// Keeps the latest snapshot of each stream.
///
/// # Contract
/// - `save` validates, then replaces the stream's snapshot only if the new one has a higher
///   version (an older snapshot never overwrites a newer one); saving is idempotent.
/// - A store that sees the event log (PostgreSQL) refuses a snapshot of a stream that does not
///   exist for the session, or that has not reached the snapshot's version (`InvalidInput`);
///   a store that cannot check accepts it, and the repository's load finds the mismatch
///   (`Corrupted`).
/// - `load` returns the latest saved snapshot, or `None`.
/// - Snapshots are a cache: deleting them all changes nothing but load time.
///
/// `fintra_core::testing::snapshots` (feature `testing`) is the conformance suite every
/// snapshot store runs.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Saves `snapshot` if it is newer than the stored one.
    ///
    /// # Errors
    /// `LimitExceeded`, `InvalidInput`, `Backend`.
    async fn save(&self, snapshot: &Snapshot) -> Result<()>;

    /// The latest snapshot of `stream`.
    ///
    /// # Errors
    /// `Backend`, `Corrupted`.
    async fn load(&self, stream: &StreamId) -> Result<Option<Snapshot>>;
}

#[async_trait]
impl<S: SnapshotStore + ?Sized> SnapshotStore for std::sync::Arc<S> {
    async fn save(&self, snapshot: &Snapshot) -> Result<()> {
        (**self).save(snapshot).await
    }

    async fn load(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        (**self).load(stream).await
    }
}
