//! Fenced leases (`fintra_projections::lease`): one owner per unit, takeover after a lapse or a
//! release at a new epoch, and a fenced PostgreSQL sink whose stale owner can never commit.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::time::Duration;

use async_trait::async_trait;
use fintra_core::testing::conformance::{event, read_entire_log, stream};
use fintra_core::{EventStore, ExpectedVersion, RecordedEvent};
use std::collections::BTreeMap;
use std::sync::Arc;

use fintra_projections::fleet::{FleetOptions, FleetReport, run_shards};
use fintra_projections::lease::{LeaseOptions, PgLeases, Shard};
use fintra_projections::{
    PgProjection, PgSink, PoisonPolicy, ProjectionError, ProjectionRunner, RunnerOptions, Sink,
};
use fintra_store_postgres::PgEventStore;
use fintra_store_postgres::testing::TestSchema;
use sqlx::PgConnection;

/// Counts events per stream, optionally slowly.
#[derive(Debug)]
struct Counted {
    delay: Duration,
    version: u32,
}

#[async_trait]
impl PgProjection for Counted {
    fn name(&self) -> &str {
        "counted"
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
        if e.event_type == "Poison" {
            return Err(ProjectionError::refused("a poison event"));
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        sqlx::query(&format!(
            "INSERT INTO {table} VALUES ($1, 1)
             ON CONFLICT (stream_id) DO UPDATE SET events = {table}.events + 1"
        ))
        .bind(e.stream_id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(|err| ProjectionError::sink("postgres", err))?;
        Ok(())
    }
}

const TTL: Duration = Duration::from_millis(300);

async fn total(pool: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT coalesce(sum(events), 0)::bigint FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_owner_at_a_time_and_every_change_of_hands_bumps_the_epoch() {
    let schema = TestSchema::new().await;
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: TTL }).await.unwrap();
    let a = leases.try_acquire("unit", "a").await.unwrap().expect("free");
    assert_eq!(a.epoch, 1);
    assert!(leases.try_acquire("unit", "b").await.unwrap().is_none(), "a holds it");
    let renewed = leases.renew(&a).await.unwrap().expect("a still holds it");
    assert_eq!(renewed.epoch, 1);
    // Taking it again, even as its owner, is a new epoch: the old one is fenced.
    let a = {
        let again = leases.try_acquire("unit", "a").await.unwrap().unwrap();
        assert_eq!(again.epoch, 2);
        assert!(leases.renew(&a).await.unwrap().is_none());
        again
    };
    // A graceful handover: b takes it at once, at a new epoch, and a's renewals fail.
    leases.release(&a).await.unwrap();
    let b = leases.try_acquire("unit", "b").await.unwrap().expect("released");
    assert_eq!(b.epoch, 3);
    assert!(leases.renew(&a).await.unwrap().is_none());
    // A lapse: b stops renewing, a takes over after the time to live.
    assert!(leases.try_acquire("unit", "a").await.unwrap().is_none());
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let a2 = leases.try_acquire("unit", "a").await.unwrap().expect("lapsed");
    assert_eq!(a2.epoch, 4);
    assert!(leases.renew(&b).await.unwrap().is_none());
    let owners = leases.list("").await.unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!((owners[0].owner.as_str(), owners[0].epoch), ("a", 4));
    // Bad input is typed.
    assert!(leases.try_acquire("", "a").await.is_err());
    let short = PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: Duration::from_millis(5) });
    assert!(short.await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_is_refused_and_a_takeover_waits_for_its_last_commit() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    for n in 0..6u64 {
        store
            .append(&stream(&format!("s{}", n % 3)), ExpectedVersion::Any, &[event(n)])
            .await
            .unwrap();
    }
    let log = read_entire_log(&store, 100, 6).await;
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: TTL }).await.unwrap();
    let a = leases.try_acquire("counted@v1", "a").await.unwrap().unwrap();
    let slow = Counted { delay: Duration::from_millis(150), version: 1 };
    let mut sink_a = PgSink::new(schema.pool.clone(), slow).await.unwrap().with_lease(a.clone());

    // a applies a batch that outlives its lease (4 × 150 ms > 300 ms). b tries to take over
    // meanwhile: the lease row is locked by a's transaction, so b waits for a's commit and only
    // then finds the lease lapsed.
    let apply = sink_a.apply(&log[..4], log[3].position);
    let takeover = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        loop {
            if let Some(b) = leases.try_acquire("counted@v1", "b").await.unwrap() {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (applied, b) = tokio::join!(apply, takeover);
    applied.expect("a's batch committed while its lease held");
    assert_eq!(b.epoch, a.epoch + 1);
    assert_eq!(total(&schema.pool, "counted_v1").await, 4);

    // a wakes up and writes again: refused, nothing written, checkpoint unchanged.
    let refused = sink_a.apply(&log[4..], log[5].position).await;
    assert!(
        matches!(refused, Err(ProjectionError::Fenced { ref unit, epoch }) if unit == "counted@v1" && epoch == a.epoch),
        "{refused:?}"
    );
    assert_eq!(total(&schema.pool, "counted_v1").await, 4);
    assert_eq!(sink_a.checkpoint().await.unwrap(), log[3].position);
    let parked = sink_a.park(&log[4], "test").await;
    assert!(matches!(parked, Err(ProjectionError::Fenced { .. })));

    // b, the owner now, continues from the checkpoint.
    let fast = Counted { delay: Duration::ZERO, version: 1 };
    let mut sink_b = PgSink::new(schema.pool.clone(), fast).await.unwrap().with_lease(b);
    let from = sink_b.checkpoint().await.unwrap();
    let rest: Vec<RecordedEvent> = log.iter().filter(|e| e.position > from).cloned().collect();
    sink_b.apply(&rest, log[5].position).await.unwrap();
    assert_eq!(total(&schema.pool, "counted_v1").await, 6, "every event applied exactly once");
}

async fn table_hash(pool: &sqlx::PgPool, table: &str) -> String {
    sqlx::query_scalar(&format!(
        "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY stream_id), '')) FROM {table} t"
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Four shards, each with its own lease and checkpoint, build the same table as one runner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_fenced_shards_build_what_one_runner_builds() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    for s in 0..40u64 {
        let events: Vec<_> = (0..10).map(|k| event(s * 100 + k)).collect();
        store.append(&stream(&format!("s{s}")), ExpectedVersion::Any, &events).await.unwrap();
    }
    // A catch-up stops at what is visible, and a transaction of a parallel test can hold the
    // horizon back: wait until all 400 events are visible first.
    read_entire_log(&store, 1_000, 400).await;
    let options = RunnerOptions {
        page_size: 64,
        queue_depth: 2,
        poll_interval: Duration::from_millis(50),
        on_poison: PoisonPolicy::Stop,
    };
    let runner = ProjectionRunner::new(Arc::new(store.clone()), options);
    let single = Counted { delay: Duration::ZERO, version: 1 };
    let mut whole = PgSink::new(schema.pool.clone(), single).await.unwrap();
    runner.catch_up(&mut whole).await.unwrap();

    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: TTL }).await.unwrap();
    for index in 0..4 {
        let shard = Shard::new(index, 4).unwrap();
        let unit = format!("counted@v2#{shard}");
        let lease = leases.try_acquire(&unit, "host-a").await.unwrap().unwrap();
        let keeper = leases.keep(lease.clone());
        let projection = Counted { delay: Duration::ZERO, version: 2 };
        let sink = PgSink::new(schema.pool.clone(), projection).await.unwrap();
        let mut sink = sink.with_shard(shard).with_lease(lease.clone());
        assert_eq!(sink.name(), unit);
        runner.catch_up(&mut sink).await.unwrap();
        // The keeper renews across several time-to-live periods.
        tokio::time::sleep(TTL * 2).await;
        assert!(!keeper.is_lost());
        assert!(leases.renew(&lease).await.unwrap().is_some());
        drop(keeper);
        leases.release(&lease).await.unwrap();
    }
    assert_eq!(
        table_hash(&schema.pool, "counted_v1").await,
        table_hash(&schema.pool, "counted_v2").await
    );
    let shards: Vec<u32> =
        (0..40).map(|s| Shard::of_stream(&stream(&format!("s{s}")), 4)).collect();
    assert!((0..4).all(|k| shards.contains(&k)), "every shard owns streams: {shards:?}");
    assert!(Shard::new(4, 4).is_err() && Shard::new(0, 0).is_err());
}

/// A keeper notices when another owner takes the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keeper_reports_a_lost_lease() {
    let schema = TestSchema::new().await;
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: TTL }).await.unwrap();
    let a = leases.try_acquire("unit", "a").await.unwrap().unwrap();
    let keeper = leases.keep(a.clone());
    // Another owner forces the lease over (as after a lapse): the next renewal fails.
    sqlx::query("UPDATE fintra_leases SET owner = 'b', epoch = epoch + 1")
        .execute(&schema.pool)
        .await
        .unwrap();
    tokio::time::timeout(TTL * 3, keeper.lost()).await.expect("the keeper noticed");
    assert!(keeper.is_lost());
}

