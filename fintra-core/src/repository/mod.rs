//! The repository: loads aggregates (latest snapshot + later events), executes commands with
//! bounded retries on conflict, answers time-travel questions and builds what-if forks.

mod cache;
mod execute;
mod fork;

use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use fork::{Branch, Fork};

use crate::limits::{COMMAND_ATTEMPTS_MAX, LOAD_EVENTS_MAX};
use crate::{
    Aggregate, AppendResult, AsOf, Clock, Codec, Error, EventStore, EventStoreExt, IdGenerator,
    JsonCodec, RawEvent, RecordedEvent, Result, SnapshotStore, StreamId, StreamVersion,
    SystemClock, Upcasters, UuidV7Generator,
};

/// An aggregate's state at a stream version.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<A> {
    /// The folded state.
    pub state: A,
    /// The version of the last folded event ([`StreamVersion::NONE`] for a new stream).
    pub version: StreamVersion,
    /// Domain time of the last folded event.
    pub last_occurred_at: Option<DateTime<Utc>>,
}

impl<A: Default> Loaded<A> {
    fn empty() -> Self {
        Self { state: A::default(), version: StreamVersion::NONE, last_occurred_at: None }
    }
}

/// What a successful command did.
#[derive(Debug)]
pub struct Executed<A: Aggregate> {
    /// The state after the command.
    pub state: A,
    /// The events it produced (empty for a command that changed nothing).
    pub events: Vec<A::Event>,
    /// The append's result; `None` when there was nothing to append.
    pub append: Option<AppendResult>,
    /// How many attempts it took (1 without conflicts).
    pub attempts: u32,
    /// A snapshot that was due but could not be saved. The command itself succeeded: snapshots
    /// are a cache, so this is reported rather than turned into a failure.
    pub snapshot_error: Option<Error>,
}

/// Why a command did not go through.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The aggregate refused the command (a domain rule).
    #[error("command rejected: {0}")]
    Rejected(#[source] E),
    /// Loading or appending failed; after the last attempt a conflict is reported here too.
    #[error(transparent)]
    Store(#[from] Error),
}

impl<E: std::error::Error + 'static> ExecuteError<E> {
    /// The aggregate's rejection, or the store's error: every variant maps onto one of the two.
    ///
    /// # Errors
    /// The store's error, for anything but a rejection.
    pub fn into_rejection(self) -> Result<E, Error> {
        match self {
            Self::Rejected(rejection) => Ok(rejection),
            Self::Store(error) => Err(error),
        }
    }
}

struct Snapshots {
    store: Arc<dyn SnapshotStore>,
    every_events: u64,
}

/// Folds a stored event; an event the state cannot take is `Corrupted`, naming where it is.
fn fold_stored<A: Aggregate>(state: &mut A, event: &A::Event, at: &RecordedEvent) -> Result<()> {
    state.try_apply(event).map_err(|error| {
        Error::corrupted(format!(
            "event {} ({}) at version {} of stream {} cannot be folded: {error}",
            at.event_id, at.event_type, at.stream_version, at.stream_id
        ))
    })
}

/// A snapshot must sit on the event at its version: same version, same domain time.
fn check_snapshot_anchor<A>(snapshot: &Loaded<A>, event: &RecordedEvent) -> Result<()> {
    if event.stream_version == snapshot.version
        && snapshot.last_occurred_at == Some(event.occurred_at)
    {
        return Ok(());
    }
    Err(Error::corrupted(format!(
        "the snapshot of stream {} at version {} does not match the event at that version",
        event.stream_id, snapshot.version
    )))
}

