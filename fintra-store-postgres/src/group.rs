//! Group commit: concurrent appends to different streams share one statement and one commit.
//!
//! A caller with nothing queued or in flight runs its append at once on its own task. Otherwise
//! it queues its append and waits for its own answer: a flusher task takes everything that
//! queued while the previous statement was in flight — there is no timer — and writes it with
//! `sql/append_batch.sql`. At most one request per stream goes into a statement, and a stream with a statement in flight waits for the next, so
//! the appends of one stream keep their order. Each request gets its own result: a head that
//! refuses (a conflict, another tenant's stream, a stream created concurrently) or a statement
//! that fails (a reused event id, a retry of an append that already committed) is answered by
//! the ordinary one-stream append, request by request, so one caller's conflict never fails its
//! neighbours. A batch is atomic per stream, not across streams.
//!
//! The statement does not wait for a head row while it holds others (`SKIP LOCKED`), and bounds
//! the waits that remain with its own `lock_timeout`, so it never closes a deadlock cycle with a
//! caller's transaction.
//!
//! The flusher runs as a spawned task, so a caller dropped at any await leaves the batch to
//! finish for everyone else in it; a request whose caller is gone before its batch is formed is
//! not written at all.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use fintra_core::{
    AppendResult, Error, ExpectedVersion, NewEvent, Position, Result, StreamId, StreamVersion,
};
use sqlx::Row;
use sqlx::types::Json;
use tokio::sync::oneshot;

use crate::PgEventStore;
use crate::conn::Checkout;
use crate::error::{backend, to_i64, to_u64};

/// How [`PgEventStore`] groups concurrent appends ([`PgStoreOptions::group_commit`](crate::PgStoreOptions::group_commit)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupCommit {
    /// Most statements in flight at once, each on its own pooled connection (1 to 64). Two let
    /// one batch be sent while the previous one commits.
    pub statements_in_flight: usize,
    /// Most events in one statement (1 to [`GROUP_EVENTS_MAX`]); an append larger than this goes
    /// out on its own.
    pub events_max: usize,
}

/// The largest [`GroupCommit::events_max`]: TigerBeetle's batch size, far below what one
/// transaction may write.
pub const GROUP_EVENTS_MAX: usize = 8_190;

impl Default for GroupCommit {
    fn default() -> Self {
        Self { statements_in_flight: 2, events_max: GROUP_EVENTS_MAX }
    }
}

impl GroupCommit {
    /// Checks the limits.
    ///
    /// # Errors
    /// `InvalidInput` naming the field out of range.
    pub fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.statements_in_flight) {
            return Err(Error::invalid("statements_in_flight", "1 to 64"));
        }
        if !(1..=GROUP_EVENTS_MAX).contains(&self.events_max) {
            return Err(Error::invalid("events_max", format!("1 to {GROUP_EVENTS_MAX}")));
        }
        Ok(())
    }
}

struct Request {
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<AppendResult>>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Request>,
    /// Streams with a statement in flight.
    busy: HashSet<StreamId>,
    flushers: usize,
}

/// The queue shared by a store's clones.
pub(crate) struct Group {
    config: GroupCommit,
    queue: Mutex<Queue>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Group {
    pub(crate) fn new(config: GroupCommit) -> Self {
        Self { config, queue: Mutex::new(Queue::default()) }
    }

    pub(crate) fn takes(&self, events: &[NewEvent]) -> bool {
        events.len() <= self.config.events_max
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Queues an append on `store`'s group and waits for its answer — or, when nothing is queued or
/// in flight, runs it at once on the caller's task: a lone caller pays no hand-off.
pub(crate) async fn append(
    store: &PgEventStore,
    group: &Arc<Group>,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendResult> {
    let alone = {
        let mut queue = group.lock();
        let alone = queue.flushers == 0 && queue.waiting.is_empty();
        if alone {
            // This caller takes a flusher's place for its own append, so appends that arrive
            // meanwhile still start at most `statements_in_flight` statements.
            queue.flushers += 1;
            queue.busy.insert(stream.clone());
        }
        alone
    };
    if alone {
        let _turn = Inline { store, group, stream };
        return store.append_own(stream, expected, events).await;
    }
    let (reply, answer) = oneshot::channel();
    let request = Request { stream: stream.clone(), expected, events: events.to_vec(), reply };
    let spawn = {
        let mut queue = group.lock();
        queue.waiting.push_back(request);
        let spawn = queue.flushers < group.config.statements_in_flight;
        if spawn {
            queue.flushers += 1;
        }
        spawn
    };
    if spawn {
        start_flusher(store, group);
    }
    answer.await.unwrap_or_else(|_| {
        Err(Error::backend(std::io::Error::other(
            "the group-commit flusher stopped before answering (runtime shutting down?)",
        )))
    })
}

/// Spawns a flusher for a place already counted in `flushers`.
fn start_flusher(store: &PgEventStore, group: &Arc<Group>) {
    // The slot counts the flusher from here on, even if its task never runs.
    let slot = Slot { group: Arc::clone(group), exited: false };
    let flusher = Flusher { store: store.clone(), group: Arc::clone(group) };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(flusher.run(slot))),
        // No runtime (a caller outside tokio): the slot's drop fails what is queued.
        Err(_) => drop(slot),
    }
}

/// A lone caller's turn in a flusher's place: when its append ends (or its future is dropped),
/// it leaves the place and hands anything queued meanwhile to a flusher.
struct Inline<'a> {
    store: &'a PgEventStore,
    group: &'a Arc<Group>,
    stream: &'a StreamId,
}

impl Drop for Inline<'_> {
    fn drop(&mut self) {
        let spawn = {
            let mut queue = self.group.lock();
            queue.busy.remove(self.stream);
            queue.flushers = queue.flushers.saturating_sub(1);
            let spawn = !queue.waiting.is_empty()
                && queue.flushers < self.group.config.statements_in_flight;
            if spawn {
                queue.flushers += 1;
            }
            spawn
        };
        if spawn {
            start_flusher(self.store, self.group);
        }
    }
}