fn fleet_runner() -> RunnerOptions {
    RunnerOptions {
        page_size: 50,
        queue_depth: 2,
        poll_interval: Duration::from_millis(20),
        on_poison: PoisonPolicy::Stop,
    }
}

type Member = tokio::task::JoinHandle<Result<FleetReport, ProjectionError>>;

/// One member of the fleet running the 8 shards of `counted@v2` until `stop` fires.
fn member(
    schema: &TestSchema,
    store: &Arc<PgEventStore>,
    leases: &PgLeases,
    owner: &str,
) -> (tokio::sync::oneshot::Sender<()>, Member) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (store, leases, pool) = (Arc::clone(store), leases.clone(), schema.pool.clone());
    let options = FleetOptions {
        projection: "counted@v2".into(),
        shards: 8,
        owner: owner.into(),
        runner: fleet_runner(),
    };
    let task = tokio::spawn(async move {
        let make = |shard: Shard, lease| {
            let pool = pool.clone();
            async move {
                let projection = Counted { delay: Duration::ZERO, version: 2 };
                Ok(PgSink::new(pool, projection).await?.with_shard(shard).with_lease(lease))
            }
        };
        let shutdown = async move {
            let _ = stopped.await;
        };
        run_shards(store, &leases, options, make, shutdown).await
    });
    (stop, task)
}

