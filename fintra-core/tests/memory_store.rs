//! The in-memory store against the whole conformance suite, one test per property, plus checks
//! that only make sense in process (real threads, snapshots).

use std::sync::Arc;

use fintra_core::testing::conformance::{self, Capabilities, event, stream};
use fintra_core::{Error, EventStore, ExpectedVersion, InMemoryEventStore, StreamVersion};

mod conformance_suite {
    fintra_core::event_store_conformance!(
        test = tokio::test,
        store = async { fintra_core::InMemoryEventStore::new() },
        capabilities = fintra_core::testing::conformance::Capabilities::ALL,
    );
}

#[tokio::test]
async fn run_all_covers_every_property() {
    conformance::run_all(|| async { InMemoryEventStore::new() }, Capabilities::ALL).await;
}

/// The suite's race interleaves futures on one thread; this one uses real OS threads.
#[test]
fn os_threads_race_on_one_stream() {
    let store = Arc::new(InMemoryEventStore::new());
    let s = stream("threads");
    let per_thread = 200u64;
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let (store, s) = (Arc::clone(&store), s.clone());
            std::thread::spawn(move || {
                futures::executor::block_on(async {
                    for i in 0..per_thread {
                        let batch = [event(t * 10_000 + i)];
                        loop {
                            let v = store.stream_version(&s).await.unwrap();
                            match store.append(&s, ExpectedVersion::Exact(v), &batch).await {
                                Ok(_) => break,
                                Err(Error::Conflict { .. }) => std::thread::yield_now(),
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                })
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let total = 8 * per_thread;
    let version = futures::executor::block_on(store.stream_version(&s)).unwrap();
    assert_eq!(version, StreamVersion(total));
    assert_eq!(store.len(), usize::try_from(total).unwrap());
}

mod snapshot_suite {
    fintra_core::snapshot_store_conformance!(
        test = tokio::test,
        stores = async {
            (fintra_core::InMemorySnapshotStore::new(), fintra_core::InMemoryEventStore::new())
        },
        capabilities =
            fintra_core::testing::snapshots::SnapshotCapabilities { checks_stream_head: false },
    );
}

/// STYLE 5: random bounded workload, injected faults, compared with a reference model.
/// A failure prints the seed; `FINTRA_SEED=<seed> cargo test -p fintra-core simulation` replays.
#[tokio::test]
async fn seeded_simulation_against_a_reference_model() {
    let seed = fintra_core::testing::simulation::seed_from_env();
    println!("simulation seed {seed} (replay with FINTRA_SEED={seed})");
    let report =
        fintra_core::testing::simulation::simulate(InMemoryEventStore::new(), seed, 2_000).await;
    assert_eq!(report.seed, seed);
    assert!(report.committed > 500, "{report:?}");
    assert!(report.conflicts > 100, "{report:?}");
    assert!(report.faults_retried > 100, "{report:?}");
}
