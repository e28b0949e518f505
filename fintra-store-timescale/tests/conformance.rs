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

/// Several appends in one caller's transaction continue its position range (the lookup of the
/// transaction's last position sees only its own partition) and commit or roll back with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_in_the_callers_transaction() {
    use fintra_core::testing::conformance::{events, read_entire_log, stream};
    use fintra_core::{EventStore, ExpectedVersion};
    use sqlx::Acquire;

    let store = fintra_store_timescale::testing::fresh_store().await;
    let mut conn = store.pool().acquire().await.expect("a connection");
    let mut tx = conn.begin().await.expect("begin");
    let a = store
        .append_in(&mut tx, &stream("a"), ExpectedVersion::NoStream, &events(1, 3))
        .await
        .expect("first append");
    let b = store
        .append_in(&mut tx, &stream("b"), ExpectedVersion::NoStream, &events(4, 2))
        .await
        .expect("second append");
    assert_eq!(b.first_position.get(), a.last_position.get() + 1);
    tx.commit().await.expect("commit");
    let mut tx = conn.begin().await.expect("begin");
    store
        .append_in(&mut tx, &stream("c"), ExpectedVersion::NoStream, &events(6, 2))
        .await
        .expect("third append");
    tx.rollback().await.expect("rollback");
    let log = read_entire_log(&store, 10, 5).await;
    assert_eq!(log.len(), 5);
    assert_eq!(store.stream_version(&stream("c")).await.expect("version").get(), 0);
}