async fn write(store: &PgEventStore, from: u64, to: u64) {
    for s in from..to {
        let events: Vec<_> = (0..5).map(|k| event(s * 100 + k)).collect();
        let name = format!("s{}", s % 50);
        store.append(&stream(&name), ExpectedVersion::Any, &events).await.unwrap();
    }
}

/// Polls `done` every 50 ms for up to 20 s.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let wait = async {
        while !done().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait).await.unwrap_or_else(|_| panic!("{what}"));
}

/// How many live shard leases each owner holds, sorted.
async fn holdings(leases: &PgLeases) -> Vec<usize> {
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for lease in leases.live("counted@v2#").await.unwrap() {
        *per.entry(lease.owner).or_default() += 1;
    }
    let mut counts: Vec<usize> = per.into_values().collect();
    counts.sort_unstable();
    counts
}

/// Three members share 8 shards of a live projection; one joins late and one leaves midway. The
/// shards spread evenly, the leaver's shards are taken over, and the table equals one runner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_spreads_shards_rebalances_and_builds_what_one_runner_builds() {
    let schema = TestSchema::new().await;
    let store = Arc::new(schema.store());
    write(&store, 0, 50).await;
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: TTL }).await.unwrap();
    let (stop_a, a) = member(&schema, &store, &leases, "a");
    let (stop_b, b) = member(&schema, &store, &leases, "b");
    tokio::time::sleep(TTL * 2).await;
    let (stop_c, c) = member(&schema, &store, &leases, "c");
    write(&store, 50, 100).await;
    eventually("the shards spread 3/3/2", || async { holdings(&leases).await == [2, 3, 3] }).await;
    // b leaves gracefully; a and c take its shards.
    stop_b.send(()).unwrap();
    let b = b.await.unwrap().unwrap();
    assert!(b.taken >= 2 && b.last_error.is_none(), "{b:?}");
    write(&store, 100, 150).await;
    eventually("b's shards taken over", || async { holdings(&leases).await == [4, 4] }).await;
    // Everything written is applied once: compare with one runner over the whole log.
    read_entire_log(store.as_ref(), 1_000, 750).await;
    let single = ProjectionRunner::new(Arc::clone(&store), fleet_runner());
    let whole = Counted { delay: Duration::ZERO, version: 1 };
    single.catch_up(&mut PgSink::new(schema.pool.clone(), whole).await.unwrap()).await.unwrap();
    let pool = &schema.pool;
    eventually("the fleet caught up", || async {
        total(pool, "counted_v2").await == 750
            && table_hash(pool, "counted_v2").await == table_hash(pool, "counted_v1").await
    })
    .await;
    let shards = fintra_projections::fleet::status(pool, "counted@v2").await.unwrap();
    assert_eq!(shards.len(), 8);
    assert!(shards.iter().all(|s| s.live && s.owner != "b" && s.checkpoint.is_some()));
    assert!(shards.iter().all(|s| s.lag_events == 0 && s.lag_seconds == 0.0), "{shards:?}");
    stop_a.send(()).unwrap();
    stop_c.send(()).unwrap();
    let (a, c) = (a.await.unwrap().unwrap(), c.await.unwrap().unwrap());
    assert!(a.last_error.is_none() && c.last_error.is_none(), "{a:?} {c:?}");
    assert!(leases.live("").await.unwrap().is_empty(), "every lease released");
}

