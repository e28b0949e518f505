//! Immediate server stops while imports and appends run, on a private cluster.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fintra_core::testing::SimRng;
use fintra_core::testing::conformance::event;
use fintra_core::{
    EventStore, EventStoreExt, ExpectedVersion, NewEvent, Position, StreamId, StreamVersion,
};

use super::{Ledger, stream};
use crate::PgEventStore;
use crate::testing::PrivateCluster;

/// What [`server_stop_during_imports`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// Server stops survived.
    pub stops: u32,
    /// Batches acknowledged (imports and appends).
    pub acknowledged_batches: u64,
    /// Batches whose outcome the writer never learnt (each found whole or absent).
    pub interrupted_batches: usize,
    /// Events in the log at the end.
    pub events: usize,
}

const STREAMS: u64 = 30;

/// Runs `rounds` times: three importers (`bulk_import` of 200–2,000 events over 30 streams) and
/// one appender work against the cluster until it is stopped with `pg_ctl stop -m immediate` at
/// a random moment; then the server restarts (crash recovery) and the store carries on with the
/// same pool. At the end every acknowledged batch is whole, every interrupted one is whole or
/// absent, each stream's versions are contiguous, and the global log holds every event once.
///
/// `open` connects a migrated store to a URL.
///
/// # Panics
/// When a property breaks; the message names the seed.
pub async fn server_stop_during_imports<F, Fut>(
    cluster: &PrivateCluster,
    seed: u64,
    rounds: u32,
    open: F,
) -> CrashReport
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = PgEventStore>,
{
    let store = open(cluster.url()).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = SimRng::new(seed);
    let mut report = CrashReport::default();
    let mut acknowledged = 0u64;
    for round in 0..rounds {
        let running = Arc::new(AtomicBool::new(true));
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let (store, ledger, running) =
                    (store.clone(), Arc::clone(&ledger), Arc::clone(&running));
                let first = (u64::from(round) * 10 + w + 1) * 100_000_000;
                let writer_seed = seed ^ first;
                tokio::spawn(async move {
                    write_until_stopped(&store, &ledger, &running, first, writer_seed, w == 3).await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(150 + rng.below(1_200))).await;
        cluster.stop_immediately();
        running.store(false, Ordering::Release);
        for writer in writers {
            acknowledged +=
                writer.await.unwrap_or_else(|e| panic!("seed {seed}: a writer panicked: {e}"));
        }
        report.stops += 1;
        cluster.resume();
        wait_until_usable(&store, seed).await;
    }
    let ledger = Arc::try_unwrap(ledger)
        .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
        .unwrap_or_else(|_| panic!("seed {seed}: writers still hold the ledger"));
    let log = read_everything(&store, ledger.acknowledged.len()).await;
    ledger.check(&log, seed, "the log after the server stops");
    for s in 0..STREAMS {
        let events = store.read_stream_to_vec(&stream(&format!("crash-{s}")), 10_000_000).await;
        let events = events.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let contiguous =
            events.iter().zip(1u64..).all(|(e, v)| e.stream_version == StreamVersion(v));
        assert!(contiguous, "seed {seed}: stream crash-{s} has a version gap after the stops");
    }
    report.acknowledged_batches = acknowledged;
    report.interrupted_batches = ledger.unknown.len();
    report.events = log.len();
    report
}

/// Imports (or, for the appender, appends) until the first failure after `running` turns
/// false; returns how many batches were acknowledged.
async fn write_until_stopped(
    store: &PgEventStore,
    ledger: &Mutex<Ledger>,
    running: &AtomicBool,
    mut next: u64,
    seed: u64,
    appender: bool,
) -> u64 {
    let mut rng = SimRng::new(seed);
    let mut acknowledged = 0;
    loop {
        let count = if appender { 1 + rng.below(5) } else { 200 + rng.below(1_800) };
        let events: Vec<NewEvent> = (next..next + count).map(event).collect();
        next += count;
        let outcome = if appender {
            let s = stream(&format!("crash-{}", rng.below(STREAMS)));
            store.append(&s, ExpectedVersion::Any, &events).await.map(drop)
        } else {
            let pairs: Vec<(StreamId, NewEvent)> = events
                .iter()
                .map(|e| (stream(&format!("crash-{}", rng.below(STREAMS))), e.clone()))
                .collect();
            store.bulk_import(&pairs, |_| {}).await.map(drop)
        };
        let mut ledger = ledger.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(()) => {
                ledger.ack(&events);
                acknowledged += 1;
            }
            // The server went away: whether this batch committed is unknown.
            Err(_) => {
                ledger.unknown(&events);
                if !running.load(Ordering::Acquire) {
                    return acknowledged;
                }
            }
        }
    }
}

/// After a restart the pool still holds dead connections: each failed call closes one.
async fn wait_until_usable(store: &PgEventStore, seed: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.stream_version(&stream("crash-0")).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "seed {seed}: the store never recovered after a restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn read_everything(store: &PgEventStore, expected: usize) -> Vec<fintra_core::EventId> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut seen, mut after) = (Vec::new(), Position::START);
    while Instant::now() < deadline {
        let page = match store.read_all(after, 5_000).await {
            Ok(page) => page,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue; // a dead pooled connection, closed by the failure
            }
        };
        match page.last() {
            Some(last) => after = last.position,
            None if seen.len() >= expected => break,
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
        seen.extend(page.iter().map(|e| e.event_id));
    }
    seen
}
