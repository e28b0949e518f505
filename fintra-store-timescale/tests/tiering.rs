//! Tiering on the native layout: warm partitions to Parquet archives on the local file system
//! (with an interruption after every step) and on S3 (moto's server, started by
//! scripts/test.sh), restore, and global reads across the tiers.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::sync::Arc;

use chrono::Duration;
use fintra_store_parquet::{ParquetArchive, S3Config};
use fintra_store_timescale::testing::fresh_store;
use fintra_store_timescale::{TieredLog, Tiering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiering_survives_an_interruption_at_every_step() {
    let store = fresh_store().await;
    common::tiering_scenario(&store, &common::temp_dir("tiering-native")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiering_to_s3_and_replaying_across_tiers() {
    let endpoint =
        std::env::var("FINTRA_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".to_owned());
    let archive = ParquetArchive::s3(&S3Config {
        bucket: "fintra-test".into(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint.clone()),
        access_key_id: "test".into(),
        secret_access_key: "test".into(),
    })
    .unwrap();
    let store = fresh_store().await;
    // A prefix of its own inside the shared bucket: the schema's name.
    let schema: String =
        sqlx::query_scalar("SELECT current_schema()::text").fetch_one(store.pool()).await.unwrap();
    let archive = Arc::new(archive.with_prefix(&schema));
    let now = common::db_now(&store).await;
    let old = common::history(now, &[12, 11], 40);
    common::seed(&store, &old).await;
    let report = Tiering::new(&store, &archive).run(now - Duration::days(5)).await;
    let report = report.unwrap_or_else(|e| {
        panic!("tiering to S3 at {endpoint} failed: {e}. Is the S3 server up (scripts/s3.sh)?")
    });
    assert_eq!(report.events, 80);
    assert!(common::whole_log(&store, 0).await.is_empty());
    let tiered = TieredLog::new(store.clone(), archive);
    let all = common::whole_tiered_log(&tiered, 33, 80).await;
    assert_eq!(all, old);
}
