//! The TimescaleDB layout, on the TimescaleDB test server (`scripts/timescale.sh`: PGlite with
//! the extension, one session at a time). Everything runs in one test, in sequence, on one
//! single-connection pool: the whole conformance suite, then the time-series and tiering checks.

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
    drop(store);
    fintra_core::testing::conformance::run_all(
        || db.fresh_store(),
        fintra_core::testing::conformance::Capabilities::ALL,
    )
    .await;
}