/// A shard whose runner fails reports its last error, with when, in `fleet::status` (from the
/// lease row) and in the member's report; the other shards carry on without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_shard_reports_its_last_error() {
    let schema = TestSchema::new().await;
    let store = Arc::new(schema.store());
    write(&store, 0, 10).await;
    let poison = fintra_core::NewEvent { event_type: "Poison".into(), ..event(99_999) };
    store.append(&stream("s3"), ExpectedVersion::Any, &[poison]).await.unwrap();
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: TTL }).await.unwrap();
    let (stop, a) = member(&schema, &store, &leases, "a");
    let pool = &schema.pool;
    let bad = format!("counted@v2#{}of8", Shard::of_stream(&stream("s3"), 8));
    let failed = |shards: &[fintra_projections::fleet::ShardStatus]| {
        shards.iter().any(|s| {
            s.unit == bad && s.last_error.as_ref().is_some_and(|(_, e)| e.contains("refused"))
        })
    };
    eventually("the failing shard reports its error", || async {
        failed(&fintra_projections::fleet::status(pool, "counted@v2").await.unwrap())
    })
    .await;
    let shards = fintra_projections::fleet::status(pool, "counted@v2").await.unwrap();
    // Another shard may carry a `Fenced` error when a renewal slipped on a loaded machine (its
    // 300 ms lease lapsed and was retaken); none carries the poison.
    let poisoned = |s: &&fintra_projections::fleet::ShardStatus| {
        s.last_error.as_ref().is_some_and(|(_, e)| e.contains("refused"))
    };
    assert!(shards.iter().filter(poisoned).all(|s| s.unit == bad), "{shards:?}");
    let listed = leases.list(&bad).await.unwrap();
    assert!(listed[0].last_error.is_some(), "the lease row carries it");
    stop.send(()).unwrap();
    let report = a.await.unwrap().unwrap();
    assert!(report.lost >= 1 && report.last_error.is_some_and(|e| e.contains("refused")));
}

const PROCESS_TTL: Duration = Duration::from_millis(1_000);