struct Flusher {
    store: PgEventStore,
    group: Arc<Group>,
}

impl Flusher {
    async fn run(self, mut slot: Slot) {
        while let Some(batch) = self.take(&mut slot) {
            let results = {
                // Clears the batch's streams from `busy` however the write ends.
                let _busy = Busy {
                    group: &self.group,
                    streams: batch.iter().map(|r| r.stream.clone()).collect(),
                };
                write(&self.store, &batch).await
            };
            for (request, result) in batch.into_iter().zip(results) {
                // A caller that has gone away no longer wants the answer.
                let _ = request.reply.send(result);
            }
        }
    }

    /// The next batch: the queued requests in order, skipping any whose caller has gone, whose
    /// stream is busy or already in the batch, up to the event limit. `None` when there is
    /// nothing to take: the flusher stops counting under the same lock, so a request queued
    /// after this look always finds the count low enough to start a flusher of its own.
    fn take(&self, slot: &mut Slot) -> Option<Vec<Request>> {
        let mut queue = self.group.lock();
        let mut batch = Vec::new();
        let mut events = 0usize;
        let mut kept = VecDeque::with_capacity(queue.waiting.len());
        let mut skipped: HashSet<StreamId> = HashSet::new();
        while let Some(request) = queue.waiting.pop_front() {
            if request.reply.is_closed() {
                continue;
            }
            let fits = events + request.events.len() <= self.group.config.events_max;
            if !fits || skipped.contains(&request.stream) || queue.busy.contains(&request.stream) {
                // A later request of a skipped stream must not overtake it.
                skipped.insert(request.stream.clone());
                kept.push_back(request);
                continue;
            }
            events += request.events.len();
            queue.busy.insert(request.stream.clone());
            batch.push(request);
        }
        queue.waiting = kept;
        if batch.is_empty() {
            queue.flushers = queue.flushers.saturating_sub(1);
            slot.exited = true;
            return None;
        }
        Some(batch)
    }
}

/// One flusher's place in the count, from before its task is spawned to its exit.
struct Slot {
    group: Arc<Group>,
    /// Set when the flusher left the count itself ([`Flusher::take`]).
    exited: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.exited {
            return;
        }
        // An abnormal end: a panic, or a task dropped (or never run) with its runtime.
        let mut queue = self.group.lock();
        queue.flushers = queue.flushers.saturating_sub(1);
        if queue.flushers == 0 {
            // No flusher is left to answer them: their callers get an error, not a hang.
            queue.waiting.clear();
        }
    }
}

/// The streams of a batch in flight.
struct Busy<'a> {
    group: &'a Group,
    streams: Vec<StreamId>,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut queue = self.group.lock();
        for stream in &self.streams {
            queue.busy.remove(stream);
        }
    }
}

/// Most single appends in flight at once when a batch falls back to them.
const FALLBACKS_IN_FLIGHT: usize = 4;

/// Writes a batch: one statement for all, then the ordinary append for every request the
/// statement did not write.
async fn write(store: &PgEventStore, batch: &[Request]) -> Vec<Result<AppendResult>> {
    if let [only] = batch {
        return vec![store.append_own(&only.stream, only.expected, &only.events).await];
    }
    let written = match statement(store, batch).await {
        Ok(written) => written,
        // The statement wrote nothing (it is one transaction): answer each on its own.
        Err(_) => vec![None; batch.len()],
    };
    // A few at a time, in order: a failed statement of thousands must not take the whole pool
    // from the store's other callers.
    let mut answers = Vec::with_capacity(batch.len());
    let pending: Vec<(&Request, Option<AppendResult>)> = batch.iter().zip(written).collect();
    for chunk in pending.chunks(FALLBACKS_IN_FLIGHT) {
        let chunk = chunk.iter().map(|(request, written)| answer(store, request, written.clone()));
        answers.extend(futures::future::join_all(chunk).await);
    }
    answers
}

