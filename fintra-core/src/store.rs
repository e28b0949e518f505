//! The event store contract ([`EventStore`]) and its conveniences ([`EventStoreExt`]).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::limits::{READ_PAGE_BYTES_MAX, READ_PAGE_EVENTS_MAX};
use crate::{Error, NewEvent, Position, RecordedEvent, Result, StreamId, StreamVersion};

/// What the caller believes about a stream's version before appending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the version is.
    Any,
    /// The stream must have no events.
    NoStream,
    /// The stream must be at exactly this version (`Exact(StreamVersion::NONE)` = `NoStream`).
    Exact(StreamVersion),
}

impl ExpectedVersion {
    /// True when a stream at `actual` satisfies this expectation.
    pub fn is_satisfied_by(self, actual: StreamVersion) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == StreamVersion::NONE,
            Self::Exact(expected) => expected == actual,
        }
    }

    /// [`Error::Conflict`] unless a stream at `actual` satisfies this expectation.
    ///
    /// # Errors
    /// [`Error::Conflict`].
    pub fn check(self, stream: &StreamId, actual: StreamVersion) -> Result<()> {
        if self.is_satisfied_by(actual) {
            Ok(())
        } else {
            Err(Error::Conflict { stream: stream.clone(), expected: self, actual })
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any version"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(version) => write!(f, "version {version}"),
        }
    }
}

/// What an append did. An idempotent retry returns the original result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendResult {
    /// Version of the batch's first event.
    pub first_version: StreamVersion,
    /// Version of the batch's last event: the stream's version right after the append.
    pub last_version: StreamVersion,
    /// Global position of the batch's first event.
    pub first_position: Position,
    /// Global position of the batch's last event.
    pub last_position: Position,
    /// True when nothing was written because every event had been recorded before: an
    /// idempotent retry, answered with the original positions and versions. Work that must
    /// happen once per append (an inline projection, a notification) skips a replay.
    pub replayed: bool,
}

impl AppendResult {
    /// The same positions and versions, whether or not either was a replay.
    pub fn same_append_as(&self, other: &Self) -> bool {
        (self.first_version, self.last_version, self.first_position, self.last_position)
            == (other.first_version, other.last_version, other.first_position, other.last_position)
    }
}

/// Which timeline an as-of read filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AsOf {
    /// Events the store had recorded by this instant: "what did we know then".
    Recorded(DateTime<Utc>),
    /// Events that had occurred (domain time) by this instant: "what was true then", including
    /// back-dated events recorded later.
    Occurred(DateTime<Utc>),
}

impl AsOf {
    /// True when `event` falls inside this bound.
    pub fn includes(self, event: &RecordedEvent) -> bool {
        match self {
            Self::Recorded(at) => event.recorded_at <= at,
            Self::Occurred(at) => event.occurred_at <= at,
        }
    }
}

/// Options of [`EventStore::read_stream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadStreamOptions {
    /// First version to return (inclusive); versions start at 1.
    pub from: StreamVersion,
    /// Most events to return: 1 to [`READ_PAGE_EVENTS_MAX`].
    pub limit: usize,
    /// Only events inside this time bound (time travel); `None` for all.
    pub as_of: Option<AsOf>,
}

impl ReadStreamOptions {
    /// Every event from the first, one full page at a time.
    pub fn from_start() -> Self {
        Self { from: StreamVersion::FIRST, limit: READ_PAGE_EVENTS_MAX, as_of: None }
    }

    /// Starts at `from` (inclusive).
    pub fn from_version(from: StreamVersion) -> Self {
        Self { from, ..Self::from_start() }
    }

    /// Returns at most `limit` events.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Only events inside `as_of`.
    #[must_use]
    pub fn as_of(mut self, as_of: AsOf) -> Self {
        self.as_of = Some(as_of);
        self
    }
}

impl Default for ReadStreamOptions {
    fn default() -> Self {
        Self::from_start()
    }
}

/// Checks a read's page size: 1 to [`READ_PAGE_EVENTS_MAX`].
///
/// # Errors
/// [`Error::InvalidInput`] for 0, [`Error::LimitExceeded`] above the maximum.
pub fn check_read_limit(limit: usize) -> Result<()> {
    if limit == 0 {
        return Err(Error::invalid("limit", "a read returns at least one event"));
    }
    crate::backend::check_limit("READ_PAGE_EVENTS_MAX", READ_PAGE_EVENTS_MAX, limit)
}

