//! The torture suite on the hot store (`fintra_store_postgres::testing::torture`): writers and
//! paging readers, random cancellation of every public call, a hostile tenant, and immediate
//! server stops on a private cluster. `FINTRA_SEED=<n>` replays a run; `FINTRA_TORTURE_SECS`
//! lengthens the load phase (default 8 s).

use std::time::Duration;

use fintra_core::testing::simulation::seed_from_env;
use fintra_store_postgres::testing::torture;
use fintra_store_postgres::testing::{PrivateCluster, TestSchema};
use fintra_store_postgres::{PgEventStore, PgStoreOptions};

fn load_duration() -> Duration {
    let secs = std::env::var("FINTRA_TORTURE_SECS").ok().and_then(|s| s.parse().ok());
    Duration::from_secs(secs.unwrap_or(8))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_with_rollbacks_and_a_held_transaction_against_paging_readers() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let schema = TestSchema::new().await;
    let report = torture::writers_and_readers(&schema.target(), seed, load_duration()).await;
    println!("{report:?}");
    assert!(
        report.acknowledged > 500 && report.conflicts > 0 && report.rollbacks > 0,
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_and_readers_with_group_commit() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let schema = TestSchema::new().await;
    let report =
        torture::writers_and_readers(&schema.grouped_target(), seed, load_duration()).await;
    println!("{report:?}");
    assert!(
        report.acknowledged > 500 && report.conflicts > 0 && report.rollbacks > 0,
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cancellation_with_group_commit() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let schema = TestSchema::new().await;
    let report = torture::random_cancellation(&schema.grouped_target(), seed, 600).await;
    println!("{report:?}");
    assert!(report.cancelled > 80, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cancellation_of_every_public_call() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let schema = TestSchema::new().await;
    let report = torture::random_cancellation(&schema.target(), seed, 600).await;
    println!("{report:?}");
    assert!(report.cancelled > 80, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tenant_cannot_read_or_change_another_tenant() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let schema = TestSchema::new().await;
    torture::hostile_tenant(&schema.target(), seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn immediate_server_stops_during_imports_lose_nothing_acknowledged() {
    let seed = seed_from_env();
    println!("torture seed {seed} (replay with FINTRA_SEED={seed})");
    let cluster = PrivateCluster::start();
    let report = torture::server_stop_during_imports(&cluster, seed, 3, |url| async move {
        let options = PgStoreOptions { max_connections: 8, ..PgStoreOptions::default() };
        let store = PgEventStore::connect(&url, options).await.expect("connect to the cluster");
        store.migrate().await.expect("migrate the cluster");
        store
    })
    .await;
    println!("{report:?}");
    assert_eq!(report.stops, 3);
    assert!(report.acknowledged_batches > 0, "{report:?}");
}
