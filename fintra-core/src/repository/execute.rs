//! Executing commands: encoding, catching up, deciding and appending with bounded retries, and
//! the snapshots and cache entries a command leaves behind.

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::{ExecuteError, Executed, Loaded, Repository};
use crate::{
    Aggregate, AppendResult, Codec, DecideContext, DomainEvent, Error, EventMetadata, EventStore,
    EventStoreExt, ExpectedVersion, NewEvent, Result, Snapshot, StreamId, StreamVersion,
};

impl<A: Aggregate, S: EventStore, C: Codec<A::Event>> Repository<A, S, C> {
    /// Encodes domain events into envelopes with fresh ids.
    ///
    /// # Errors
    /// `Codec`.
    pub fn encode(
        &self,
        events: &[A::Event],
        now: DateTime<Utc>,
        metadata: &EventMetadata,
    ) -> Result<Vec<NewEvent>> {
        events
            .iter()
            .map(|event| {
                let (payload, content_type) = self.codec.encode(event)?;
                Ok(NewEvent {
                    event_id: self.ids.next_id(),
                    event_type: event.event_type().to_owned(),
                    schema_version: event.schema_version(),
                    occurred_at: event.occurred_at().unwrap_or(now),
                    metadata: metadata.clone(),
                    content_type,
                    payload,
                })
            })
            .collect()
    }

    /// Folds the events appended after `loaded.version` into `loaded` (another writer's work).
    /// Returns how many events were folded.
    ///
    /// # Errors
    /// As [`Repository::load`].
    pub async fn catch_up(&self, stream: &StreamId, loaded: &mut Loaded<A>) -> Result<u64> {
        let from = loaded.version.next()?;
        self.store
            .for_each_in_stream(stream, from, None, |event| self.fold_into(loaded, &event))
            .await
    }

    /// Executes `command` against a state the caller keeps (a single-writer actor, a ledger
    /// book): decides on `loaded`, appends with `Exact(loaded.version)`, and on success folds the
    /// events into `loaded` in place — no reload and no copy of the state. On a conflict it
    /// catches `loaded` up and decides again, up to the configured attempts. A rejection is
    /// returned only after checking that `loaded` was current (one read); otherwise the command
    /// is decided again on the caught-up state. Snapshots and the aggregate cache are not
    /// involved.
    ///
    /// Returns the events appended (empty when the command changed nothing).
    ///
    /// # Errors
    /// As [`Repository::execute`]. After an error `loaded` is still a valid state of the stream
    /// (possibly behind it; the next conflict catches it up).
    pub async fn execute_in_place(
        &self,
        stream: &StreamId,
        loaded: &mut Loaded<A>,
        command: &A::Command,
        metadata: &EventMetadata,
    ) -> Result<Vec<A::Event>, ExecuteError<A::Error>> {
        self.execute_in_place_with(stream, loaded, metadata, |state, ctx| {
            state.decide(command, ctx)
        })
        .await
    }

