//! Concurrent writers (with caller rollbacks, conflicts and a transaction held open) against
//! paging readers.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fintra_core::testing::SimRng;
use fintra_core::testing::conformance::event;
use fintra_core::{
    Error, EventId, EventStore, EventStoreExt, ExpectedVersion, NewEvent, Position, StreamId,
    StreamVersion,
};

use super::{Ledger, Target, stream};
use crate::PgEventStore;

/// What [`writers_and_readers`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Events whose append was acknowledged.
    pub acknowledged: usize,
    /// Appends refused by optimistic concurrency.
    pub conflicts: u64,
    /// Caller transactions rolled back after appending.
    pub rollbacks: u64,
    /// Events each reader saw.
    pub read_per_reader: usize,
}

const WRITERS: u64 = 8;
const STREAMS: u64 = 40;
const READERS: usize = 2;

/// Runs 8 writers for `duration` on 40 streams — plain appends, appends at an exact version
/// (conflicting often), appends inside transactions that are committed or rolled back, bulk
/// imports — while one transaction holds an append open for a third of the run, and two readers
/// page through the global log with random page sizes. Every reader must see every
/// acknowledged event exactly once, in strictly increasing positions, and no refused or
/// rolled-back event; every stream's versions are contiguous.
///
/// # Panics
/// When a property breaks; the message names the seed.
pub async fn writers_and_readers(target: &Target, seed: u64, duration: Duration) -> LoadReport {
    let store = target.store();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let counters = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    // How many events the readers must see: unknown (usize::MAX) until the writers stop.
    let expected = Arc::new(AtomicUsize::new(usize::MAX));
    let deadline = Instant::now() + duration;

    let held = hold_a_transaction(store.clone(), Arc::clone(&ledger), duration / 3);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, ledger, counters) =
                (store.clone(), Arc::clone(&ledger), Arc::clone(&counters));
            tokio::spawn(async move {
                let mut rng = SimRng::new(seed ^ (w + 1).wrapping_mul(0x9E37_79B9));
                let mut next = (w + 1) * 10_000_000;
                while Instant::now() < deadline {
                    write_once(&store, &mut rng, &mut next, &ledger, &counters, seed).await;
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (store, expected) = (store.clone(), Arc::clone(&expected));
            let reader_seed = seed ^ (0xEAD + u64::try_from(r).unwrap_or(0));
            tokio::spawn(async move { read_until_seen(&store, reader_seed, &expected, seed).await })
        })
        .collect();

    held.await.unwrap_or_else(|e| panic!("seed {seed}: the held transaction panicked: {e}"));
    for writer in writers {
        writer.await.unwrap_or_else(|e| panic!("seed {seed}: a writer panicked: {e}"));
    }
    let ledger = Arc::try_unwrap(ledger)
        .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
        .unwrap_or_else(|_| panic!("seed {seed}: writers still hold the ledger"));
    expected.store(ledger.acknowledged.len(), Ordering::Release);
    let mut read_per_reader = 0;
    for (r, reader) in readers.into_iter().enumerate() {
        let seen = reader.await.unwrap_or_else(|e| panic!("seed {seed}: a reader panicked: {e}"));
        ledger.check(&seen, seed, &format!("reader {r}"));
        read_per_reader = seen.len();
    }
    for s in 0..STREAMS {
        let events = store.read_stream_to_vec(&stream(&format!("load-{s}")), 1_000_000).await;
        let events = events.unwrap_or_else(|e| panic!("seed {seed}: read stream {s}: {e}"));
        let contiguous =
            events.iter().zip(1u64..).all(|(e, v)| e.stream_version == StreamVersion(v));
        assert!(contiguous, "seed {seed}: stream load-{s} has a version gap");
    }
    LoadReport {
        acknowledged: ledger.acknowledged.len(),
        conflicts: counters.0.load(Ordering::Relaxed),
        rollbacks: counters.1.load(Ordering::Relaxed),
        read_per_reader,
    }
}

