//! `TimescaleEventStore` (native partitions, on the real PostgreSQL) against the whole kernel
//! conformance suite and the seeded simulation, a fresh schema per test.

mod conformance_suite {
    fintra_core::event_store_conformance!(
        test = tokio::test(flavor = "multi_thread", worker_threads = 2),
        store = fintra_store_timescale::testing::fresh_store(),
        capabilities = fintra_core::testing::conformance::Capabilities::ALL,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_simulation_against_a_reference_model() {
    let seed = fintra_core::testing::simulation::seed_from_env();
    println!("simulation seed {seed} (replay with FINTRA_SEED={seed})");
    let store = fintra_store_timescale::testing::fresh_store().await;
    let report = fintra_core::testing::simulation::simulate(store, seed, 400).await;
    assert!(
        report.committed > 100 && report.conflicts > 20 && report.faults_retried > 20,
        "{report:?}"
    );
}