    /// [`Repository::execute_in_place`] with the decision made by `decide` instead of
    /// [`Aggregate::decide`]: for a caller that decides several requests at once and keeps
    /// what it learned about each (a batch with per-request results). `decide` runs once per
    /// attempt, against the state of that attempt; what it returns is treated exactly as
    /// `decide`'s result would be (a rejection stands only once the state is known to be
    /// current; no events means nothing is appended).
    ///
    /// # Errors
    /// As [`Repository::execute_in_place`].
    pub async fn execute_in_place_with<F>(
        &self,
        stream: &StreamId,
        loaded: &mut Loaded<A>,
        metadata: &EventMetadata,
        mut decide: F,
    ) -> Result<Vec<A::Event>, ExecuteError<A::Error>>
    where
        F: FnMut(&A, &DecideContext<'_>) -> std::result::Result<Vec<A::Event>, A::Error> + Send,
    {
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            let ctx = DecideContext::from_clock(self.clock.as_ref(), self.ids.as_ref());
            let events = match decide(&loaded.state, &ctx) {
                Ok(events) => events,
                // Another writer may have changed what the rule saw: a rejection stands only
                // once `loaded` is known to be current. Each catch-up counts as an attempt, so
                // a stream other writers never stop appending to cannot keep this loop going.
                Err(rejection) => {
                    let decided_at = loaded.version;
                    if self.catch_up(stream, loaded).await? == 0 {
                        return Err(ExecuteError::Rejected(rejection));
                    }
                    if attempt >= self.attempts_max {
                        return Err(ExecuteError::Store(Error::Conflict {
                            stream: stream.clone(),
                            expected: ExpectedVersion::Exact(decided_at),
                            actual: loaded.version,
                        }));
                    }
                    continue;
                }
            };
            if events.is_empty() {
                return Ok(events);
            }
            let envelopes = self.encode(&events, ctx.now(), metadata)?;
            match self
                .store
                .append(stream, ExpectedVersion::Exact(loaded.version), &envelopes)
                .await
            {
                Ok(append) => {
                    events.iter().for_each(|event| loaded.state.apply(event));
                    loaded.version = append.last_version;
                    loaded.last_occurred_at =
                        envelopes.last().map(|e| e.occurred_at).or(loaded.last_occurred_at);
                    return Ok(events);
                }
                Err(error @ Error::Conflict { .. }) => {
                    if attempt >= self.attempts_max {
                        return Err(error.into());
                    }
                    self.catch_up(stream, loaded).await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// Loads, decides and appends with the loaded version as the expected one; on a conflict it
    /// reloads and decides again, up to the configured attempts.
    ///
    /// # Errors
    /// [`ExecuteError::Rejected`] with the aggregate's error, or [`ExecuteError::Store`]
    /// (including the last `Conflict` once attempts run out).
    pub async fn execute(
        &self,
        stream: &StreamId,
        command: &A::Command,
        metadata: &EventMetadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let mut attempt = 0u32;
        let mut use_cache = self.cache.is_some();
        loop {
            attempt = attempt.saturating_add(1);
            let cached =
                if use_cache { self.cache.as_ref().and_then(|c| c.get(stream)) } else { None };
            let from_cache = cached.is_some();
            let loaded = match cached {
                Some(loaded) => loaded,
                None => self.load(stream).await?,
            };
            let ctx = DecideContext::from_clock(self.clock.as_ref(), self.ids.as_ref());
            let events = match loaded.state.decide(command, &ctx) {
                Ok(events) if !events.is_empty() => events,
                // Only a successful decision may rest on cached state: confirm the rest afresh.
                _ if from_cache => {
                    use_cache = false;
                    attempt -= 1;
                    continue;
                }
                Err(rejection) => return Err(ExecuteError::Rejected(rejection)),
                Ok(events) => {
                    let (state, snapshot_error) = (loaded.state, None);
                    return Ok(Executed {
                        state,
                        events,
                        append: None,
                        attempts: attempt,
                        snapshot_error,
                    });
                }
            };
            let envelopes = self.encode(&events, ctx.now(), metadata)?;
            let expected = ExpectedVersion::Exact(loaded.version);
            match self.store.append(stream, expected, &envelopes).await {
                Ok(append) => {
                    let last_occurred = envelopes.last().map(|e| e.occurred_at);
                    return Ok(self
                        .committed(stream, loaded, events, append, attempt, last_occurred)
                        .await);
                }
                Err(error @ Error::Conflict { .. }) => {
                    if let Some(cache) = &self.cache {
                        cache.remove(stream);
                    }
                    use_cache = false;
                    if attempt >= self.attempts_max {
                        return Err(error.into());
                    }
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// After a successful append: fold the new events, refresh the cache, snapshot if due.
    async fn committed(
        &self,
        stream: &StreamId,
        loaded: Loaded<A>,
        events: Vec<A::Event>,
        append: AppendResult,
        attempts: u32,
        last_occurred: Option<DateTime<Utc>>,
    ) -> Executed<A> {
        let mut state = loaded.state;
        events.iter().for_each(|event| state.apply(event));
        if let Some(cache) = &self.cache {
            let fresh = Loaded {
                state: state.clone(),
                version: append.last_version,
                last_occurred_at: last_occurred.or(loaded.last_occurred_at),
            };
            cache.put(stream, fresh);
        }
        let snapshot_error =
            self.snapshot_if_due(stream, &state, loaded.version, &append, last_occurred).await;
        Executed { state, events, append: Some(append), attempts, snapshot_error }
    }

    async fn snapshot_if_due(
        &self,
        stream: &StreamId,
        state: &A,
        before: StreamVersion,
        append: &AppendResult,
        occurred_at: Option<DateTime<Utc>>,
    ) -> Option<Error> {
        let snapshots = self.snapshots.as_ref()?;
        let every = snapshots.every_events;
        if before.get() / every == append.last_version.get() / every {
            return None;
        }
        let state = match serde_json::to_vec(state) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => {
                return Some(Error::Codec {
                    event_type: format!("snapshot:{}", A::CATEGORY),
                    schema_version: A::SNAPSHOT_VERSION,
                    source: e.into(),
                });
            }
        };
        let snapshot = Snapshot {
            stream_id: stream.clone(),
            version: append.last_version,
            schema_version: A::SNAPSHOT_VERSION,
            occurred_at: occurred_at.unwrap_or_else(|| self.clock.now()),
            state,
        };
        snapshots.store.save(&snapshot).await.err()
    }
}