/// Appends one event in a transaction and keeps it open for `hold` before committing: readers
/// must wait for it, never skip it.
fn hold_a_transaction(
    store: PgEventStore,
    ledger: Arc<Mutex<Ledger>>,
    hold: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let held = [event(1)];
        let mut tx = store.begin().await.expect("begin the held transaction");
        tx.append(&store, &stream("held"), ExpectedVersion::NoStream, &held)
            .await
            .expect("append in the held transaction");
        tokio::time::sleep(hold).await;
        tx.commit().await.expect("commit the held transaction");
        ledger.lock().unwrap_or_else(PoisonError::into_inner).ack(&held);
    })
}

fn batch(next: &mut u64, count: u64) -> Vec<NewEvent> {
    let events = (*next..*next + count).map(event).collect();
    *next += count;
    events
}

/// One random write; records its outcome.
async fn write_once(
    store: &PgEventStore,
    rng: &mut SimRng,
    next: &mut u64,
    ledger: &Mutex<Ledger>,
    counters: &(AtomicU64, AtomicU64),
    seed: u64,
) {
    let s = stream(&format!("load-{}", rng.below(STREAMS)));
    let events = batch(next, 1 + rng.below(5));
    let record = |outcome: Result<(), Error>, events: &[NewEvent]| {
        let mut ledger = ledger.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(()) => ledger.ack(events),
            Err(Error::Conflict { .. }) => {
                counters.0.fetch_add(1, Ordering::Relaxed);
                ledger.refuse(events);
            }
            Err(other) => panic!("seed {seed}: an append failed: {other}"),
        }
    };
    match rng.below(100) {
        0..50 => record(store.append(&s, ExpectedVersion::Any, &events).await.map(drop), &events),
        50..65 => {
            let version = store.stream_version(&s).await.expect("stream_version");
            // A stale expectation half the time: a conflict must write nothing.
            let expected = ExpectedVersion::Exact(StreamVersion(version.get() + rng.below(2)));
            record(store.append(&s, expected, &events).await.map(drop), &events);
        }
        65..90 => {
            let mut tx = store.begin().await.expect("begin");
            tx.append(store, &s, ExpectedVersion::Any, &events).await.expect("append in tx");
            if rng.chance(30) {
                tx.rollback().await.expect("rollback");
                counters.1.fetch_add(1, Ordering::Relaxed);
                ledger.lock().unwrap_or_else(PoisonError::into_inner).refuse(&events);
            } else {
                record(tx.commit().await, &events);
            }
        }
        _ => {
            let count = 20 + rng.below(80);
            let bulk: Vec<(StreamId, NewEvent)> = batch(next, count)
                .into_iter()
                .map(|e| (stream(&format!("load-{}", rng.below(STREAMS))), e))
                .collect();
            let outcome = store.bulk_import(&bulk, |_| {}).await.map(drop);
            let events: Vec<NewEvent> = bulk.into_iter().map(|(_, e)| e).collect();
            record(outcome, &events);
        }
    }
}

/// Pages through the global log (random page sizes) until it has seen `expected` events (known
/// once the writers stop), then a little longer to catch anything extra; returns every event id
/// seen, in order. Gap-safe reads hold events back while any transaction on the server is open,
/// so the wait allows for other tests' transactions.
async fn read_until_seen(
    store: &PgEventStore,
    reader_seed: u64,
    expected: &AtomicUsize,
    seed: u64,
) -> Vec<EventId> {
    let mut rng = SimRng::new(reader_seed);
    let mut seen = Vec::new();
    let mut after = Position::START;
    let mut extra_pages = 0;
    let give_up = Instant::now() + Duration::from_secs(300);
    loop {
        let limit = usize::try_from(1 + rng.below(500)).unwrap_or(1);
        let page = store
            .read_all(after, limit)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: read_all: {e}"));
        for e in &page {
            assert!(e.position > after, "seed {seed}: positions go back at {}", e.position);
            after = e.position;
            seen.push(e.event_id);
        }
        if seen.len() >= expected.load(Ordering::Acquire) {
            extra_pages += 1;
            if extra_pages >= 5 {
                return seen;
            }
        }
        if page.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if Instant::now() > give_up {
            return seen; // the ledger check reports what is missing
        }
    }
}
