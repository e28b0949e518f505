//! Projection benchmarks (a macro harness that prints a table):
//!
//! 1. catch-up from position 0 into a PostgreSQL read model (per-stream summary, one set-based
//!    upsert per page, checkpoint in the same transaction) vs the raw limit in the same run: the
//!    same rows written by batched `INSERT … ON CONFLICT` with no log reading and no checkpoint;
//! 2. catch-up into Redis views (version-guarded `EVALSHA` per event, pipelined per page) vs
//!    pipelined plain `SET`s of the same documents;
//! 3. end-to-end latency from an append returning to the view being readable in Redis, with a
//!    live runner woken by `NOTIFY` (p50, p99).
//!
//! `cargo bench -p benches --bench projections` with PostgreSQL and Redis up (FINTRA_DATABASE_URL,
//! FINTRA_REDIS_URL). Sizes: `FINTRA_PROJ_EVENTS` (default 200,000 over 2,000 streams),
//! `FINTRA_PROJ_RUNS` (default 3), `FINTRA_PROJ_LATENCY_SAMPLES` (default 300).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use benches::{env, median};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fintra_core::{
    ContentType, EventMetadata, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
};
use fintra_projections::{
    PgProjection, PgSink, ProjectionError, ProjectionRunner, RedisProjection, RedisSink,
    RedisViews, RunnerOptions,
};
use fintra_store_postgres::PgEventStore;
use fintra_store_postgres::testing::TestSchema;
use sqlx::PgConnection;

/// The `per_mille`-th sample of a sorted list (nearest rank).
fn percentile(sorted: &[Duration], per_mille: usize) -> Duration {
    let index = (sorted.len().saturating_sub(1) * per_mille).div_ceil(1000);
    sorted[index.min(sorted.len() - 1)]
}

struct Summary;

/// (stream, version, last type, count in page, last position) per stream of a page.
fn collapse(events: &[RecordedEvent]) -> Vec<(String, i64, String, i64, i64)> {
    let mut by_stream: BTreeMap<&str, (i64, &str, i64, i64)> = BTreeMap::new();
    for e in events {
        let entry = by_stream.entry(e.stream_id.as_str()).or_insert((0, "", 0, 0));
        *entry = (
            i64::try_from(e.stream_version.get()).unwrap(),
            e.event_type.as_str(),
            entry.2 + 1,
            i64::try_from(e.position.0).unwrap(),
        );
    }
    by_stream.into_iter().map(|(s, (v, t, n, p))| (s.to_owned(), v, t.to_owned(), n, p)).collect()
}

async fn upsert_rows(
    conn: &mut PgConnection,
    table: &str,
    rows: &[(String, i64, String, i64, i64)],
) -> Result<(), sqlx::Error> {
    let streams: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let versions: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let types: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let counts: Vec<i64> = rows.iter().map(|r| r.3).collect();
    let positions: Vec<i64> = rows.iter().map(|r| r.4).collect();
    sqlx::query(&format!(
        "INSERT INTO {table} (stream_id, version, last_type, events, last_position)
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
         ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, last_type = EXCLUDED.last_type,
         events = {table}.events + EXCLUDED.events, last_position = EXCLUDED.last_position"
    ))
    .bind(streams)
    .bind(versions)
    .bind(types)
    .bind(counts)
    .bind(positions)
    .execute(conn)
    .await?;
    Ok(())
}

const DDL: &str = "(stream_id text PRIMARY KEY, version bigint NOT NULL, last_type text NOT NULL, events bigint NOT NULL, last_position bigint NOT NULL)";

#[async_trait]
impl PgProjection for Summary {
    fn name(&self) -> &str {
        "bench_summary"
    }
    fn version(&self) -> u32 {
        1
    }
    fn handles(&self, _: &str) -> bool {
        true
    }
    fn create_table(&self, table: &str) -> String {
        format!("CREATE TABLE IF NOT EXISTS {table} {DDL}")
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        e: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        self.apply_batch(conn, table, std::slice::from_ref(e)).await
    }
    async fn forget(
        &self,
        conn: &mut PgConnection,
        table: &str,
        subject: &str,
    ) -> Result<(), ProjectionError> {
        sqlx::query(&format!("DELETE FROM {table} WHERE stream_id = $1"))
            .bind(subject)
            .execute(&mut *conn)
            .await
            .map(|_| ())
            .map_err(|e| ProjectionError::sink("postgres", e))
    }
    async fn apply_batch(
        &self,
        conn: &mut PgConnection,
        table: &str,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        upsert_rows(conn, table, &collapse(events))
            .await
            .map_err(|e| ProjectionError::sink("postgres", e))
    }
}