/// A request's answer: what the statement wrote for it, or the ordinary append.
async fn answer(
    store: &PgEventStore,
    request: &Request,
    written: Option<AppendResult>,
) -> Result<AppendResult> {
    match written {
        Some(result) => Ok(result),
        None => store.append_own(&request.stream, request.expected, &request.events).await,
    }
}

/// Runs the batch statement: per request, its result, or `None` when its head refused.
async fn statement(store: &PgEventStore, batch: &[Request]) -> Result<Vec<Option<AppendResult>>> {
    let mut conn = Checkout::acquire(store.pool()).await?;
    let outcome = run_statement(&mut conn, store, batch).await;
    conn.finish(&outcome);
    outcome
}

async fn run_statement(
    conn: &mut Checkout,
    store: &PgEventStore,
    batch: &[Request],
) -> Result<Vec<Option<AppendResult>>> {
    let mut heads = Heads::default();
    for request in batch {
        heads.push(request)?;
    }
    let events = || batch.iter().flat_map(|r| r.events.iter());
    let (req, k): (Vec<i64>, Vec<i64>) = (1i64..)
        .zip(batch)
        .flat_map(|(idx, r)| (1i64..).take(r.events.len()).map(move |k| (idx, k)))
        .unzip();
    let schema_versions = events()
        .map(|e| i32::try_from(e.schema_version))
        .collect::<Result<Vec<i32>, _>>()
        .map_err(|_| Error::invalid("schema_version", "exceeds i32::MAX"))?;
    let records = sqlx::query(&store.append_sql().batch)
        .bind(heads.streams)
        .bind(heads.tenants)
        .bind(heads.counts)
        .bind(heads.expected)
        .bind(heads.kinds)
        .bind(req)
        .bind(k)
        .bind(events().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(events().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
        .bind(schema_versions)
        .bind(events().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(events().map(|e| e.metadata.correlation_id).collect::<Vec<_>>())
        .bind(events().map(|e| e.metadata.causation_id).collect::<Vec<_>>())
        .bind(events().map(|e| e.metadata.actor.to_storage()).collect::<Vec<_>>())
        .bind(events().map(|e| Json(&e.metadata.headers)).collect::<Vec<_>>())
        .bind(events().map(|e| e.content_type.as_str()).collect::<Vec<_>>())
        .bind(events().map(|e| e.payload.as_ref()).collect::<Vec<&[u8]>>())
        .fetch_all(&mut **conn)
        .await
        .map_err(backend)?;
    if records.len() != batch.len() {
        return Err(Error::corrupted("the group-commit statement lost a request"));
    }
    let mut out = Vec::with_capacity(batch.len());
    for (record, request) in records.iter().zip(batch) {
        let inserted: i64 = record.try_get("inserted").map_err(backend)?;
        if inserted == 0 {
            out.push(None);
            continue;
        }
        if usize::try_from(inserted).ok() != Some(request.events.len()) {
            return Err(Error::corrupted("the group-commit statement wrote part of an append"));
        }
        let get = |name: &'static str| -> Result<u64> {
            to_u64(name, record.try_get::<i64, _>(name).map_err(backend)?)
        };
        out.push(Some(AppendResult {
            first_version: StreamVersion(get("first_version")?),
            last_version: StreamVersion(get("last_version")?),
            first_position: Position(get("first_position")?),
            last_position: Position(get("last_position")?),
            replayed: false,
        }));
    }
    Ok(out)
}

#[derive(Default)]
struct Heads<'a> {
    streams: Vec<&'a str>,
    tenants: Vec<&'a str>,
    counts: Vec<i64>,
    expected: Vec<i64>,
    kinds: Vec<i16>,
}

impl<'a> Heads<'a> {
    fn push(&mut self, request: &'a Request) -> Result<()> {
        let (kind, expected) = match request.expected {
            ExpectedVersion::Any => (0, 0),
            ExpectedVersion::NoStream | ExpectedVersion::Exact(StreamVersion::NONE) => (1, 0),
            ExpectedVersion::Exact(v) => (2, to_i64("expected_version", v.get())?),
        };
        let count = u64::try_from(request.events.len()).unwrap_or(u64::MAX);
        self.streams.push(request.stream.as_str());
        self.tenants.push(request.events[0].metadata.tenant_id.as_str());
        self.counts.push(to_i64("events", count)?);
        self.expected.push(expected);
        self.kinds.push(kind);
        Ok(())
    }
}