/// Loads and saves one aggregate type `A` through an [`EventStore`] `S` with codec `C`.
pub struct Repository<A: Aggregate, S, C = JsonCodec<<A as Aggregate>::Event>> {
    store: S,
    codec: Arc<C>,
    upcasters: Upcasters,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    snapshots: Option<Snapshots>,
    cache: Option<cache::AggregateCache<A>>,
    attempts_max: u32,
    aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate, S, C> std::fmt::Debug for Repository<A, S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("category", &A::CATEGORY)
            .field("attempts_max", &self.attempts_max)
            .field("snapshot_every", &self.snapshots.as_ref().map(|s| s.every_events))
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// A repository with the JSON codec, the system clock, UUIDv7 ids, no snapshots and
    /// 8 attempts per command.
    pub fn new(store: S) -> Self {
        Self {
            store,
            codec: Arc::new(JsonCodec::new()),
            upcasters: Upcasters::new(),
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7Generator),
            snapshots: None,
            cache: None,
            attempts_max: 8,
            aggregate: PhantomData,
        }
    }

    /// Uses `codec` for payloads.
    pub fn with_codec<C2: Codec<A::Event>>(self, codec: C2) -> Repository<A, S, C2> {
        Repository {
            store: self.store,
            codec: Arc::new(codec),
            upcasters: self.upcasters,
            clock: self.clock,
            ids: self.ids,
            snapshots: self.snapshots,
            cache: self.cache,
            attempts_max: self.attempts_max,
            aggregate: PhantomData,
        }
    }
}

