//! The TimescaleDB layout, on the TimescaleDB test server (`scripts/timescale.sh`: PGlite with
//! the extension, one session at a time). Everything runs in one test, in sequence, on one
//! single-connection pool: the whole conformance suite, then the time-series and tiering checks.

#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use fintra_store_timescale::WarmLayout;
use fintra_store_timescale::testing::TimescaleTestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timescaledb_layout_passes_the_suite_and_the_time_series_checks() {
    let db = TimescaleTestDb::connect().await;
    let store = db.fresh_store().await;
    assert!(
        matches!(store.layout(), WarmLayout::TimescaleDb { .. }),
        "the test server should give the TimescaleDB layout, got {:?}",
        store.layout()
    );
    // Hypertables, compression and the continuous aggregate are really there.
    let hypertables: Vec<String> = sqlx::query_scalar(
        "SELECT hypertable_name::text FROM timescaledb_information.hypertables \
         WHERE hypertable_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(hypertables.contains(&"fintra_events".to_owned()), "{hypertables:?}");
    assert!(hypertables.contains(&"fintra_metric_points".to_owned()), "{hypertables:?}");
    let compression: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM timescaledb_information.jobs \
         WHERE proc_name = 'policy_compression' AND hypertable_name = 'fintra_events'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(compression, 1, "a compression policy on the events");
    let caggs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM timescaledb_information.continuous_aggregates \
         WHERE view_name = 'fintra_metric_daily'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(caggs, 1, "the daily rollup is a continuous aggregate");
    drop(store);

    fintra_core::testing::conformance::run_all(
        || db.fresh_store(),
        fintra_core::testing::conformance::Capabilities::ALL,
    )
    .await;
    common::events_between_scenario(&db.fresh_store().await).await;
    common::metrics_scenario(&db.fresh_store().await).await;
    common::tiering_scenario(&db.fresh_store().await, &common::temp_dir("tiering-timescaledb"))
        .await;
    compressed_chunks_stay_readable_and_tier(&db).await;
}

/// Old chunks compressed (what the compression policy does in the background): the log,
/// stream reads and appends are unchanged, and compressed chunks tier like any other.
async fn compressed_chunks_stay_readable_and_tier(db: &TimescaleTestDb) {
    use fintra_core::testing::conformance::{event, stream};
    use fintra_core::{EventStore, ExpectedVersion};

    let store = db.fresh_store().await;
    let now = common::db_now(&store).await;
    let old = common::history(now, &[15, 14], 20);
    common::seed(&store, &old).await;
    let before = common::whole_log(&store, 40).await;
    let compressed: Vec<String> = sqlx::query_scalar(
        "SELECT public.compress_chunk(c)::text FROM \
         public.show_chunks('fintra_events', older_than => now() - INTERVAL '5 days') AS c",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(compressed.len() >= 2, "{compressed:?}");
    assert_eq!(common::whole_log(&store, 40).await, before);
    let history1 = store.read_stream(&stream("history1"), Default::default()).await.unwrap();
    assert_eq!(
        history1,
        old.iter().filter(|e| e.stream_id == stream("history1")).cloned().collect::<Vec<_>>()
    );
    let version = store.stream_version(&stream("history1")).await.unwrap();
    store
        .append(&stream("history1"), ExpectedVersion::Exact(version), &[event(70_001)])
        .await
        .unwrap();
    let archive =
        fintra_store_parquet::ParquetArchive::local(&common::temp_dir("compressed")).unwrap();
    let report = fintra_store_timescale::Tiering::new(&store, &archive)
        .run(now - chrono::Duration::days(5))
        .await
        .unwrap();
    assert_eq!(report.events, 40);
    assert_eq!(common::whole_log(&store, 1).await.len(), 1);
}
