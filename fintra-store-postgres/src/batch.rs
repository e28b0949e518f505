//! Group commit (opt-in, [`PgStoreOptions::batch_appends`](crate::PgStoreOptions)): concurrent
//! appends to different streams share one statement and one commit.
//!
//! One worker task per store drains the queue: it takes every waiting request whose stream is not
//! already in the batch (a second request for the same stream waits for the next batch, so each
//! stream keeps its order), runs `sql/append_batch.sql`, and answers each request with its result
//! or with "append on your own". Everything the batch cannot decide — a refused expected version
//! or tenant, an idempotent retry, a reused id, any database error — goes through the ordinary
//! single-append path, so batching never changes what an append means, only how many commits it
//! costs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fintra_core::{
    AppendResult, Error, ExpectedVersion, NewEvent, Position, Result, StreamId, StreamVersion,
};
use sqlx::types::Json;
use sqlx::{PgPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::error::{backend, to_i64, to_u64};

/// Most appends one batch carries (each at most `APPEND_EVENTS_MAX` events, so a batch stays far
/// below `TRANSACTION_EVENTS_MAX`).
pub(crate) const BATCH_APPENDS_MAX: usize = 64;
/// Most appends waiting for the worker; callers wait for room beyond it (back-pressure).
const QUEUE_APPENDS_MAX: usize = 1_024;

const _: () = assert!(
    BATCH_APPENDS_MAX * fintra_core::limits::APPEND_EVENTS_MAX < crate::TRANSACTION_EVENTS_MAX
);

/// What the worker answers.
pub(crate) enum BatchOutcome {
    Appended(AppendResult),
    /// The batch did not take this append: run the ordinary path.
    Individually,
}

pub(crate) struct Request {
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<BatchOutcome>,
}

/// Counters of the group-commit worker, for operators (and tests) to see it working.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Batch statements that committed.
    pub batches: u64,
    /// Appends committed inside those batches.
    pub appends: u64,
    /// Appends the batch handed back to the ordinary path (refusals, retries, errors).
    pub handed_back: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    appends: AtomicU64,
    handed_back: AtomicU64,
}

/// Workers, each owning the streams that hash to it, so two batches in flight never lock the
/// same head rows (no deadlocks between them) and each stream keeps its order.
const WORKERS: usize = 4;

/// The sending side, held by every clone of the store.
#[derive(Clone, Debug)]
pub(crate) struct Batcher {
    queues: Vec<mpsc::Sender<Request>>,
    counters: Arc<Counters>,
}

impl Batcher {
    /// Starts the worker on the current tokio runtime.
    ///
    /// # Errors
    /// `InvalidInput` outside a tokio runtime.
    pub(crate) fn start(pool: PgPool, sql: String) -> Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::invalid("batch_appends", "needs a tokio runtime to run its worker")
        })?;
        let counters = Arc::new(Counters::default());
        let queues = (0..WORKERS)
            .map(|_| {
                let (queue, requests) = mpsc::channel(QUEUE_APPENDS_MAX / WORKERS);
                let worker = worker(pool.clone(), sql.clone(), requests, Arc::clone(&counters));
                runtime.spawn(worker);
                queue
            })
            .collect();
        Ok(Self { queues, counters })
    }

    pub(crate) fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            appends: self.counters.appends.load(Ordering::Relaxed),
            handed_back: self.counters.handed_back.load(Ordering::Relaxed),
        }
    }

    /// Queues an append and waits for the batch's answer.
    pub(crate) async fn submit(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> BatchOutcome {
        let (reply, answer) = oneshot::channel();
        let request = Request { stream: stream.clone(), expected, events: events.to_vec(), reply };
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(stream, &mut hasher);
        let slot =
            usize::try_from(std::hash::Hasher::finish(&hasher) % WORKERS as u64).unwrap_or(0);
        if self.queues[slot].send(request).await.is_err() {
            return BatchOutcome::Individually; // the worker is gone: never lose an append
        }
        answer.await.unwrap_or(BatchOutcome::Individually)
    }
}

