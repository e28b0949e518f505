//! A seeded simulation: a random, bounded workload against a fault-injecting store, checked
//! step by step against a plain reference model (a map of streams to event ids).
//!
//! Clients retry every failed append with the same event ids, as the contract allows; the model
//! then knows exactly what must be in the store. A failing run prints its seed; run it again
//! with `FINTRA_SEED=<seed>`.

use std::collections::BTreeMap;

use super::conformance::{event, read_entire_log};
use super::faulty::{FaultRates, FaultyStore, SimRng};
use crate::{Error, EventId, EventStore, EventStoreExt, ExpectedVersion, StreamId, StreamVersion};

/// What a simulation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimulationReport {
    /// The seed (print it to replay).
    pub seed: u64,
    /// Appends attempted (retries included).
    pub attempts: u64,
    /// Appends that committed.
    pub committed: u64,
    /// Conflicts the store reported for deliberately wrong expected versions.
    pub conflicts: u64,
    /// Injected faults the clients retried.
    pub faults_retried: u64,
}

/// The seed from `FINTRA_SEED`, or one derived from the system time.
pub fn seed_from_env() -> u64 {
    std::env::var("FINTRA_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(0)
    })
}

/// Runs `operations` random appends against `store` wrapped in a [`FaultyStore`].
///
/// # Panics
/// When the store diverges from the model; the message names the seed.
pub async fn simulate<S: EventStore>(store: S, seed: u64, operations: u64) -> SimulationReport {
    let rates = FaultRates { fail_before_commit: 10, fail_after_commit: 10, short_read: 20 };
    let store = FaultyStore::new(store, seed, rates);
    let mut rng = SimRng::new(seed ^ 0x5EED);
    let mut model: BTreeMap<StreamId, Vec<EventId>> = BTreeMap::new();
    let mut log: Vec<EventId> = Vec::new();
    let mut report = SimulationReport { seed, ..SimulationReport::default() };
    let mut next_event = 1u64;
    let streams: Vec<StreamId> =
        (0..5).map(|i| StreamId::new(format!("sim-{i}")).expect("valid stream name")).collect();

    for op in 0..operations {
        let stream = &streams[usize::try_from(rng.below(5)).unwrap_or(0)];
        let count = 1 + rng.below(3);
        let batch: Vec<_> = (next_event..next_event + count).map(event).collect();
        next_event += count;
        let known = model.get(stream).map_or(0, Vec::len);
        let current = StreamVersion(u64::try_from(known).expect("small"));
        let (expected, should_conflict) = match rng.below(4) {
            0 => (ExpectedVersion::Any, false),
            1 => (ExpectedVersion::Exact(current), false),
            2 => (ExpectedVersion::Exact(StreamVersion(current.get() + 1 + rng.below(3))), true),
            _ => (ExpectedVersion::NoStream, known > 0),
        };
        let mut committed = false;
        for _retry in 0..100 {
            report.attempts += 1;
            match store.append(stream, expected, &batch).await {
                Ok(result) => {
                    assert!(
                        !should_conflict,
                        "seed {seed}, op {op}: expected a conflict, got {result:?}"
                    );
                    assert_eq!(
                        result.first_version,
                        current.next().expect("small"),
                        "seed {seed}, op {op}"
                    );
                    committed = true;
                    break;
                }
                Err(Error::Conflict { actual, .. }) => {
                    assert!(
                        should_conflict,
                        "seed {seed}, op {op}: unexpected conflict at {actual}"
                    );
                    assert_eq!(
                        actual, current,
                        "seed {seed}, op {op}: conflict reports the version"
                    );
                    report.conflicts += 1;
                    break;
                }
                Err(Error::Backend { .. }) => report.faults_retried += 1,
                Err(other) => panic!("seed {seed}, op {op}: unexpected error {other:?}"),
            }
        }
        if committed {
            report.committed += 1;
            let ids = batch.iter().map(|e| e.event_id);
            model.entry(stream.clone()).or_default().extend(ids.clone());
            log.extend(ids);
        }
        let version = store.stream_version(stream).await.expect("stream_version");
        let modelled = model.get(stream).map_or(0, Vec::len);
        assert_eq!(version.get(), u64::try_from(modelled).expect("small"), "seed {seed}, op {op}");
    }

    let all: Vec<EventId> =
        read_entire_log(&store, 7, log.len()).await.iter().map(|e| e.event_id).collect();
    assert_eq!(all, log, "seed {seed}: the global log equals the model, in order, nothing twice");
    for (stream, ids) in &model {
        let recorded = store.read_stream_to_vec(stream, 1_000_000).await.expect("read");
        let got: Vec<_> = recorded.iter().map(|e| e.event_id).collect();
        assert_eq!(&got, ids, "seed {seed}: stream {stream} equals the model");
    }
    report
}
