//! Sharded projections across OS processes (a macro harness that prints a table), all in one
//! run against one PostgreSQL:
//!
//! 1. catch-up of one projection over the same log: a single runner (no shards, no lease) vs the
//!    projection split into 8 fenced shards run by 1, 2 and 3 processes (this binary started
//!    again as workers), and 1 process joined by a second a quarter of the way through;
//! 2. takeover after SIGKILL at the default lease settings (10 s time to live): two members hold
//!    the shards of a live projection, one is killed, the time until the survivor owns every
//!    shard (p50, max over the runs);
//! 3. the lease's cost per batch: the fence (one `UPDATE` of the lease row in the batch's
//!    transaction) timed against the same transaction without it.
//!
//! The projection counts events per stream with one upsert per event, so its work is in
//! PostgreSQL. `cargo bench -p benches --bench fleet` with PostgreSQL up. Settings:
//! `FINTRA_FLEET_EVENTS` (default 60,000 over 600 streams), `FINTRA_FLEET_TAKEOVERS` (default 3).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use benches::env;
use fintra_core::{
    ContentType, EventMetadata, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
};
use fintra_projections::fleet::{FleetOptions, run_shards};
use fintra_projections::lease::{LeaseOptions, PgLeases, Shard};
use fintra_projections::{PgProjection, PgSink, ProjectionError, ProjectionRunner, RunnerOptions};
use fintra_store_postgres::{PgEventStore, PgStoreOptions};
use sqlx::PgConnection;

const SHARDS: u32 = 8;

/// Events per stream, one upsert each.
struct Counted {
    version: u32,
}

