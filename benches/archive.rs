//! Cold-tier benchmark (macro harness): archive write (events/s, from the PostgreSQL log to
//! Parquet on the local disk), bytes per event in Parquet vs PostgreSQL heap + index bytes per
//! event for the same rows (target ≤ 1/8), and archive replay (events/s).
//!
//! `cargo bench -p benches --bench archive` with PostgreSQL up. `FINTRA_ARCHIVE_EVENTS`
//! (default 200,000), `FINTRA_ARCHIVE_RUNS` (default 3).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use benches::{env, median};
use std::time::Instant;

use fintra_core::{ContentType, EventMetadata, NewEvent, Position, StreamId};
use fintra_store_parquet::{ParquetArchive, ReadFilter};
use fintra_store_postgres::testing::TestSchema;

fn main() {
    let events = env("FINTRA_ARCHIVE_EVENTS", 200_000);
    let runs = env("FINTRA_ARCHIVE_RUNS", 3);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let schema = TestSchema::new().await;
        let store = schema.store();
        let batch: Vec<(StreamId, NewEvent)> = (0..events)
            .map(|n| {
                let payload = format!(
                    "{{\"amount_minor\":{},\"currency\":\"GBP\",\"merchant\":\"Merchant {}\"}}",
                    (n * 7919) % 100_000,
                    n % 500
                );
                let event = NewEvent {
                    event_id: uuid::Uuid::from_u128(u128::from(n) + 1),
                    event_type: "TransactionCreated".to_owned(),
                    schema_version: 1,
                    occurred_at: chrono::DateTime::UNIX_EPOCH
                        + chrono::Duration::seconds(i64::try_from(n).unwrap()),
                    metadata: EventMetadata::default(),
                    content_type: ContentType::json(),
                    payload: payload.into_bytes().into(),
                };
                (StreamId::new(format!("account-{}", n % 5_000)).unwrap(), event)
            })
            .collect();
        store.bulk_import(&batch, |_| {}).await.unwrap();
        sqlx::query("VACUUM ANALYZE fintra_events").execute(&schema.pool).await.unwrap();
        let pg_bytes: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('fintra_events')")
            .fetch_one(&schema.pool)
            .await
            .unwrap();
        let (mut write, mut replay, mut parquet_bytes) = (Vec::new(), Vec::new(), 0u64);
        for run in 0..runs {
            let dir = std::env::temp_dir()
                .join(format!("fintra-archive-bench-{}-{run}", std::process::id()));
            let archive = ParquetArchive::local(&dir).unwrap();
            let started = Instant::now();
            let manifest =
                archive.archive_range(&store, Position::START, Position(u64::MAX)).await.unwrap();
            write.push(manifest.rows as f64 / started.elapsed().as_secs_f64());
            parquet_bytes = manifest.files.iter().map(|f| f.bytes).sum();
            let started = Instant::now();
            let back = archive.read(&manifest.archive_id, &ReadFilter::default()).await.unwrap();
            replay.push(back.len() as f64 / started.elapsed().as_secs_f64());
            let _ = std::fs::remove_dir_all(&dir);
        }
        let per_pg = pg_bytes as f64 / events as f64;
        let per_parquet = parquet_bytes as f64 / events as f64;
        println!("| {events} events, 5,000 streams, median of {runs} | value |");
        println!("|---|---:|");
        println!(
            "| archive write (PostgreSQL log → Parquet, local disk) | {:.0} events/s |",
            median(write)
        );
        println!("| archive replay (Parquet → events) | {:.0} events/s |", median(replay));
        println!("| PostgreSQL `fintra_events` heap + indexes | {per_pg:.1} bytes/event |");
        println!("| Parquet (zstd) | {per_parquet:.1} bytes/event |");
        println!("| ratio Parquet / PostgreSQL (target ≤ 0.125) | {:.3} |", per_parquet / per_pg);
    });
}