struct View;

fn document(e: &RecordedEvent) -> String {
    format!(
        "{{\"stream\":\"{}\",\"version\":{},\"last\":\"{}\"}}",
        e.stream_id.as_str(),
        e.stream_version.get(),
        e.event_type
    )
}

#[async_trait]
impl RedisProjection for View {
    fn name(&self) -> &str {
        "bench_views"
    }
    fn version(&self) -> u32 {
        1
    }
    fn handles(&self, _: &str) -> bool {
        true
    }
    async fn views(&self, e: &RecordedEvent) -> Result<Vec<(String, String)>, ProjectionError> {
        Ok(vec![(e.stream_id.as_str().to_owned(), document(e))])
    }
}

fn new_event(n: u64) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::from_u128(u128::from(n) + 1),
        event_type: "Happened".to_owned(),
        schema_version: 1,
        occurred_at: chrono::DateTime::UNIX_EPOCH,
        metadata: EventMetadata::default(),
        content_type: ContentType::json(),
        payload: format!("{{\"n\":{n}}}").into_bytes().into(),
    }
}

async fn read_everything(
    store: &fintra_store_postgres::PgEventStore,
    expected: usize,
) -> Vec<RecordedEvent> {
    fintra_core::testing::conformance::read_entire_log(store, 10_000, expected).await
}

fn main() {
    let events = env("FINTRA_PROJ_EVENTS", 200_000);
    let runs = env("FINTRA_PROJ_RUNS", 3);
    let samples = env("FINTRA_PROJ_LATENCY_SAMPLES", 300);
    let streams = 2_000u64;
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let schema = TestSchema::new().await;
        let store = schema.store();
        let batch: Vec<(StreamId, NewEvent)> = (0..events)
            .map(|n| (StreamId::new(format!("bench-{}", n % streams)).unwrap(), new_event(n)))
            .collect();
        store.bulk_import(&batch, |_| {}).await.unwrap();
        let log = read_everything(&store, usize::try_from(events).unwrap()).await;
        let redis_url =
            std::env::var("FINTRA_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let redis = redis::Client::open(redis_url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        catch_up_table(&schema, &store, &log, &redis, runs).await;
        live_latency(&store, &redis, samples).await;
    });
}

