//! The in-memory backend: a complete [`EventStore`] and [`SnapshotStore`], the embedded default.
//!
//! It keeps the whole log in one vector behind a read-write lock, so positions are contiguous
//! (1, 2, 3…) and appends are serialised. It is the reference the conformance suite is written
//! against, and what examples run on with no setup. It keeps nothing across restarts.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::backend::{replayed_append, truncate_to_page_bytes, validate_batch};
use crate::store::check_read_limit;
use crate::{
    AppendResult, Clock, Error, EventId, EventStore, ExpectedVersion, NewEvent, Position,
    ReadStreamOptions, RecordedEvent, Result, Snapshot, SnapshotStore, StreamId, StreamVersion,
    SystemClock,
};

#[derive(Default)]
struct Log {
    /// The global log; the event at index `i` has position `i + 1`.
    events: Vec<RecordedEvent>,
    /// Each stream's events as indices into `events`, in version order.
    streams: HashMap<StreamId, Vec<usize>>,
    /// Every recorded event id and its index.
    ids: HashMap<EventId, usize>,
    /// The latest `recorded_at`, so the store clock never runs backwards in the log.
    last_recorded_at: Option<DateTime<Utc>>,
}

impl Log {
    fn version_of(&self, stream: &StreamId) -> StreamVersion {
        let len = self.streams.get(stream).map_or(0, Vec::len);
        StreamVersion(u64::try_from(len).unwrap_or(u64::MAX))
    }
}

/// A thread-safe, in-process event store and snapshot store.
///
/// Cloning shares the same log (it is an `Arc` inside).
#[derive(Clone)]
pub struct InMemoryEventStore {
    log: Arc<RwLock<Log>>,
    clock: Arc<dyn Clock>,
}

impl Default for InMemoryEventStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InMemoryEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryEventStore").field("events", &self.read().events.len()).finish()
    }
}

impl InMemoryEventStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store whose `recorded_at` comes from `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self { log: Arc::default(), clock }
    }

    /// How many events the store holds.
    pub fn len(&self) -> usize {
        self.read().events.len()
    }

    /// True when no event was appended yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while holding the lock cannot leave the log half-written: appends build every
    // record first and only then push them, so a poisoned lock still guards a consistent log.
    fn read(&self) -> RwLockReadGuard<'_, Log> {
        self.log.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Log> {
        self.log.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn to_u64(n: usize) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::corrupted("index does not fit u64"))
}

#[async_trait]
impl EventStore for InMemoryEventStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        validate_batch(events)?;
        let mut log = self.write();
        let recorded = |id: &EventId| log.ids.get(id).map(|&index| &log.events[index]);
        if let Some(original) = replayed_append(stream, events, recorded)? {
            return Ok(original);
        }
        let current = log.version_of(stream);
        let owner = log.streams.get(stream).and_then(|indices| indices.first());
        if owner.is_some_and(|&first| {
            log.events[first].metadata.tenant_id != events[0].metadata.tenant_id
        }) {
            return Err(Error::invalid("tenant_id", "the stream belongs to another tenant"));
        }
        expected.check(stream, current)?;

        let now = self.clock.now();
        let recorded_at = log.last_recorded_at.map_or(now, |last| last.max(now));
        let mut version = current;
        let mut records = Vec::with_capacity(events.len());
        for (offset, event) in events.iter().enumerate() {
            version = version.next()?;
            let position = Position(to_u64(log.events.len() + offset + 1)?);
            records.push(RecordedEvent {
                event_id: event.event_id,
                stream_id: stream.clone(),
                stream_version: version,
                position,
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
                recorded_at,
                occurred_at: event.occurred_at,
                metadata: event.metadata.clone(),
                content_type: event.content_type.clone(),
                payload: event.payload.clone(),
            });
        }
        let first_index = log.events.len();
        let result = AppendResult {
            first_version: records[0].stream_version,
            last_version: version,
            first_position: records[0].position,
            last_position: Position(to_u64(first_index + records.len())?),
            replayed: false,
        };
        // Nothing below can fail: the batch becomes visible all at once.
        let indices = log.streams.entry(stream.clone()).or_default();
        indices.extend(first_index..first_index + records.len());
        for (offset, record) in records.iter().enumerate() {
            log.ids.insert(record.event_id, first_index + offset);
        }
        log.events.extend(records);
        log.last_recorded_at = Some(recorded_at);
        Ok(result)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        check_read_limit(options.limit)?;
        let log = self.read();
        let Some(indices) = log.streams.get(stream) else { return Ok(Vec::new()) };
        let skip = usize::try_from(options.from.get().saturating_sub(1)).unwrap_or(usize::MAX);
        let mut page: Vec<&RecordedEvent> = indices
            .iter()
            .skip(skip)
            .map(|&index| &log.events[index])
            .filter(|event| options.as_of.is_none_or(|as_of| as_of.includes(event)))
            .take(options.limit)
            .collect();
        truncate_to_page_bytes(&mut page);
        Ok(page.into_iter().cloned().collect())
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        check_read_limit(limit)?;
        let log = self.read();
        let start = usize::try_from(after.get()).unwrap_or(usize::MAX).min(log.events.len());
        let end = start.saturating_add(limit).min(log.events.len());
        let mut page: Vec<&RecordedEvent> = log.events[start..end].iter().collect();
        truncate_to_page_bytes(&mut page);
        Ok(page.into_iter().cloned().collect())
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion> {
        Ok(self.read().version_of(stream))
    }
}

/// A thread-safe, in-process [`SnapshotStore`]. Cloning shares the same map.
#[derive(Clone, Debug, Default)]
pub struct InMemorySnapshotStore {
    snapshots: Arc<RwLock<HashMap<StreamId, Snapshot>>>,
}

impl InMemorySnapshotStore {
    /// An empty snapshot store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SnapshotStore for InMemorySnapshotStore {
    async fn save(&self, snapshot: &Snapshot) -> Result<()> {
        snapshot.validate()?;
        let mut map = self.snapshots.write().unwrap_or_else(PoisonError::into_inner);
        let newer = map.get(&snapshot.stream_id).is_none_or(|old| old.version < snapshot.version);
        if newer {
            map.insert(snapshot.stream_id.clone(), snapshot.clone());
        }
        Ok(())
    }

    async fn load(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let map = self.snapshots.read().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(stream).cloned())
    }
}