#[async_trait]
impl PgProjection for Counted {
    fn name(&self) -> &str {
        "fleet_bench"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn handles(&self, _event_type: &str) -> bool {
        true
    }
    fn create_table(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (stream_id text PRIMARY KEY, events bigint NOT NULL)"
        )
    }
    async fn forget(&self, _: &mut PgConnection, _: &str, _: &str) -> Result<(), ProjectionError> {
        Ok(())
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        e: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        sqlx::query(&format!(
            "INSERT INTO {table} VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET events = {table}.events + 1"
        ))
        .bind(e.stream_id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(|err| ProjectionError::sink("postgres", err))?;
        Ok(())
    }
}

fn runner_options() -> RunnerOptions {
    RunnerOptions { poll_interval: Duration::from_millis(50), ..RunnerOptions::default() }
}

fn store_options(schema: &str) -> PgStoreOptions {
    PgStoreOptions {
        schema: Some(schema.to_owned()),
        notify_channel: schema.to_owned(),
        max_connections: 12,
        ..PgStoreOptions::default()
    }
}

async fn connect(schema: &str) -> (PgEventStore, sqlx::PgPool) {
    let options = store_options(schema);
    let url = fintra_store_postgres::testing::database_url();
    let pool =
        options.pool_options().unwrap().connect_lazy_with(options.connect_options(&url).unwrap());
    (PgEventStore::from_pool(pool.clone(), &options).unwrap(), pool)
}

/// Worker mode: one fleet member of `fleet_bench@v<version>` until the parent kills it.
async fn worker() {
    let var = |name: &str| std::env::var(name).unwrap();
    let (store, pool) = connect(&var("FINTRA_FLEET_SCHEMA")).await;
    let version: u32 = var("FINTRA_FLEET_VERSION").parse().unwrap();
    let ttl = Duration::from_millis(var("FINTRA_FLEET_TTL_MS").parse().unwrap());
    let leases = PgLeases::new(pool.clone(), LeaseOptions { ttl }).await.unwrap();
    let options = FleetOptions {
        projection: format!("fleet_bench@v{version}"),
        shards: SHARDS,
        owner: var("FINTRA_FLEET_OWNER"),
        runner: runner_options(),
    };
    let make = |shard: Shard, lease| {
        let pool = pool.clone();
        async move {
            Ok(PgSink::new(pool, Counted { version }).await?.with_shard(shard).with_lease(lease))
        }
    };
    let parent = std::os::unix::process::parent_id();
    let orphaned = async move {
        while std::os::unix::process::parent_id() == parent {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    run_shards(Arc::new(store), &leases, options, make, orphaned).await.unwrap();
}

/// The worker processes of one measurement, killed when it ends.
struct Workers(Vec<std::process::Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_worker(schema: &str, version: u32, owner: &str, ttl: Duration) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .env("FINTRA_FLEET_WORKER", "1")
        .env("FINTRA_FLEET_SCHEMA", schema)
        .env("FINTRA_FLEET_VERSION", version.to_string())
        .env("FINTRA_FLEET_OWNER", owner)
        .env("FINTRA_FLEET_TTL_MS", ttl.as_millis().to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn head(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT coalesce(max(position), 0)::bigint FROM fintra_events")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Waits until every shard of `fleet_bench@v<version>` has a checkpoint at `head`.
async fn caught_up(pool: &sqlx::PgPool, version: u32, head: i64) {
    let projection = format!("fleet_bench@v{version}");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let shards = fintra_projections::fleet::status(pool, &projection).await.unwrap();
        let done = shards.len() == SHARDS as usize
            && shards
                .iter()
                .all(|s| s.checkpoint.is_some_and(|c| i64::try_from(c.0).unwrap() >= head));
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "{projection} did not catch up in 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Catch-up time with `processes` members (the second joining after `join_after`, if given).
async fn sharded(
    schema: &str,
    pool: &sqlx::PgPool,
    version: u32,
    processes: usize,
    join_after: Option<Duration>,
) -> Duration {
    let head = head(pool).await;
    let ttl = Duration::from_secs(1);
    let started = Instant::now();
    let mut workers = Workers(vec![spawn_worker(schema, version, "w0", ttl)]);
    if let Some(delay) = join_after {
        tokio::time::sleep(delay).await;
    }
    for k in 1..processes {
        workers.0.push(spawn_worker(schema, version, &format!("w{k}"), ttl));
    }
    caught_up(pool, version, head).await;
    started.elapsed()
}

async fn write(store: &PgEventStore, events: u64) {
    let streams = (events / 100).max(1);
    for k in 0..events / 100 {
        let batch: Vec<NewEvent> = (0..100)
            .map(|_| NewEvent {
                event_id: fintra_core::IdGenerator::next_id(&fintra_core::UuidV7Generator),
                event_type: "Counted".into(),
                schema_version: 1,
                occurred_at: fintra_core::Clock::now(&fintra_core::SystemClock),
                metadata: EventMetadata::default(),
                content_type: ContentType::json(),
                payload: bytes::Bytes::from_static(b"{}"),
            })
            .collect();
        let stream = StreamId::new(format!("bench-{}", k % streams)).unwrap();
        store.append(&stream, ExpectedVersion::Any, &batch).await.unwrap();
    }
}

/// The fence's cost: `n` transactions with it against `n` without.
async fn fence_cost(pool: &sqlx::PgPool) -> (Duration, Duration) {
    let leases = PgLeases::new(pool.clone(), LeaseOptions::default()).await.unwrap();
    let lease = leases.try_acquire("fence_bench", "me").await.unwrap().unwrap();
    let n = 2_000u32;
    let mut conn = pool.acquire().await.unwrap();
    let plain = Instant::now();
    for _ in 0..n {
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    let plain = plain.elapsed() / n;
    let fenced = Instant::now();
    for _ in 0..n {
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        fintra_projections::lease::fence(&mut tx, &lease).await.unwrap();
        tx.commit().await.unwrap();
    }
    (plain, fenced.elapsed() / n)
}

/// SIGKILL one of two members of a caught-up projection; the time until the survivor owns all.
async fn takeovers(schema: &str, pool: &sqlx::PgPool, version: u32, count: u64) -> Vec<Duration> {
    let ttl = LeaseOptions::default().ttl;
    let projection = format!("fleet_bench@v{version}");
    let mut workers = Workers(vec![spawn_worker(schema, version, "t0", ttl)]);
    let mut times = Vec::new();
    for round in 0..count {
        let fresh = format!("t{}", round + 1);
        workers.0.push(spawn_worker(schema, version, &fresh, ttl));
        // Wait for an even split (4 and 4) between the two live members.
        loop {
            let shards = fintra_projections::fleet::status(pool, &projection).await.unwrap();
            let mine = shards.iter().filter(|s| s.live && s.owner == fresh).count();
            if shards.len() == SHARDS as usize
                && mine == SHARDS as usize / 2
                && shards.iter().all(|s| s.live)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut victim = workers.0.remove(0);
        let killed = Instant::now();
        victim.kill().unwrap();
        victim.wait().unwrap();
        loop {
            let shards = fintra_projections::fleet::status(pool, &projection).await.unwrap();
            if shards.iter().filter(|s| s.live && s.owner == fresh).count() == SHARDS as usize {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        times.push(killed.elapsed());
    }
    times
}

fn main() {
    if std::env::var_os("FINTRA_FLEET_WORKER").is_some() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(worker());
        return;
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let schema = fintra_store_postgres::testing::TestSchema::new().await;
        let (store, pool) = connect(&schema.name).await;
        let events = env("FINTRA_FLEET_EVENTS", 60_000);
        write(&store, events).await;
        // The lease table, before anyone reads the fleet's status.
        PgLeases::new(pool.clone(), LeaseOptions::default()).await.unwrap();
        println!("fleet benchmark: {events} events over {} streams, {SHARDS} shards", (events / 100).max(1));
        let runner = ProjectionRunner::new(Arc::new(store.clone()), runner_options());
        let mut single = PgSink::new(pool.clone(), Counted { version: 1 }).await.unwrap();
        let started = Instant::now();
        runner.catch_up(&mut single).await.unwrap();
        let one = started.elapsed();
        let rate = |d: Duration| events as f64 / d.as_secs_f64();
        println!("\n{:<44} {:>10} {:>12} {:>8}", "catch-up", "seconds", "events/s", "vs one");
        println!("{:<44} {:>10.2} {:>12.0} {:>8.2}", "single runner (no shards, no lease)", one.as_secs_f64(), rate(one), 1.0);
        let mut alone = one;
        for (version, processes) in [(2, 1), (3, 2), (4, 3)] {
            let took = sharded(&schema.name, &pool, version, processes, None).await;
            if processes == 1 {
                alone = took;
            }
            let label = format!("{SHARDS} shards, {processes} process{}", if processes == 1 { "" } else { "es" });
            println!("{label:<44} {:>10.2} {:>12.0} {:>8.2}", took.as_secs_f64(), rate(took), one.as_secs_f64() / took.as_secs_f64());
        }
        let joined = sharded(&schema.name, &pool, 5, 2, Some(alone / 4)).await;
        println!(
            "{:<44} {:>10.2} {:>12.0} {:>8.2}   ({:.2}× of 1 process alone)",
            "8 shards, 1 process + 1 joining at 25 %",
            joined.as_secs_f64(),
            rate(joined),
            one.as_secs_f64() / joined.as_secs_f64(),
            alone.as_secs_f64() / joined.as_secs_f64()
        );
        let (plain, fenced) = fence_cost(&pool).await;
        println!("\nlease fence per batch: {fenced:?} per fenced transaction vs {plain:?} without (+{:?})", fenced.saturating_sub(plain));
        let mut times = takeovers(&schema.name, &pool, 6, env("FINTRA_FLEET_TAKEOVERS", 3)).await;
        times.sort();
        println!(
            "takeover after SIGKILL (ttl {:?}, {} runs): p50 {:?}, max {:?}",
            LeaseOptions::default().ttl,
            times.len(),
            times[times.len() / 2],
            times[times.len() - 1]
        );
    });
}
