//! The hot store's torture suite on the warm store, which shares its append path: writers and
//! paging readers, random cancellation of every public call, a hostile tenant, and immediate
//! server stops on a private cluster. `FINTRA_SEED=<n>` replays a run.

use std::time::Duration;

use fintra_core::testing::simulation::seed_from_env;
use fintra_store_postgres::testing::PrivateCluster;
use fintra_store_postgres::testing::torture;
use fintra_store_timescale::testing::fresh_target;
use fintra_store_timescale::{TimescaleEventStore, TimescaleStoreOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn warm_writers_with_rollbacks_and_a_held_transaction_against_paging_readers() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let (_store, target) = fresh_target().await;
    let report = torture::writers_and_readers(&target, seed, Duration::from_secs(6)).await;
    println!("{report:?}");
    assert!(
        report.acknowledged > 500 && report.conflicts > 0 && report.rollbacks > 0,
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_random_cancellation_of_every_public_call() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let (_store, target) = fresh_target().await;
    let report = torture::random_cancellation(&target, seed, 400).await;
    println!("{report:?}");
    assert!(report.cancelled > 50, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_hostile_tenant_cannot_read_or_change_another_tenant() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let (store, target) = fresh_target().await;
    store.enable_row_level_security().await.expect("row-level security on the warm tables");
    torture::hostile_tenant(&target, seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn warm_immediate_server_stops_during_imports_lose_nothing_acknowledged() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let cluster = PrivateCluster::start();
    let report = torture::server_stop_during_imports(&cluster, seed, 2, |url| async move {
        let mut options = TimescaleStoreOptions::default();
        options.store.max_connections = 8;
        let store = TimescaleEventStore::connect(&url, options).await.expect("connect");
        store.migrate().await.expect("migrate the cluster");
        store.log().clone()
    })
    .await;
    println!("{report:?}");
    assert_eq!(report.stops, 2);
    assert!(report.acknowledged_batches > 0, "{report:?}");
}