async fn worker(
    pool: PgPool,
    sql: String,
    mut requests: mpsc::Receiver<Request>,
    counters: Arc<Counters>,
) {
    let mut deferred: VecDeque<Request> = VecDeque::new();
    loop {
        let first = match deferred.pop_front() {
            Some(request) => request,
            None => match requests.recv().await {
                Some(request) => request,
                None => return, // every store handle is gone
            },
        };
        let mut streams = HashSet::from([first.stream.clone()]);
        let mut batch = vec![first];
        let mut keep = VecDeque::new();
        while let Some(request) = deferred.pop_front() {
            if batch.len() < BATCH_APPENDS_MAX && streams.insert(request.stream.clone()) {
                batch.push(request);
            } else {
                keep.push_back(request);
            }
        }
        while batch.len() < BATCH_APPENDS_MAX {
            let Ok(request) = requests.try_recv() else { break };
            if streams.insert(request.stream.clone()) {
                batch.push(request);
            } else {
                keep.push_back(request);
            }
        }
        deferred = keep;
        run(&pool, &sql, batch, &counters).await;
    }
}

/// Runs one batch and answers every request in it.
async fn run(pool: &PgPool, sql: &str, batch: Vec<Request>, counters: &Counters) {
    let mut results = match execute(pool, sql, &batch).await {
        Ok(results) => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            results
        }
        Err(error) => {
            tracing::debug!(%error, appends = batch.len(), "batch fell back to single appends");
            HashMap::new()
        }
    };
    for request in batch {
        let outcome = match results.remove(&request.stream) {
            Some(result) => {
                counters.appends.fetch_add(1, Ordering::Relaxed);
                BatchOutcome::Appended(result)
            }
            None => {
                counters.handed_back.fetch_add(1, Ordering::Relaxed);
                BatchOutcome::Individually
            }
        };
        // A caller that stopped waiting still had its append committed (or not) atomically.
        let _ = request.reply.send(outcome);
    }
}

fn expected_code(expected: ExpectedVersion) -> Result<i64> {
    match expected {
        ExpectedVersion::Any => Ok(-1),
        ExpectedVersion::NoStream => Ok(0),
        ExpectedVersion::Exact(version) => to_i64("expected_version", version.get()),
    }
}

async fn execute(
    pool: &PgPool,
    sql: &str,
    batch: &[Request],
) -> Result<HashMap<StreamId, AppendResult>> {
    let count = |n: usize| to_i64("events", u64::try_from(n).unwrap_or(u64::MAX));
    let all: Vec<(i64, i64, &NewEvent)> = batch
        .iter()
        .enumerate()
        .flat_map(|(r, request)| request.events.iter().enumerate().map(move |(k, e)| (r, k, e)))
        .map(|(r, k, e)| Ok((count(r + 1)?, count(k + 1)?, e)))
        .collect::<Result<_>>()?;
    let schema_versions = all
        .iter()
        .map(|(_, _, e)| i32::try_from(e.schema_version))
        .collect::<Result<Vec<i32>, _>>()
        .map_err(|_| Error::invalid("schema_version", "exceeds i32::MAX"))?;
    let rows = sqlx::query(sql)
        .bind(batch.iter().map(|r| r.stream.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|r| r.events[0].metadata.tenant_id.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|r| count(r.events.len())).collect::<Result<Vec<_>>>()?)
        .bind(batch.iter().map(|r| expected_code(r.expected)).collect::<Result<Vec<_>>>()?)
        .bind(all.iter().map(|(r, _, _)| *r).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, k, _)| *k).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, _, e)| e.event_id).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, _, e)| e.event_type.as_str()).collect::<Vec<_>>())
        .bind(schema_versions)
        .bind(all.iter().map(|(_, _, e)| e.occurred_at).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, _, e)| e.metadata.correlation_id).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, _, e)| e.metadata.causation_id).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, _, e)| e.metadata.actor.to_storage()).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, _, e)| Json(&e.metadata.headers)).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, _, e)| e.content_type.as_str()).collect::<Vec<_>>())
        .bind(all.iter().map(|(_, _, e)| e.payload.as_ref()).collect::<Vec<&[u8]>>())
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    let mut results = HashMap::with_capacity(rows.len());
    for row in rows {
        let stream: String = row.try_get("stream_id").map_err(backend)?;
        let get = |name: &'static str| -> Result<u64> {
            to_u64(name, row.try_get::<i64, _>(name).map_err(backend)?)
        };
        let result = AppendResult {
            first_version: StreamVersion(get("first_version")?),
            last_version: StreamVersion(get("last_version")?),
            first_position: Position(get("first_position")?),
            last_position: Position(get("last_position")?),
        };
        results.insert(StreamId::new(stream)?, result);
    }
    Ok(results)
}