impl<A: Aggregate, S: EventStore, C: Codec<A::Event>> Repository<A, S, C> {
    /// Uses `clock` for command time.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `ids` for event ids and `DecideContext::new_id`.
    #[must_use]
    pub fn with_ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = ids;
        self
    }

    /// Upcasts stored payloads with `upcasters` before decoding.
    #[must_use]
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Saves a snapshot whenever a command crosses a multiple of `every_events` events, and
    /// loads from the latest snapshot.
    ///
    /// # Errors
    /// `InvalidInput` for `every_events == 0`.
    pub fn with_snapshots(
        mut self,
        store: Arc<dyn SnapshotStore>,
        every_events: u64,
    ) -> Result<Self> {
        if every_events == 0 {
            return Err(Error::invalid("every_events", "must be at least 1"));
        }
        self.snapshots = Some(Snapshots { store, every_events });
        Ok(self)
    }

    /// Keeps up to `capacity` recently used aggregates in memory, so `execute` usually skips the
    /// load. Safe with other writers: a stale entry makes the append conflict and the command is
    /// decided again on a fresh load; rejections and no-op outcomes are always confirmed on a
    /// fresh load. `load` and time travel never use the cache.
    ///
    /// # Errors
    /// `InvalidInput` for 0, `LimitExceeded` above [`AGGREGATE_CACHE_ENTRIES_MAX`].
    ///
    /// [`AGGREGATE_CACHE_ENTRIES_MAX`]: crate::limits::AGGREGATE_CACHE_ENTRIES_MAX
    pub fn with_cache(mut self, capacity: usize) -> Result<Self> {
        if capacity == 0 {
            return Err(Error::invalid("capacity", "must be at least 1"));
        }
        let max = crate::limits::AGGREGATE_CACHE_ENTRIES_MAX;
        crate::backend::check_limit("AGGREGATE_CACHE_ENTRIES_MAX", max, capacity)?;
        self.cache = Some(cache::AggregateCache::new(capacity));
        Ok(self)
    }

    /// How many aggregates the cache holds (0 without a cache).
    pub fn cached_aggregates(&self) -> usize {
        self.cache.as_ref().map_or(0, cache::AggregateCache::len)
    }

    /// Makes at most `attempts` attempts per command (1 = no retry).
    ///
    /// # Errors
    /// `InvalidInput` for 0, `LimitExceeded` above [`COMMAND_ATTEMPTS_MAX`].
    pub fn with_attempts_max(mut self, attempts: u32) -> Result<Self> {
        if attempts == 0 {
            return Err(Error::invalid("attempts", "must be at least 1"));
        }
        if attempts > COMMAND_ATTEMPTS_MAX {
            return Err(Error::limit("COMMAND_ATTEMPTS_MAX", COMMAND_ATTEMPTS_MAX, attempts));
        }
        self.attempts_max = attempts;
        Ok(self)
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The stream of the aggregate instance `id`: `<CATEGORY>-<id>`.
    ///
    /// # Errors
    /// `InvalidInput` if `A::CATEGORY` is not a valid stream name.
    pub fn stream_id(&self, id: Uuid) -> Result<StreamId> {
        StreamId::for_aggregate(A::CATEGORY, id)
    }

    /// Decodes a recorded event through the upcasters and the codec.
    ///
    /// # Errors
    /// `Codec` or an upcaster's error.
    pub fn decode(&self, event: &RecordedEvent) -> Result<A::Event> {
        let raw = self.upcasters.upcast(RawEvent::from(event))?;
        self.codec.decode(&raw)
    }

    fn fold_into(&self, loaded: &mut Loaded<A>, event: &RecordedEvent) -> Result<()> {
        let expected = loaded.version.next()?;
        if event.stream_version != expected {
            return Err(Error::corrupted(format!(
                "stream {} jumps from version {} to {}",
                event.stream_id, loaded.version, event.stream_version
            )));
        }
        if event.stream_version.get() > LOAD_EVENTS_MAX {
            return Err(Error::limit("LOAD_EVENTS_MAX", LOAD_EVENTS_MAX, event.stream_version.0));
        }
        if !event.is_shredded() {
            fold_stored(&mut loaded.state, &self.decode(event)?, event)?;
        }
        loaded.version = event.stream_version;
        loaded.last_occurred_at = Some(event.occurred_at);
        Ok(())
    }

    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Loaded<A>>> {
        let Some(snapshots) = &self.snapshots else { return Ok(None) };
        let Some(snapshot) = snapshots.store.load(stream).await? else { return Ok(None) };
        if snapshot.schema_version != A::SNAPSHOT_VERSION {
            return Ok(None);
        }
        let state = serde_json::from_slice(&snapshot.state).map_err(|e| Error::Codec {
            event_type: format!("snapshot:{}", A::CATEGORY),
            schema_version: snapshot.schema_version,
            source: e.into(),
        })?;
        Ok(Some(Loaded {
            state,
            version: snapshot.version,
            last_occurred_at: Some(snapshot.occurred_at),
        }))
    }

    /// Loads the current state: the latest snapshot (if configured) plus every later event.
    ///
    /// A snapshot is anchored to its stream: the event at the snapshot's version must exist and
    /// carry the snapshot's `occurred_at`, which the read of later events checks at no extra
    /// cost (it starts one event earlier). A snapshot beyond the stream's end, or one that does
    /// not match the event at its version, is `Corrupted` — it was not written by this
    /// repository. [`Repository::verify_snapshot`] checks the state itself.
    ///
    /// # Errors
    /// Store and codec errors; `Corrupted` for a version gap or a snapshot that disagrees with
    /// the stream.
    pub async fn load(&self, stream: &StreamId) -> Result<Loaded<A>> {
        self.load_until(stream, None, true).await
    }

    /// The state right after `version` (time travel by version). A version beyond the end
    /// returns the current state.
    ///
    /// # Errors
    /// As [`Repository::load`].
    pub async fn load_at_version(
        &self,
        stream: &StreamId,
        version: StreamVersion,
    ) -> Result<Loaded<A>> {
        self.load_until(stream, Some(version), true).await
    }

    /// Folds the latest usable snapshot (at or before `until`, when `use_snapshot`) and the
    /// events after it, up to `until` or the stream's end.
    async fn load_until(
        &self,
        stream: &StreamId,
        until: Option<StreamVersion>,
        use_snapshot: bool,
    ) -> Result<Loaded<A>> {
        let snapshot = if use_snapshot { self.latest_snapshot(stream).await? } else { None };
        let snapshot = snapshot.filter(|s| until.is_none_or(|until| s.version <= until));
        let anchored = snapshot.is_some();
        let mut loaded = snapshot.unwrap_or_else(Loaded::empty);
        // With a snapshot, the read starts at its own version so its anchor event is checked.
        let mut next = if anchored { loaded.version } else { StreamVersion::FIRST };
        let mut anchor_seen = !anchored;
        while until.is_none_or(|until| next <= until) {
            let wanted = until.map_or(u64::MAX, |until| until.get() - next.get() + 1);
            let limit = usize::try_from(wanted)
                .unwrap_or(usize::MAX)
                .min(crate::limits::READ_PAGE_EVENTS_MAX);
            let options = crate::ReadStreamOptions::from_version(next).limit(limit);
            let page = self.store.read_stream(stream, options).await?;
            let Some(last) = page.last() else { break };
            next = last.stream_version.next()?;
            let complete = crate::is_last_stream_page(&page, limit);
            for event in &page {
                if anchor_seen {
                    self.fold_into(&mut loaded, event)?;
                } else {
                    check_snapshot_anchor(&loaded, event)?;
                    anchor_seen = true;
                }
            }
            if complete {
                break;
            }
        }
        if !anchor_seen {
            return Err(Error::corrupted(format!(
                "the snapshot of stream {stream} is at version {}, beyond the stream's end",
                loaded.version
            )));
        }
        Ok(loaded)
    }

    /// Checks the latest snapshot of `stream` against its events: replays events 1 to the
    /// snapshot's version from scratch and compares the state (as JSON values, so field order
    /// does not matter). Returns the verified version, or `None` when there is no usable
    /// snapshot. Costs a full replay: run it in audits, not on every load.
    ///
    /// # Errors
    /// `Corrupted` when the snapshot's state differs from the replayed one or the snapshot lies
    /// beyond the stream; store and codec errors.
    pub async fn verify_snapshot(&self, stream: &StreamId) -> Result<Option<StreamVersion>> {
        let Some(snapshot) = self.latest_snapshot(stream).await? else { return Ok(None) };
        let replayed = self.load_until(stream, Some(snapshot.version), false).await?;
        if replayed.version != snapshot.version {
            return Err(Error::corrupted(format!(
                "the snapshot of stream {stream} is at version {}, beyond the stream's end ({})",
                snapshot.version, replayed.version
            )));
        }
        let as_json = |state: &A| {
            serde_json::to_value(state).map_err(|e| Error::Codec {
                event_type: format!("snapshot:{}", A::CATEGORY),
                schema_version: A::SNAPSHOT_VERSION,
                source: e.into(),
            })
        };
        if as_json(&replayed.state)? != as_json(&snapshot.state)? {
            return Err(Error::corrupted(format!(
                "the snapshot of stream {stream} at version {} differs from its events",
                snapshot.version
            )));
        }
        Ok(Some(snapshot.version))
    }

    /// The state as of an instant on either timeline (time travel by time): every event inside
    /// `as_of`, folded in version order. `version` is the last folded event's version.
    ///
    /// Replays from the first event: a snapshot cannot tell which of its events were back-dated.
    ///
    /// # Errors
    /// As [`Repository::load`]; `Unsupported` if the store cannot filter by time.
    pub async fn load_as_of(&self, stream: &StreamId, as_of: AsOf) -> Result<Loaded<A>> {
        let mut loaded = Loaded::<A>::empty();
        self.store
            .for_each_in_stream(stream, StreamVersion::FIRST, Some(as_of), |event| {
                if !event.is_shredded() {
                    fold_stored(&mut loaded.state, &self.decode(&event)?, &event)?;
                }
                loaded.version = event.stream_version;
                loaded.last_occurred_at = Some(event.occurred_at);
                Ok(())
            })
            .await?;
        Ok(loaded)
    }

    /// Starts a what-if fork of `stream`: a copy of its events to edit and replay in memory.
    /// Nothing done to the fork reaches the live stream.
    ///
    /// # Errors
    /// `LimitExceeded` (`FORK_EVENTS_MAX`) for a longer stream, or store errors.
    pub async fn fork(&self, stream: &StreamId) -> Result<Fork<'_, A, S, C>> {
        self.fork_as_of(stream, None).await
    }

    /// Starts a what-if fork from the history inside `as_of` ("branch off at T").
    ///
    /// # Errors
    /// As [`Repository::fork`]; `Unsupported` if the store cannot filter by time.
    pub async fn fork_as_of(
        &self,
        stream: &StreamId,
        as_of: Option<AsOf>,
    ) -> Result<Fork<'_, A, S, C>> {
        let max = crate::limits::FORK_EVENTS_MAX;
        let mut base = Vec::new();
        self.store
            .for_each_in_stream(stream, StreamVersion::FIRST, as_of, |event| {
                crate::backend::check_limit("FORK_EVENTS_MAX", max, base.len().saturating_add(1))?;
                base.push(event);
                Ok(())
            })
            .await?;
        Ok(Fork::new(stream.clone(), base, self))
    }
}