/// The worker process of the test below: one fleet member, run until the parent kills it. It is
/// this test binary started again with `--ignored --exact fleet_worker_process`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a worker process the fleet test starts; not a test on its own"]
async fn fleet_worker_process() {
    let schema = std::env::var("FINTRA_FLEET_SCHEMA").expect("started by the fleet test");
    let owner = std::env::var("FINTRA_FLEET_OWNER").expect("started by the fleet test");
    let options = fintra_store_postgres::PgStoreOptions {
        schema: Some(schema.clone()),
        notify_channel: schema,
        max_connections: 12,
        ..fintra_store_postgres::PgStoreOptions::default()
    };
    let url = fintra_store_postgres::testing::database_url();
    let pool =
        options.pool_options().unwrap().connect_lazy_with(options.connect_options(&url).unwrap());
    let store = Arc::new(PgEventStore::from_pool(pool.clone(), &options).unwrap());
    let leases = PgLeases::new(pool.clone(), LeaseOptions { ttl: PROCESS_TTL }).await.unwrap();
    let fleet =
        FleetOptions { projection: "counted@v2".into(), shards: 8, owner, runner: fleet_runner() };
    let make = |shard: Shard, lease| {
        let pool = pool.clone();
        async move {
            // Slow enough that a kill lands inside a batch.
            let projection = Counted { delay: Duration::from_millis(2), version: 2 };
            Ok(PgSink::new(pool, projection).await?.with_shard(shard).with_lease(lease))
        }
    };
    // Runs until killed; exits on its own if the parent test is gone (reparented).
    let parent = std::os::unix::process::parent_id();
    let orphaned = async move {
        while std::os::unix::process::parent_id() == parent {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    run_shards(store, &leases, fleet, make, orphaned).await.unwrap();
}

/// The worker processes, killed when the test ends however it ends.
struct Workers(Vec<std::process::Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = signal_pid(child.id(), "-CONT");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal_pid(pid: u32, signal: &str) -> std::io::Result<std::process::ExitStatus> {
    std::process::Command::new("kill").args([signal, &pid.to_string()]).status()
}

fn spawn_worker(schema: &str, owner: &str) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["fleet_worker_process", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("FINTRA_FLEET_SCHEMA", schema)
        .env("FINTRA_FLEET_OWNER", owner)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start a worker process")
}

fn signal(child: &std::process::Child, signal: &str) {
    let status = signal_pid(child.id(), signal).expect("kill(1)");
    assert!(status.success(), "kill {signal}");
}

/// Three OS processes share a sharded projection on one PostgreSQL. One is killed with SIGKILL
/// mid-batch, another is stopped with SIGSTOP past its lease and resumed. The read model ends
/// equal to a single-process rebuild, no event is applied twice (the resumed process's writes
/// are refused by the fence), and the killed process's shards are taken over within
/// `2 × ttl` (a lapse plus a round, with margin for the loaded machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_survive_a_kill_and_a_stop_without_double_applying() {
    let schema = TestSchema::new().await;
    let store = Arc::new(schema.store());
    write(&store, 0, 40).await;
    let leases =
        PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: PROCESS_TTL }).await.unwrap();
    let mut workers =
        Workers(["p1", "p2", "p3"].iter().map(|owner| spawn_worker(&schema.name, owner)).collect());
    eventually("three processes hold 3/3/2 shards", || async {
        holdings(&leases).await == [2, 3, 3]
    })
    .await;

    write(&store, 40, 80).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let p1 = &mut workers.0[0];
    p1.kill().unwrap(); // SIGKILL, inside a batch of 50 events at 2 ms each
    p1.wait().unwrap();
    let killed = std::time::Instant::now();
    eventually("p1's shards taken over", || async {
        let live = leases.live("counted@v2#").await.unwrap();
        live.len() == 8 && live.iter().all(|l| l.owner != "p1")
    })
    .await;
    let takeover = killed.elapsed();
    assert!(takeover <= PROCESS_TTL * 2 + Duration::from_secs(2), "takeover took {takeover:?}");
    println!("takeover after SIGKILL: {takeover:?}");

    signal(&workers.0[1], "-STOP");
    tokio::time::sleep(PROCESS_TTL * 3).await; // p2's leases lapse; p3 takes everything
    write(&store, 80, 120).await;
    signal(&workers.0[1], "-CONT");

    read_entire_log(store.as_ref(), 1_000, 600).await;
    let single = ProjectionRunner::new(Arc::clone(&store), fleet_runner());
    let whole = Counted { delay: Duration::ZERO, version: 1 };
    single.catch_up(&mut PgSink::new(schema.pool.clone(), whole).await.unwrap()).await.unwrap();
    let pool = &schema.pool;
    eventually("the fleet caught up", || async {
        total(pool, "counted_v2").await == 600
            && table_hash(pool, "counted_v2").await == table_hash(pool, "counted_v1").await
    })
    .await;
    // Nothing beyond: a double apply would push the total past 600 on a later round.
    tokio::time::sleep(PROCESS_TTL).await;
    assert_eq!(total(pool, "counted_v2").await, 600, "an event was applied twice");
    drop(workers);
}

/// Many processes starting at once create the same tables at once: `CREATE … IF NOT EXISTS`
/// races on the catalog ("type … already exists"); every sink and lease handle still starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinks_and_leases_created_concurrently_all_start() {
    for _ in 0..4 {
        let schema = TestSchema::new().await;
        let starts: Vec<_> = (0..8u32)
            .map(|k| {
                let pool = schema.pool.clone();
                tokio::spawn(async move {
                    let projection = Counted { delay: Duration::ZERO, version: 1 + k % 2 };
                    PgSink::new(pool.clone(), projection).await?;
                    PgLeases::new(pool, LeaseOptions::default()).await.map(|_| ())
                })
            })
            .collect();
        for start in starts {
            start.await.unwrap().unwrap();
        }
    }
}
