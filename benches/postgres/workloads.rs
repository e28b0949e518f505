//! The measured workloads. Each returns one sample per run (seconds, or commands/s).

use std::sync::Arc;
use std::time::Instant;

use examples::bank_account::{BankAccount, Command, Event};
use fintra_core::testing::SimRng;
use fintra_core::{Asset, EventMetadata, EventStore, Money, Position, Repository, StreamId};
use futures::StreamExt;
use sqlx::Connection;

use crate::harness::{Bench, secs};

const COLUMNS: &str = "position, event_id, stream_id, stream_version, tenant_id, event_type, \
    schema_version, occurred_at, correlation_id, causation_id, actor, headers, content_type, payload";

const BARE_TABLE: &str = "CREATE TABLE bare_events (position bigint, event_id uuid, \
    stream_id text, stream_version bigint, tenant_id text, event_type text, schema_version int, \
    occurred_at timestamptz, correlation_id uuid, causation_id uuid, actor text, headers jsonb, \
    content_type text, payload bytea)";

/// Bulk import of every event, vs raw binary COPY of the very same rows into a table with no
/// index or constraint (the physical limit of the server for this data), and into a table with
/// fintra's own indexes and constraints (the limit for an indexed log).
pub(crate) async fn bulk_ingest(bench: &Bench<'_>) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut ours, mut limit, mut indexed) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows: Vec<bytes::Bytes> = Vec::new();
    for _ in 0..bench.config.runs {
        let (store, pool) = bench.fresh("fintra_bench").await;
        let start = Instant::now();
        store.bulk_import(&bench.events, |_| {}).await.expect("bulk import");
        ours.push(secs(start.elapsed()));
        if rows.is_empty() {
            let mut conn = pool.acquire().await.expect("conn");
            let sql = format!(
                "COPY (SELECT {COLUMNS} FROM fintra_events ORDER BY position) TO STDOUT (FORMAT binary)"
            );
            let mut out = conn.copy_out_raw(&sql).await.expect("copy out");
            while let Some(chunk) = out.next().await {
                rows.push(chunk.expect("chunk"));
            }
        }
    }
    for _ in 0..bench.config.runs {
        let (_store, pool) = bench.fresh("fintra_bench_bare").await;
        sqlx::query(BARE_TABLE).execute(&pool).await.expect("bare table");
        limit.push(raw_copy(&pool, "bare_events", &rows).await);
        let indexed_table = "CREATE TABLE indexed_events (LIKE fintra_events INCLUDING ALL)";
        sqlx::query(indexed_table).execute(&pool).await.expect("indexed table");
        indexed.push(raw_copy(&pool, "indexed_events", &rows).await);
    }
    (ours, limit, indexed)
}

/// Seconds to COPY `rows` (binary, with header) into `table` in one transaction.
async fn raw_copy(pool: &sqlx::PgPool, table: &str, rows: &[bytes::Bytes]) -> f64 {
    let mut conn = pool.acquire().await.expect("conn");
    let start = Instant::now();
    let mut tx = conn.begin().await.expect("begin");
    let sql = format!("COPY {table} ({COLUMNS}) FROM STDIN (FORMAT binary)");
    let mut copy = tx.copy_in_raw(&sql).await.expect("copy in");
    for chunk in rows {
        copy.send(chunk.clone()).await.expect("send");
    }
    copy.finish().await.expect("finish");
    tx.commit().await.expect("commit");
    secs(start.elapsed())
}

/// Reading the whole global log from position 0 in pages of 10,000 decoded events — through
/// `read_all_pages` (the next page fetched while this one decodes) and through a `read_all`
/// loop — vs `COPY (SELECT …) TO STDOUT` of the same rows (raw bytes).
pub(crate) async fn catch_up(bench: &Bench<'_>) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (store, pool) = bench.fresh("fintra_bench").await;
    store.bulk_import(&bench.events, |_| {}).await.expect("bulk import");
    sqlx::query("VACUUM ANALYZE fintra_events").execute(&pool).await.expect("vacuum");
    let total = usize::try_from(bench.config.events).expect("fits");
    let (mut pipelined, mut ours, mut limit) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..bench.config.runs {
        let start = Instant::now();
        let mut pages = Box::pin(store.read_all_pages(Position::START, 10_000));
        let mut seen = 0usize;
        while let Some(page) = pages.next().await {
            seen += page.expect("read_all_pages").len();
        }
        assert_eq!(seen, total, "read_all_pages returned every event");
        pipelined.push(secs(start.elapsed()));

        let start = Instant::now();
        let mut after = Position::START;
        let mut seen = 0usize;
        while seen < total {
            let page = store.read_all(after, 10_000).await.expect("read_all");
            let Some(last) = page.last() else { continue };
            after = last.position;
            seen += page.len();
        }
        ours.push(secs(start.elapsed()));

        let mut conn = pool.acquire().await.expect("conn");
        let start = Instant::now();
        let sql = format!(
            "COPY (SELECT {COLUMNS}, recorded_at FROM fintra_events ORDER BY position) TO STDOUT (FORMAT binary)"
        );
        let mut out = conn.copy_out_raw(&sql).await.expect("copy out");
        let mut bytes = 0usize;
        while let Some(chunk) = out.next().await {
            bytes += chunk.expect("chunk").len();
        }
        assert!(bytes > total, "COPY returned the rows");
        limit.push(secs(start.elapsed()));
    }
    (pipelined, ours, limit)
}

/// Commands: load a bank account, decide a deposit, append one event; 8 concurrent tasks over
/// `streams` accounts opened beforehand. Returns commands per second per run.
pub(crate) async fn commands(bench: &Bench<'_>) -> Vec<f64> {
    let mut samples = Vec::new();
    for run in 0..bench.config.runs {
        let (store, _pool) = bench.fresh("fintra_bench_cmd").await;
        let repo = Arc::new(Repository::<BankAccount, _>::new(store.clone()));
        let streams: Vec<StreamId> = (0..bench.config.streams)
            .map(|i| repo.stream_id(uuid::Uuid::from_u128(u128::from(i) + 1)).expect("stream"))
            .collect();
        let opened: Vec<(StreamId, fintra_core::NewEvent)> = streams
            .iter()
            .map(|s| {
                let open =
                    Event::Opened { owner: "bench".into(), balance: Money::zero(Asset::GBP) };
                let mut encoded = repo
                    .encode(&[open], chrono::DateTime::UNIX_EPOCH, &EventMetadata::default())
                    .expect("encode");
                (s.clone(), encoded.remove(0))
            })
            .collect();
        store.bulk_import(&opened, |_| {}).await.expect("open accounts");
        let per_task = bench.config.commands / 8;
        let streams = Arc::new(streams);
        let start = Instant::now();
        let tasks: Vec<_> = (0..8u64)
            .map(|t| {
                let (repo, streams) = (Arc::clone(&repo), Arc::clone(&streams));
                tokio::spawn(async move {
                    let mut rng = SimRng::new(t * 1_000 + u64::try_from(run).unwrap_or(0));
                    let deposit = Command::Deposit { amount: Money::new(100, Asset::GBP) };
                    for _ in 0..per_task {
                        let s =
                            &streams[usize::try_from(rng.below(streams.len() as u64)).unwrap_or(0)];
                        repo.execute(s, &deposit, &EventMetadata::default())
                            .await
                            .expect("command");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        let elapsed = secs(start.elapsed());
        samples.push((per_task * 8) as f64 / elapsed);
    }
    samples
}