/// Payload bytes of a page of events.
pub fn page_payload_bytes(page: &[RecordedEvent]) -> usize {
    page.iter().fold(0usize, |sum, event| sum.saturating_add(event.payload.len()))
}

/// True when a `read_stream` page asked with `limit` is the stream's last (inside its time
/// bound): it is shorter than `limit` and was not cut by [`READ_PAGE_BYTES_MAX`].
pub fn is_last_stream_page(page: &[RecordedEvent], limit: usize) -> bool {
    page.len() < limit && page_payload_bytes(page) < READ_PAGE_BYTES_MAX
}

/// Keeps the longest prefix of `events` that a page may hold under [`READ_PAGE_BYTES_MAX`]:
/// every event whose predecessors' payloads sum to less than the bound. For store authors.
pub fn truncate_to_page_bytes<T: std::borrow::Borrow<RecordedEvent>>(events: &mut Vec<T>) {
    let mut before = 0usize;
    let keep = events
        .iter()
        .take_while(|event| {
            let fits = before < READ_PAGE_BYTES_MAX;
            before = before.saturating_add(event.borrow().payload.len());
            fits
        })
        .count();
    events.truncate(keep);
}

/// An append-only, ordered log of events, partitioned into streams.
///
/// # Contract
///
/// Every implementation — in memory, PostgreSQL, time-partitioned — keeps all of this, and the
/// conformance suite in `fintra_core::testing::conformance` checks it.
///
/// - **Atomicity.** [`append`](Self::append) writes its whole batch to one stream or nothing.
///   A failed append (conflict, invalid input, backend error) leaves no event behind.
/// - **Validation first.** Batches are checked against [`crate::limits`] and
///   [`crate::backend::validate_batch`] before the backend is touched: an empty batch, an oversized
///   payload or a batch over the limit returns `InvalidInput`/`LimitExceeded`.
/// - **One tenant per stream.** A stream's tenant is the tenant of its first event. A batch that
///   mixes tenants, or appends another tenant's events to an existing stream, is `InvalidInput`.
/// - **Optimistic concurrency.** The stream's version must satisfy [`ExpectedVersion`] or the
///   append fails with [`Error::Conflict`] carrying the actual version.
/// - **Idempotency.** Event ids are idempotency keys. Re-appending a batch whose events were all
///   recorded before — in this stream, at consecutive versions, in the same order, with the same
///   content — is a no-op that returns the [`AppendResult`] of those recorded events, whatever the
///   expected version says, so a retry after a lost reply is safe. Any other reuse of a recorded
///   id (other content, other stream, a batch mixing recorded and new ids) fails with
///   [`Error::DuplicateEventId`]. Duplicate ids inside one batch are `InvalidInput`.
/// - **Fidelity.** Every appended field reads back unchanged: payload bytes of any content type,
///   headers, metadata, and timestamps (which [`crate::validate_timestamp`] holds to microsecond
///   precision and years 1–9999). `recorded_at` comes from the store's clock.
/// - **Stream order.** A stream's versions are contiguous from 1 in append order.
/// - **Global order.** Every event gets a position; positions strictly increase in the order
///   [`read_all`](Self::read_all) returns them, and a reader that resumes after the last position
///   it saw misses nothing that commits later (stores hold back events of still-open transactions
///   rather than letting a later position overtake them). Positions may have gaps.
/// - **Paging.** Every read takes a limit from 1 to [`READ_PAGE_EVENTS_MAX`]; no call returns an
///   unbounded result. Pages are bounded by bytes too: a page ends with the event that brings its
///   payload bytes to [`READ_PAGE_BYTES_MAX`] or more ([`truncate_to_page_bytes`]). A
///   `read_stream` page holds `limit` events unless the stream (inside the time bound) ends or
///   the byte bound cut it, so a short page under the byte bound is the stream's end
///   ([`is_last_stream_page`]). A `read_all` page may be short, or empty,
///   while more events are about to become visible: only the events returned are promised, and
///   an empty page means "nothing more for now". A read past the end returns an empty page, and reading a stream that does
///   not exist returns an empty page, not `NotFound`.
/// - **Time travel.** `read_stream` with [`AsOf`] returns only events inside the time bound, in
///   version order. A store that cannot answer it returns [`Error::Unsupported`].
/// - **Cancellation.** Dropping a future mid-append either commits the whole batch or nothing.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `events` to `stream` atomically.
    ///
    /// # Errors
    /// `Conflict`, `DuplicateEventId`, `InvalidInput`, `LimitExceeded`, `Backend`.
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult>;

    /// Reads one page of `stream` in version order.
    ///
    /// # Errors
    /// `InvalidInput`/`LimitExceeded` for a bad limit, `Unsupported` for an unsupported `as_of`,
    /// `Backend`, `Corrupted`.
    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>>;

    /// Reads one page of the global log: events with a position greater than `after`, in
    /// position order.
    ///
    /// # Errors
    /// `InvalidInput`/`LimitExceeded` for a bad limit, `Backend`, `Corrupted`.
    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>>;

    /// The position of the last event committed to the global log, including events that
    /// [`EventStore::read_all`] still holds back because an older transaction is open (a
    /// gap-safe store returns a position only once nothing before it can still commit).
    /// `None` for an empty log, or a store that does not know. A catch-up that must apply
    /// everything committed before it started reads until it has passed this position.
    ///
    /// # Errors
    /// `Backend`.
    async fn committed_head(&self) -> Result<Option<Position>> {
        Ok(None)
    }

    /// The stream's current version ([`StreamVersion::NONE`] if it has no events).
    ///
    /// # Errors
    /// `Backend`.
    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion>;
}