/// Catch-up into PostgreSQL and Redis through the runner, against the raw limit of each sink in
/// the same run (batched upserts; pipelined SETs).
async fn catch_up_table(
    schema: &TestSchema,
    store: &PgEventStore,
    log: &[RecordedEvent],
    redis: &redis::aio::MultiplexedConnection,
    runs: u64,
) {
    let (events, streams) = (log.len(), 2_000u64);
    let options = RunnerOptions { page_size: 5_000, queue_depth: 4, ..RunnerOptions::default() };
    let (mut pg, mut pg_raw, mut rd, mut rd_raw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        // PostgreSQL catch-up through the runner.
        sqlx::raw_sql(
            "DROP TABLE IF EXISTS bench_summary_v1; DELETE FROM fintra_projection_checkpoints",
        )
        .execute(&schema.pool)
        .await
        .ok();
        let mut sink = PgSink::new(schema.pool.clone(), Summary).await.unwrap();
        let runner = ProjectionRunner::new(Arc::new(store.clone()), options.clone());
        let started = Instant::now();
        let report = runner.catch_up(&mut sink).await.unwrap();
        pg.push(report.read as f64 / started.elapsed().as_secs_f64());
        // The raw limit: the same rows, batched upserts, no log read, no checkpoint.
        sqlx::raw_sql(&format!("DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw {DDL}"))
            .execute(&schema.pool)
            .await
            .unwrap();
        let started = Instant::now();
        for page in log.chunks(5_000) {
            let mut tx = schema.pool.begin().await.unwrap();
            upsert_rows(&mut tx, "bench_raw", &collapse(page)).await.unwrap();
            tx.commit().await.unwrap();
        }
        pg_raw.push(log.len() as f64 / started.elapsed().as_secs_f64());

        // Redis catch-up through the runner.
        let prefix = format!("fintra_bench_{}_{run}", std::process::id());
        let mut sink = RedisSink::new(redis.clone(), &prefix, View).await.unwrap();
        let started = Instant::now();
        let report = runner.catch_up(&mut sink).await.unwrap();
        rd.push(report.read as f64 / started.elapsed().as_secs_f64());
        sink.drop_version().await.unwrap();
        // The raw limit: pipelined SETs of the same documents.
        let mut conn = redis.clone();
        let started = Instant::now();
        for page in log.chunks(5_000) {
            let mut pipe = redis::pipe();
            for e in page {
                pipe.cmd("SET")
                    .arg(format!("{prefix}:raw:{}", e.stream_id.as_str()))
                    .arg(document(e))
                    .ignore();
            }
            pipe.query_async::<()>(&mut conn).await.unwrap();
        }
        rd_raw.push(log.len() as f64 / started.elapsed().as_secs_f64());
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{prefix}:raw:*")).query_async(&mut conn).await.unwrap();
        if !keys.is_empty() {
            redis::cmd("UNLINK").arg(&keys).query_async::<()>(&mut conn).await.unwrap();
        }
    }
    let ratio = |a: &[f64], b: &[f64]| median(a.to_vec()) / median(b.to_vec());
    println!(
        "| workload ({events} events, {streams} streams, median of {runs}) | events/s | raw limit, same run | ratio |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| catch-up into PostgreSQL | {:.0} | {:.0} | {:.2}× |",
        median(pg.clone()),
        median(pg_raw.clone()),
        ratio(&pg, &pg_raw)
    );
    println!(
        "| catch-up into Redis | {:.0} | {:.0} | {:.2}× |",
        median(rd.clone()),
        median(rd_raw.clone()),
        ratio(&rd, &rd_raw)
    );
}

/// End-to-end latency: append → view readable in Redis, through a live runner woken by NOTIFY.
async fn live_latency(
    store: &PgEventStore,
    redis: &redis::aio::MultiplexedConnection,
    samples: u64,
) {
    // End-to-end latency: append → view readable in Redis.
    let prefix = format!("fintra_bench_live_{}", std::process::id());
    let mut sink = RedisSink::new(redis.clone(), &prefix, View).await.unwrap();
    let runner = ProjectionRunner::new(
        Arc::new(store.clone()),
        RunnerOptions {
            page_size: 1_000,
            queue_depth: 4,
            poll_interval: Duration::from_millis(100),
            ..RunnerOptions::default()
        },
    );
    runner.catch_up(&mut sink).await.unwrap();
    sink.activate().await.unwrap();
    let wake = store.listen().await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let live = tokio::spawn(async move {
        runner
            .run(&mut sink, Some(Box::new(wake)), async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        sink
    });
    let views = RedisViews::new(redis.clone(), &prefix);
    let mut latencies = Vec::new();
    for k in 0..samples {
        let stream = StreamId::new(format!("live-{k}")).unwrap();
        let started = Instant::now();
        let appended = store
            .append(&stream, ExpectedVersion::NoStream, &[new_event(10_000_000 + k)])
            .await
            .unwrap();
        loop {
            if let Some((position, _)) = views.get("bench_views", stream.as_str()).await.unwrap()
                && position >= appended.last_position
            {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(()).unwrap();
    let sink = live.await.unwrap();
    sink.drop_version().await.unwrap();
    latencies.sort();
    println!(
        "| append → Redis view readable ({samples} appends, live runner woken by NOTIFY) | p50 {:.1} ms | p99 {:.1} ms | max {:.1} ms |",
        percentile(&latencies, 500).as_secs_f64() * 1000.0,
        percentile(&latencies, 990).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0
    );
}
