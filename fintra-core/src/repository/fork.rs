//! What-if forks: copy a stream, edit its history, replay it in an isolated in-memory branch.
//!
//! A fork reads the live stream once (optionally only up to an instant, see
//! [`Repository::fork_as_of`]) and never writes to it. Edits address events by id; the
//! branch renumbers versions, so the live stream's versions do not carry over.

use std::sync::Arc;

use crate::backend::check_limit;
use crate::limits::{APPEND_EVENTS_MAX, FORK_EVENTS_MAX};
use crate::{
    Aggregate, Codec, Error, EventId, EventMetadata, EventStore, ExpectedVersion,
    InMemoryEventStore, NewEvent, RecordedEvent, Result, StreamId,
};

use super::{Loaded, Repository};

/// A stream's history being edited for a what-if question. Built by [`Repository::fork`].
pub struct Fork<'r, A: Aggregate, S, C> {
    stream: StreamId,
    entries: Vec<NewEvent>,
    metadata: EventMetadata,
    repository: &'r Repository<A, S, C>,
}

impl<A: Aggregate, S, C> std::fmt::Debug for Fork<'_, A, S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fork")
            .field("stream", &self.stream)
            .field("events", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl<'r, A: Aggregate, S: EventStore, C: Codec<A::Event>> Fork<'r, A, S, C> {
    pub(super) fn new(
        stream: StreamId,
        base: Vec<RecordedEvent>,
        repository: &'r Repository<A, S, C>,
    ) -> Self {
        let metadata = EventMetadata {
            tenant_id: base.first().map(|e| e.metadata.tenant_id.clone()).unwrap_or_default(),
            ..EventMetadata::default()
        };
        let entries = base.iter().map(RecordedEvent::to_new_event).collect();
        Self { stream, entries, metadata, repository }
    }

    fn index_of(&self, event_id: EventId) -> Result<usize> {
        self.entries
            .iter()
            .position(|e| e.event_id == event_id)
            .ok_or_else(|| Error::NotFound { what: format!("event {event_id} in the fork") })
    }

    fn encode_one(
        &self,
        event: &A::Event,
        default_time: chrono::DateTime<chrono::Utc>,
    ) -> Result<NewEvent> {
        let mut encoded =
            self.repository.encode(std::slice::from_ref(event), default_time, &self.metadata)?;
        encoded.pop().ok_or_else(|| Error::corrupted("encoding one event returned none"))
    }

    fn ensure_room(&self) -> Result<()> {
        check_limit("FORK_EVENTS_MAX", FORK_EVENTS_MAX, self.entries.len().saturating_add(1))
    }

    /// Metadata for events the fork adds (default: the stream's tenant, system actor).
    #[must_use]
    pub fn with_metadata(mut self, metadata: EventMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Drops the event `event_id` from history.
    ///
    /// # Errors
    /// `NotFound` if the fork has no such event.
    pub fn without(mut self, event_id: EventId) -> Result<Self> {
        let index = self.index_of(event_id)?;
        self.entries.remove(index);
        Ok(self)
    }

    /// Replaces the event `event_id` by `event`, keeping its place and (unless `event` names its
    /// own) its time.
    ///
    /// # Errors
    /// `NotFound`, `Codec`.
    pub fn replacing(mut self, event_id: EventId, event: &A::Event) -> Result<Self> {
        let index = self.index_of(event_id)?;
        self.entries[index] = self.encode_one(event, self.entries[index].occurred_at)?;
        Ok(self)
    }

    /// Inserts `event` right after the event `event_id`, at its time unless `event` names one.
    ///
    /// # Errors
    /// `NotFound`, `Codec`, `LimitExceeded` (`FORK_EVENTS_MAX`).
    pub fn inserting_after(mut self, event_id: EventId, event: &A::Event) -> Result<Self> {
        self.ensure_room()?;
        let index = self.index_of(event_id)?;
        let encoded = self.encode_one(event, self.entries[index].occurred_at)?;
        self.entries.insert(index + 1, encoded);
        Ok(self)
    }

    /// Adds `event` at the end, at the repository clock's time unless `event` names one.
    ///
    /// # Errors
    /// `Codec`, `LimitExceeded` (`FORK_EVENTS_MAX`).
    pub fn appending(mut self, event: &A::Event) -> Result<Self> {
        self.ensure_room()?;
        let encoded = self.encode_one(event, self.repository.clock.now())?;
        self.entries.push(encoded);
        Ok(self)
    }

    /// The events of the fork as they stand.
    pub fn events(&self) -> &[NewEvent] {
        &self.entries
    }

    /// Writes the edited history into a fresh in-memory store and replays it.
    ///
    /// # Errors
    /// Codec errors from replay; `Corrupted` if the edited history cannot be stored.
    pub async fn build(self) -> Result<Branch<A, C>> {
        let store = InMemoryEventStore::with_clock(Arc::clone(&self.repository.clock));
        for chunk in self.entries.chunks(APPEND_EVENTS_MAX) {
            store.append(&self.stream, ExpectedVersion::Any, chunk).await?;
        }
        let repository = Repository {
            store,
            codec: Arc::clone(&self.repository.codec),
            upcasters: self.repository.upcasters.clone(),
            clock: Arc::clone(&self.repository.clock),
            ids: Arc::clone(&self.repository.ids),
            snapshots: None,
            cache: None,
            attempts_max: self.repository.attempts_max,
            aggregate: std::marker::PhantomData,
        };
        let loaded = repository.load(&self.stream).await?;
        Ok(Branch { stream: self.stream, loaded, repository })
    }
}

/// A replayed fork: its state, and a repository over its private store so further commands can
/// run on the branch.
pub struct Branch<A: Aggregate, C> {
    stream: StreamId,
    loaded: Loaded<A>,
    repository: Repository<A, InMemoryEventStore, C>,
}

impl<A: Aggregate, C> std::fmt::Debug for Branch<A, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Branch")
            .field("stream", &self.stream)
            .field("version", &self.loaded.version)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate, C: Codec<A::Event>> Branch<A, C> {
    /// The branch's state after replay.
    pub fn state(&self) -> &A {
        &self.loaded.state
    }

    /// The branch's state, version and last domain time after replay.
    pub fn loaded(&self) -> &Loaded<A> {
        &self.loaded
    }

    /// The stream id (the same name as the live stream, in the branch's own store).
    pub fn stream_id(&self) -> &StreamId {
        &self.stream
    }

    /// A repository over the branch's private store: execute commands "in the future" of the
    /// alternate history without touching the live one.
    pub fn repository(&self) -> &Repository<A, InMemoryEventStore, C> {
        &self.repository
    }
}