#[async_trait]
impl<S: EventStore + ?Sized> EventStore for std::sync::Arc<S> {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        (**self).append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        (**self).read_stream(stream, options).await
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        (**self).read_all(after, limit).await
    }

    async fn committed_head(&self) -> Result<Option<Position>> {
        (**self).committed_head().await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion> {
        (**self).stream_version(stream).await
    }
}

/// Conveniences built only on [`EventStore`]'s methods; implemented for every store.
#[async_trait]
pub trait EventStoreExt: EventStore {
    /// Appends one event.
    ///
    /// # Errors
    /// As [`EventStore::append`].
    async fn append_one(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        event: NewEvent,
    ) -> Result<AppendResult> {
        self.append(stream, expected, std::slice::from_ref(&event)).await
    }

    /// Whether events committed in `(after, target]` are still to come: a read of the global
    /// log met an empty page while [`EventStore::committed_head`] says the log (still) reaches
    /// past `after`, because an older open transaction holds them back. `target` is the head
    /// a reader set out to reach; a log that no longer reaches it (rows archived away) ends the
    /// wait. A reader that gets `true` waits a little and reads again.
    ///
    /// # Errors
    /// As [`EventStore::committed_head`].
    async fn holds_back(&self, after: Position, target: Option<Position>) -> Result<bool> {
        let Some(target) = target.filter(|t| *t > after) else { return Ok(false) };
        Ok(self.committed_head().await?.is_some_and(|head| head.min(target) > after))
    }

    /// Folds every event of `stream` (inside `as_of`, if given) from `from`, page by page, and
    /// returns how many were visited. Memory stays at one page.
    ///
    /// # Errors
    /// As [`EventStore::read_stream`], or the first error `visit` returns.
    async fn for_each_in_stream<F>(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        as_of: Option<AsOf>,
        mut visit: F,
    ) -> Result<u64>
    where
        F: FnMut(RecordedEvent) -> Result<()> + Send,
    {
        let mut next = from.max(StreamVersion::FIRST);
        let mut visited = 0u64;
        loop {
            let options = ReadStreamOptions { from: next, limit: READ_PAGE_EVENTS_MAX, as_of };
            let page = self.read_stream(stream, options).await?;
            let Some(last) = page.last() else { return Ok(visited) };
            next = last.stream_version.next()?;
            let complete = is_last_stream_page(&page, READ_PAGE_EVENTS_MAX);
            for event in page {
                visited = visited.saturating_add(1);
                visit(event)?;
            }
            if complete {
                return Ok(visited); // a short stream page is the stream's end
            }
        }
    }

    /// Reads a whole stream into memory, refusing streams longer than `events_max`.
    ///
    /// # Errors
    /// `LimitExceeded` (named `events_max`) for a longer stream, or as [`EventStore::read_stream`].
    async fn read_stream_to_vec(
        &self,
        stream: &StreamId,
        events_max: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let mut events = Vec::new();
        self.for_each_in_stream(stream, StreamVersion::FIRST, None, |event| {
            if events.len() >= events_max {
                return Err(Error::limit("events_max", events_max, events.len().saturating_add(1)));
            }
            events.push(event);
            Ok(())
        })
        .await?;
        Ok(events)
    }
}

impl<S: EventStore + ?Sized> EventStoreExt for S {}
