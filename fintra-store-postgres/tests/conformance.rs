//! `PgEventStore` against the whole kernel conformance suite and the seeded simulation, on the
//! real PostgreSQL (a fresh schema per test).

mod conformance_suite {
    fintra_core::event_store_conformance!(
        test = tokio::test(flavor = "multi_thread", worker_threads = 2),
        store = fintra_store_postgres::testing::fresh_store(),
        capabilities = fintra_core::testing::conformance::Capabilities::ALL,
    );
}

/// The same suite with group commit on: every append goes through the group's queue.
mod grouped_conformance_suite {
    fintra_core::event_store_conformance!(
        test = tokio::test(flavor = "multi_thread", worker_threads = 2),
        store = fintra_store_postgres::testing::fresh_grouped_store(),
        capabilities = fintra_core::testing::conformance::Capabilities::ALL,
    );
}

mod snapshot_suite {
    fintra_core::snapshot_store_conformance!(
        test = tokio::test(flavor = "multi_thread", worker_threads = 2),
        stores = async {
            let schema = fintra_store_postgres::testing::TestSchema::new().await;
            let snapshots = fintra_store_postgres::PgSnapshotStore::new(schema.pool.clone());
            (snapshots, schema.store())
        },
        capabilities =
            fintra_core::testing::snapshots::SnapshotCapabilities { checks_stream_head: true },
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_simulation_against_a_reference_model() {
    let seed = fintra_core::testing::simulation::seed_from_env();
    println!("simulation seed {seed} (replay with FINTRA_SEED={seed})");
    let store = fintra_store_postgres::testing::fresh_store().await;
    let report = fintra_core::testing::simulation::simulate(store, seed, 400).await;
    assert!(
        report.committed > 100 && report.conflicts > 20 && report.faults_retried > 20,
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_simulation_with_group_commit() {
    let seed = fintra_core::testing::simulation::seed_from_env();
    println!("simulation seed {seed} (replay with FINTRA_SEED={seed})");
    let store = fintra_store_postgres::testing::fresh_grouped_store().await;
    let report = fintra_core::testing::simulation::simulate(store, seed, 400).await;
    assert!(
        report.committed > 100 && report.conflicts > 20 && report.faults_retried > 20,
        "{report:?}"
    );
}
