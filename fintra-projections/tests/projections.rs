//! Projections on the real services: PostgreSQL read models and Redis views survive a runner
//! killed mid-batch (the result equals a rebuild from scratch), poison events stop or park,
//! blue-green rebuilds switch atomically, live runs follow the log, inline projections commit
//! with the write.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use fintra_core::testing::conformance::{event, read_entire_log, stream};
use fintra_core::{EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent};
use fintra_projections::{
    MemoryProjection, MemorySink, PgProjection, PgSink, PoisonPolicy, ProjectionError,
    ProjectionRunner, RedisProjection, RedisSink, RedisViews, RunnerOptions, Sink,
};
use fintra_store_postgres::PgEventStore;
use fintra_store_postgres::testing::TestSchema;
use sqlx::PgConnection;

/// Per stream: its version, last event type, event count and last position.
#[derive(Debug)]
struct StreamSummary {
    version: u32,
    delay: Duration,
}

#[async_trait]
impl PgProjection for StreamSummary {
    fn name(&self) -> &str {
        "stream_summary"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn handles(&self, event_type: &str) -> bool {
        event_type != "Ignored"
    }
    fn create_table(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (stream_id text PRIMARY KEY, version bigint NOT NULL,
             last_type text NOT NULL, events bigint NOT NULL, last_position bigint NOT NULL)"
        )
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
            .map_err(|err| ProjectionError::sink("postgres", err))?;
        Ok(())
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        e: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if e.event_type == "Poison" {
            return Err(ProjectionError::refused("poison payload"));
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        sqlx::query(&format!(
            "INSERT INTO {table} (stream_id, version, last_type, events, last_position) VALUES ($1, $2, $3, 1, $4)
             ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, last_type = EXCLUDED.last_type,
             events = {table}.events + 1, last_position = EXCLUDED.last_position"
        ))
        .bind(e.stream_id.as_str())
        .bind(i64::try_from(e.stream_version.get()).unwrap())
        .bind(&e.event_type)
        .bind(i64::try_from(e.position.0).unwrap())
        .execute(&mut *conn)
        .await
        .map_err(|err| ProjectionError::sink("postgres", err))?;
        Ok(())
    }
}

fn typed(n: u64, event_type: &str) -> NewEvent {
    NewEvent { event_type: event_type.to_owned(), ..event(n) }
}

/// `streams` streams × `per_stream` events, some of a type the projections ignore.
async fn fill(store: &impl EventStore, streams: u64, per_stream: u64) {
    for s in 0..streams {
        let batch: Vec<NewEvent> = (0..per_stream)
            .map(|k| typed(s * 10_000 + k, if k % 7 == 3 { "Ignored" } else { "Happened" }))
            .collect();
        store.append(&stream(&format!("s{s}")), ExpectedVersion::Any, &batch).await.unwrap();
    }
}

async fn table_hash(pool: &sqlx::PgPool, table: &str) -> String {
    sqlx::query_scalar(&format!(
        "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY stream_id), '')) FROM {table} t"
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}

fn runner(
    store: &PgEventStore,
    page_size: usize,
    on_poison: PoisonPolicy,
) -> ProjectionRunner<PgEventStore> {
    ProjectionRunner::new(
        Arc::new(store.clone()),
        RunnerOptions {
            page_size,
            queue_depth: 2,
            poll_interval: Duration::from_millis(50),
            on_poison,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_read_model_killed_mid_batch_equals_a_rebuild() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    fill(&store, 40, 50).await;
    let slow = StreamSummary { version: 1, delay: Duration::from_millis(1) };
    let mut sink = PgSink::new(schema.pool.clone(), slow).await.unwrap();
    // Kill the runner while a batch of 100 is inside its transaction.
    let task_store = store.clone();
    let task = tokio::spawn(async move {
        let result = runner(&task_store, 100, PoisonPolicy::Stop).catch_up(&mut sink).await;
        (result, sink)
    });
    // Wait for the first committed batch, then kill it inside the next one.
    for _ in 0..600 {
        let committed: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM fintra_projection_checkpoints WHERE name = 'stream_summary@v1'",
        )
        .fetch_optional(&schema.pool)
        .await
        .unwrap();
        if committed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled(), "killed before finishing");
    let mut restarted =
        PgSink::new(schema.pool.clone(), StreamSummary { version: 1, delay: Duration::ZERO })
            .await
            .unwrap();
    let killed_at = restarted.checkpoint().await.unwrap();
    assert!(killed_at > Position::START, "some batches committed before the kill");
    runner(&store, 100, PoisonPolicy::Stop).catch_up(&mut restarted).await.unwrap();
    let mut rebuild =
        PgSink::new(schema.pool.clone(), StreamSummary { version: 2, delay: Duration::ZERO })
            .await
            .unwrap();
    let report = runner(&store, 100, PoisonPolicy::Stop).catch_up(&mut rebuild).await.unwrap();
    assert_eq!(report.read, 2_000);
    let (resumed, rebuilt) = (
        table_hash(&schema.pool, "stream_summary_v1").await,
        table_hash(&schema.pool, "stream_summary_v2").await,
    );
    assert_eq!(resumed, rebuilt, "resumed read model = full rebuild, byte for byte");
    let events: i64 = sqlx::query_scalar("SELECT sum(events)::bigint FROM stream_summary_v1")
        .fetch_one(&schema.pool)
        .await
        .unwrap();
    assert_eq!(events, 2_000 - 40 * 7, "ignored event types only move the checkpoint");
}

fn redis_url() -> String {
    std::env::var("FINTRA_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn redis() -> redis::aio::MultiplexedConnection {
    let url = redis_url();
    let client =
        redis::Client::open(url.as_str()).unwrap_or_else(|e| panic!("FINTRA_REDIS_URL {url}: {e}"));
    tokio::time::timeout(Duration::from_secs(10), client.get_multiplexed_async_connection())
        .await
        .unwrap_or_else(|_| {
            panic!("Redis at {url} did not answer in 10 s: start it (scripts/test.sh does)")
        })
        .unwrap_or_else(|e| {
            panic!("Redis at {url} is unreachable ({e}): start it (scripts/test.sh does)")
        })
}

fn prefix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("fintra_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

struct StreamView {
    version: u32,
}

#[async_trait]
impl RedisProjection for StreamView {
    fn name(&self) -> &str {
        "streams"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn handles(&self, event_type: &str) -> bool {
        event_type != "Ignored"
    }
    async fn views(&self, e: &RecordedEvent) -> Result<Vec<(String, String)>, ProjectionError> {
        if e.event_type == "Poison" {
            return Err(ProjectionError::refused("poison payload"));
        }
        let json = serde_json::json!({"stream": e.stream_id.as_str(), "version": e.stream_version.get(), "last": e.event_type});
        Ok(vec![(e.stream_id.as_str().to_owned(), json.to_string())])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_views_killed_mid_run_equal_a_rebuild_and_never_go_backwards() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    fill(&store, 60, 40).await;
    let prefix = prefix();
    let conn = redis().await;
    let mut sink = RedisSink::new(conn.clone(), &prefix, StreamView { version: 1 }).await.unwrap();
    let killer_store = store.clone();
    let task = tokio::spawn(async move {
        let _ = runner(&killer_store, 20, PoisonPolicy::Stop).catch_up(&mut sink).await;
    });
    tokio::time::sleep(Duration::from_millis(40)).await;
    task.abort();
    let _ = task.await;
    let mut resumed =
        RedisSink::new(conn.clone(), &prefix, StreamView { version: 1 }).await.unwrap();
    runner(&store, 20, PoisonPolicy::Stop).catch_up(&mut resumed).await.unwrap();
    let mut rebuild =
        RedisSink::new(conn.clone(), &prefix, StreamView { version: 2 }).await.unwrap();
    runner(&store, 500, PoisonPolicy::Stop).catch_up(&mut rebuild).await.unwrap();
    let views = RedisViews::new(conn.clone(), &prefix);
    let strip = |rows: Vec<(String, String, String)>| -> Vec<(String, String, String)> {
        rows.into_iter()
            .map(|(k, p, j)| (k.rsplit(":view:").next().unwrap().to_owned(), p, j))
            .collect()
    };
    let (v1, v2) = (
        strip(views.dump("streams", 1).await.unwrap()),
        strip(views.dump("streams", 2).await.unwrap()),
    );
    assert_eq!(v1.len(), 60);
    assert_eq!(v1, v2, "resumed views = full rebuild");
    // Readers go through the active version.
    assert_eq!(views.get("streams", "conformance-s7").await.unwrap(), None, "nothing active yet");
    rebuild.activate().await.unwrap();
    let (_, json) = views.get("streams", "conformance-s7").await.unwrap().unwrap();
    assert!(json.contains("\"version\":40"), "{json}");
    // Replaying from position 0 into the same version changes nothing: older writes lose.
    let mut replay =
        RedisSink::new(conn.clone(), &prefix, StreamView { version: 1 }).await.unwrap();
    let first_page = store.read_all(Position::START, 100).await.unwrap();
    replay.apply(&first_page, first_page.last().unwrap().position).await.unwrap();
    assert_eq!(
        strip(views.dump("streams", 1).await.unwrap()),
        v2,
        "a replayed older event never overwrites a newer view"
    );
    replay.drop_version().await.unwrap();
    rebuild.drop_version().await.unwrap();
}

/// A Redis sink fenced by a lease: a page the old owner writes before a newer owner claims the
/// version is in the checkpoint the newer owner reads; after the claim the old owner's pages are
/// refused whole, and its claim too. The fenced views end equal to an unfenced rebuild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_redis_sink_refuses_a_stale_owner_whole() {
    use fintra_projections::lease::{LeaseOptions, PgLeases};
    let schema = TestSchema::new().await;
    let store = schema.store();
    fill(&store, 10, 20).await;
    let log: Vec<RecordedEvent> = read_entire_log(&store, 1_000, 200)
        .await
        .into_iter()
        .filter(|e| e.event_type != "Ignored")
        .collect();
    let (prefix, conn) = (prefix(), redis().await);
    let views = RedisViews::new(conn.clone(), &prefix);
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions::default()).await.unwrap();
    let sink = || RedisSink::new(conn.clone(), &prefix, StreamView { version: 1 });
    let a = leases.try_acquire("streams@v1", "a").await.unwrap().unwrap();
    let mut stale = sink().await.unwrap().with_lease(a.clone());
    assert_eq!(stale.checkpoint().await.unwrap(), Position::START);
    stale.apply(&log[..50], log[49].position).await.unwrap();
    // Another process takes over and claims the version by loading its checkpoint.
    leases.release(&a).await.unwrap();
    let b = leases.try_acquire("streams@v1", "b").await.unwrap().unwrap();
    assert!(b.epoch > a.epoch);
    let mut owner = sink().await.unwrap().with_lease(b);
    assert_eq!(owner.checkpoint().await.unwrap(), log[49].position, "the page before the claim");
    let before = views.dump("streams", 1).await.unwrap();
    let refused = stale.apply(&log[50..120], log[119].position).await;
    assert!(
        matches!(refused, Err(ProjectionError::Fenced { epoch, .. }) if epoch == a.epoch),
        "{refused:?}"
    );
    assert_eq!(views.dump("streams", 1).await.unwrap(), before, "nothing of the page landed");
    assert_eq!(owner.checkpoint().await.unwrap(), log[49].position);
    let reclaim = stale.checkpoint().await;
    assert!(matches!(reclaim, Err(ProjectionError::Fenced { .. })), "{reclaim:?}");
    // The owner finishes; the views equal an unfenced rebuild.
    runner(&store, 30, PoisonPolicy::Stop).catch_up(&mut owner).await.unwrap();
    let mut rebuild =
        RedisSink::new(conn.clone(), &prefix, StreamView { version: 2 }).await.unwrap();
    runner(&store, 500, PoisonPolicy::Stop).catch_up(&mut rebuild).await.unwrap();
    let strip = |rows: Vec<(String, String, String)>| -> Vec<(String, String, String)> {
        rows.into_iter()
            .map(|(k, p, j)| (k.rsplit(":view:").next().unwrap().to_owned(), p, j))
            .collect()
    };
    assert_eq!(
        strip(views.dump("streams", 1).await.unwrap()),
        strip(views.dump("streams", 2).await.unwrap())
    );
    owner.drop_version().await.unwrap();
    rebuild.drop_version().await.unwrap();
}

#[tokio::test]
async fn a_poison_event_stops_the_runner_naming_it_or_is_parked() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    store
        .append(&stream("p"), ExpectedVersion::Any, &[typed(1, "Happened"), typed(2, "Happened")])
        .await
        .unwrap();
    store.append(&stream("p"), ExpectedVersion::Any, &[typed(3, "Poison")]).await.unwrap();
    store.append(&stream("p"), ExpectedVersion::Any, &[typed(4, "Happened")]).await.unwrap();
    let log = read_entire_log(&store, 10, 4).await;
    let poison = &log[2];
    let mut sink =
        PgSink::new(schema.pool.clone(), StreamSummary { version: 1, delay: Duration::ZERO })
            .await
            .unwrap();
    let error = runner(&store, 100, PoisonPolicy::Stop).catch_up(&mut sink).await.unwrap_err();
    match error {
        ProjectionError::Poison { position, event_id, event_type, projection, .. } => {
            assert_eq!(
                (position, event_id, event_type.as_str()),
                (poison.position, poison.event_id, "Poison")
            );
            assert_eq!(projection, "stream_summary@v1");
        }
        other => panic!("expected a poison error, got {other}"),
    }
    assert_eq!(
        sink.checkpoint().await.unwrap(),
        log[1].position,
        "stopped just before it, nothing skipped"
    );
    // Other tests of this binary run concurrently: while one of their transactions is open, the
    // gap-safe read may not yet return the tail of the log ("nothing more for now"). Catch-up is
    // retried until the events are visible; it must never move past the poison meanwhile.
    let mut stopped = false;
    for _ in 0..200 {
        match runner(&store, 100, PoisonPolicy::Stop).catch_up(&mut sink).await {
            Err(ProjectionError::Poison { position, .. }) => {
                assert_eq!(position, poison.position);
                stopped = true;
                break;
            }
            Ok(report) => assert!(report.checkpoint <= log[1].position, "skipped the poison"),
            Err(other) => panic!("unexpected error {other}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stopped, "a restart stops on it again");
    let mut parked_count = 0;
    for _ in 0..200 {
        let report = runner(&store, 100, PoisonPolicy::Park).catch_up(&mut sink).await.unwrap();
        parked_count += report.parked;
        if report.checkpoint == log[3].position {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!((parked_count, sink.checkpoint().await.unwrap()), (1, log[3].position));
    let parked = sink.parked().await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!((parked[0].position, parked[0].event_type.as_str()), (poison.position, "Poison"));
    assert_eq!(parked[0].event_id, poison.event_id);
    assert!(parked[0].reason.contains("poison payload"), "{:?}", parked[0].reason);
    let events: i64 = sqlx::query_scalar("SELECT events FROM stream_summary_v1")
        .fetch_one(&schema.pool)
        .await
        .unwrap();
    assert_eq!(events, 3);
}

#[tokio::test]
async fn a_blue_green_rebuild_switches_readers_atomically() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    fill(&store, 5, 10).await;
    let mut blue =
        PgSink::new(schema.pool.clone(), StreamSummary { version: 1, delay: Duration::ZERO })
            .await
            .unwrap();
    runner(&store, 100, PoisonPolicy::Stop).catch_up(&mut blue).await.unwrap();
    blue.activate().await.unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM stream_summary")
            .fetch_one(&schema.pool)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 5);
    // Green builds alongside; readers still see blue, complete.
    fill(&store, 8, 3).await; // streams s0..s7 grow, s5..s7 are new
    let mut green =
        PgSink::new(schema.pool.clone(), StreamSummary { version: 2, delay: Duration::ZERO })
            .await
            .unwrap();
    runner(&store, 7, PoisonPolicy::Stop).catch_up(&mut green).await.unwrap();
    assert_eq!(count().await, 5, "readers saw the old version while the new one was built");
    green.activate().await.unwrap();
    assert_eq!(count().await, 8);
    assert_eq!(green.retire_other_versions().await.unwrap(), 1);
    let blue_left: i64 = sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'stream_summary_v1'")
        .fetch_one(&schema.pool)
        .await
        .unwrap();
    assert_eq!(blue_left, 0);
    assert!(blue.retire_other_versions().await.is_err(), "only the active version retires others");
}

#[derive(Default)]
struct Counter {
    seen: Vec<Position>,
}

impl MemoryProjection for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    fn handles(&self, event_type: &str) -> bool {
        event_type == "Happened"
    }
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        self.seen.push(event.position);
        Ok(())
    }
    fn forget(&mut self, _subject: &str) {
        // Positions are not personal data: nothing to delete.
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_runners_follow_the_log_concurrently_and_stop_gracefully() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    fill(&store, 3, 5).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (stop_pg_tx, stop_pg_rx) = tokio::sync::oneshot::channel::<()>();
    let memory_store = store.clone();
    let memory = tokio::spawn(async move {
        let mut sink = MemorySink::new(Counter::default());
        let wake = memory_store.listen().await.unwrap();
        let report = runner(&memory_store, 100, PoisonPolicy::Stop)
            .run(&mut sink, Some(Box::new(wake)), async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        (report, sink)
    });
    let pg_store = store.clone();
    let pool = schema.pool.clone();
    let pg = tokio::spawn(async move {
        let mut sink =
            PgSink::new(pool, StreamSummary { version: 1, delay: Duration::ZERO }).await.unwrap();
        runner(&pg_store, 100, PoisonPolicy::Stop)
            .run(&mut sink, None, async {
                let _ = stop_pg_rx.await;
            })
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    store
        .append(&stream("late"), ExpectedVersion::NoStream, &[typed(99_999, "Happened")])
        .await
        .unwrap();
    let latest = read_entire_log(&store, 100, 16).await.last().unwrap().position;
    // Both follow it: wait until the PostgreSQL read model has the late stream.
    let mut seen = false;
    for _ in 0..100 {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM stream_summary_v1 WHERE stream_id = 'conformance-late'",
        )
        .fetch_one(&schema.pool)
        .await
        .unwrap();
        if n == 1 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the live PostgreSQL projection picked up the new event");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(()).unwrap();
    stop_pg_tx.send(()).unwrap();
    let (report, sink) = memory.await.unwrap();
    assert_eq!(
        report.checkpoint, latest,
        "the memory projection followed too, on its own checkpoint"
    );
    assert_eq!(sink.projection.seen.len(), 3 * 4 + 1);
    assert_eq!(pg.await.unwrap().checkpoint, latest);
}

#[tokio::test]
async fn an_inline_projection_commits_or_rolls_back_with_the_append() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let projection = StreamSummary { version: 1, delay: Duration::ZERO };
    PgSink::new(schema.pool.clone(), StreamSummary { version: 1, delay: Duration::ZERO })
        .await
        .unwrap();
    let mut tx = schema.pool.begin().await.unwrap();
    fintra_projections::append_inline(
        &store,
        &mut tx,
        &projection,
        &stream("inline"),
        ExpectedVersion::NoStream,
        &[typed(1, "Happened"), typed(2, "Happened")],
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM stream_summary_v1")
        .fetch_one(&schema.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM fintra_events")
        .fetch_one(&schema.pool)
        .await
        .unwrap();
    assert_eq!(events, 0, "the events rolled back with the read model");
    let mut tx = schema.pool.begin().await.unwrap();
    fintra_projections::append_inline(
        &store,
        &mut tx,
        &projection,
        &stream("inline"),
        ExpectedVersion::NoStream,
        &[typed(1, "Happened"), typed(2, "Happened")],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (version, position): (i64, i64) =
        sqlx::query_as("SELECT version, last_position FROM stream_summary_v1")
            .fetch_one(&schema.pool)
            .await
            .unwrap();
    let log = read_entire_log(&store, 10, 2).await;
    assert_eq!(version, 2);
    assert_eq!(
        u64::try_from(position).unwrap(),
        log[1].position.0,
        "inline positions match the log"
    );
}

/// Regression test: a retried inline append projected its events twice.
///
/// Symptom: `append_inline` retried after a lost reply (the append had committed) applied the
/// inline projection a second time, so a counter in the read model went from 2 to 4.
/// Cause: `AppendResult` could not say "this was a replay".
/// Fix: `AppendResult::replayed`; `append_inline` skips the projection for a replay.
#[tokio::test]
async fn retried_inline_append_is_not_projected_twice() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let projection = StreamSummary { version: 1, delay: Duration::ZERO };
    PgSink::new(schema.pool.clone(), StreamSummary { version: 1, delay: Duration::ZERO })
        .await
        .unwrap();
    let batch = [typed(1, "Happened"), typed(2, "Happened")];
    for attempt in 0..2 {
        let mut tx = store.begin().await.unwrap();
        let appended = fintra_projections::append_inline(
            &store,
            &mut tx,
            &projection,
            &stream("retried"),
            ExpectedVersion::NoStream,
            &batch,
        )
        .await
        .unwrap();
        assert_eq!(appended.replayed, attempt == 1);
        tx.commit().await.unwrap();
    }
    let events: i64 = sqlx::query_scalar("SELECT events FROM stream_summary_v1")
        .fetch_one(&schema.pool)
        .await
        .unwrap();
    assert_eq!(events, 2, "each event projected once");
}

/// Regression test: three checkpoint readers treated a corrupted checkpoint three ways.
///
/// Symptom: a negative checkpoint in PostgreSQL, or an unreadable one in Redis, made the sink
/// start over from the beginning of the log (replaying every event into its read model) while
/// the warm store's rollups reported the same corruption as an error.
/// Cause: each reader parsed the stored position itself.
/// Fix: one rule (`Position::from_stored`) for every reader: corrupted is `Corrupted`.
#[tokio::test]
async fn corrupted_checkpoint_is_an_error_not_a_replay_from_the_start() {
    let schema = TestSchema::new().await;
    let mut sink =
        PgSink::new(schema.pool.clone(), StreamSummary { version: 1, delay: Duration::ZERO })
            .await
            .unwrap();
    sqlx::query("INSERT INTO fintra_projection_checkpoints (name, position) VALUES ($1, -5)")
        .bind(sink.name())
        .execute(&schema.pool)
        .await
        .unwrap();
    let pg = sink.checkpoint().await;
    assert!(
        matches!(pg, Err(ProjectionError::Store(fintra_core::Error::Corrupted { .. }))),
        "{pg:?}"
    );

    let mut conn = redis().await;
    let prefix = prefix();
    let mut redis_sink =
        RedisSink::new(conn.clone(), &prefix, StreamView { version: 1 }).await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}:streams:v1:checkpoint"))
        .arg("not-a-position")
        .query_async(&mut conn)
        .await
        .unwrap();
    let cached = redis_sink.checkpoint().await;
    assert!(
        matches!(cached, Err(ProjectionError::Store(fintra_core::Error::Corrupted { .. }))),
        "{cached:?}"
    );
}
