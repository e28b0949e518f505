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

/// Tiering under a lease's fencing token: while the lease is held it records its steps; after a
/// takeover (the lease at a newer epoch) the stale holder's next step is refused with
/// `Error::Fenced` and records, deletes and drops nothing; the new holder finishes the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_tiering_run_is_refused_after_a_takeover() {
    use fintra_store_postgres::fence::FenceToken;
    use fintra_store_timescale::TieringStep;
    let store = fresh_store().await;
    // The lease table belongs to `fintra_projections::lease` (which this crate does not depend
    // on); the columns the fence reads, and one live lease.
    sqlx::raw_sql(
        "CREATE TABLE fintra_leases (unit text PRIMARY KEY, owner text NOT NULL,
             epoch bigint NOT NULL, expires_at timestamptz NOT NULL,
             renewed_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO fintra_leases (unit, owner, epoch, expires_at)
             VALUES ('tiering', 'a', 1, now() + interval '1 hour')",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let archive = ParquetArchive::local(&common::temp_dir("tiering-fenced")).unwrap();
    let now = common::db_now(&store).await;
    let old = common::history(now, &[12, 11, 10], 20);
    common::seed(&store, &old).await;
    let cutoff = now - Duration::days(5);
    let token =
        |owner: &str, epoch| FenceToken { unit: "tiering".into(), owner: owner.into(), epoch };
    let stale = Tiering::new(&store, &archive).with_fence(token("a", 1));
    stale.run_until(cutoff, TieringStep::Exported).await.unwrap();
    let states = || async {
        sqlx::query_scalar::<_, String>("SELECT state FROM fintra_tiering ORDER BY partition_name")
            .fetch_all(store.pool())
            .await
            .unwrap()
    };
    let exported = states().await;
    assert!(!exported.is_empty() && exported.iter().all(|s| s == "exported"), "{exported:?}");
    // Another process takes the lease over.
    sqlx::query("UPDATE fintra_leases SET owner = 'b', epoch = 2")
        .execute(store.pool())
        .await
        .unwrap();
    let refused = stale.run(cutoff).await;
    assert!(
        matches!(refused, Err(fintra_core::Error::Fenced { ref unit, epoch: 1 }) if unit == "tiering"),
        "{refused:?}"
    );
    assert_eq!(states().await, exported, "no step recorded by the stale holder");
    assert_eq!(common::whole_log(&store, 60).await.len(), 60, "nothing dropped");
    let report =
        Tiering::new(&store, &archive).with_fence(token("b", 2)).run(cutoff).await.unwrap();
    assert_eq!(report.events, 60);
    assert!(common::whole_log(&store, 0).await.is_empty());
}
