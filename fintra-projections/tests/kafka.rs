//! The Kafka publisher against a real Kafka-protocol broker on loopback (tansu, started by
//! `scripts/test.sh` through `scripts/kafka.sh`): a consumer reads back every event in per-stream
//! order, including after the publisher is killed mid-run and restarted.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use fintra_core::testing::conformance::{event, read_entire_log, stream};
use fintra_core::{EventStore, ExpectedVersion, NewEvent, Position, RecordedEvent};
use fintra_projections::kafka::{BRAIN_INSIGHT_EVENTS, KafkaPublisher, connect, ensure_topic};
use fintra_projections::{ProjectionRunner, RunnerOptions, Sink};
use fintra_store_postgres::PgEventStore;
use fintra_store_postgres::testing::TestSchema;
use rskafka::client::Client;
use rskafka::client::partition::UnknownTopicHandling;

fn brokers() -> Vec<String> {
    vec![std::env::var("FINTRA_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())]
}

/// A client of the test broker, failing the test with a hint when it is not running.
async fn kafka_client() -> Client {
    tokio::time::timeout(Duration::from_secs(15), connect(&brokers()))
        .await
        .unwrap_or_else(|_| panic!("no Kafka broker answered at {:?} in 15 s: run scripts/kafka.sh (scripts/test.sh does)", brokers()))
        .unwrap_or_else(|e| panic!("Kafka broker at {:?} unreachable ({e}): run scripts/kafka.sh (scripts/test.sh does)", brokers()))
}

/// A topic name unique to this test process.
fn test_topic() -> String {
    format!(
        "fintra-test-{}-{}",
        std::process::id(),
        uuid::Uuid::from_u128(u128::from(std::process::id())).simple()
    )
}

/// Twelve streams of 25 events each in the schema's store, and the resulting global log.
async fn append_streams(store: &PgEventStore) -> Vec<RecordedEvent> {
    for s in 0..12u64 {
        let batch: Vec<NewEvent> = (0..25).map(|k| event(s * 1_000 + k)).collect();
        store.append(&stream(&format!("k{s}")), ExpectedVersion::Any, &batch).await.unwrap();
    }
    read_entire_log(store, 1_000, 300).await
}

/// Publishes the log with a publisher killed mid-run and a restarted one that resumes from its
/// checkpoint and finishes; returns the position it resumed from.
async fn publish_across_a_restart(
    client: &Client,
    topic: &str,
    schema: &TestSchema,
    store: &PgEventStore,
    log: &[RecordedEvent],
) -> Position {
    let options = RunnerOptions { page_size: 5, ..RunnerOptions::default() };
    // First publisher: killed after a few pages.
    let mut first = KafkaPublisher::new(client, topic, 3, schema.pool.clone()).await.unwrap();
    let runner = Arc::new(ProjectionRunner::new(Arc::new(store.clone()), options.clone()));
    let killed = tokio::spawn({
        let runner = Arc::clone(&runner);
        async move {
            let _ = runner.catch_up(&mut first).await;
        }
    });
    // Kill it once it has published (and checkpointed) something.
    let mut probe = KafkaPublisher::new(client, topic, 3, schema.pool.clone()).await.unwrap();
    for _ in 0..2_000 {
        if probe.checkpoint().await.unwrap() > fintra_core::Position::START {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    killed.abort();
    let _ = killed.await;
    // Restarted publisher: resumes from its checkpoint.
    let mut second = KafkaPublisher::new(client, topic, 3, schema.pool.clone()).await.unwrap();
    let resumed_from = second.checkpoint().await.unwrap();
    assert!(
        resumed_from > fintra_core::Position::START && resumed_from < log.last().unwrap().position,
        "killed mid-run"
    );
    runner.catch_up(&mut second).await.unwrap();
    assert_eq!(second.checkpoint().await.unwrap(), log.last().unwrap().position);
    resumed_from
}

/// Consumes every partition from the start, checking per-stream order: the event ids seen,
/// each stream's versions (first deliveries) and the number of records read.
async fn consume_all(
    client: &Client,
    topic: &str,
) -> (HashSet<String>, BTreeMap<String, Vec<u64>>, usize) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut records = 0usize;
    for partition in 0..3 {
        let consumer = client
            .partition_client(topic.to_owned(), partition, UnknownTopicHandling::Retry)
            .await
            .unwrap();
        let mut offset = 0i64;
        loop {
            let (batch, high_watermark) =
                consumer.fetch_records(offset, 1..5_000_000, 500).await.unwrap();
            for r in &batch {
                records += 1;
                let header =
                    |name: &str| String::from_utf8(r.record.headers[name].clone()).unwrap();
                let key = String::from_utf8(r.record.key.clone().unwrap()).unwrap();
                let version: u64 = header("fintra-stream-version").parse().unwrap();
                let list = versions.entry(key).or_default();
                assert!(
                    list.last().is_none_or(
                        |last| version > *last || seen.contains(&header("fintra-event-id"))
                    ),
                    "per-stream order broken at version {version}"
                );
                if seen.insert(header("fintra-event-id")) {
                    list.push(version);
                }
                offset = r.offset + 1;
            }
            if offset >= high_watermark {
                break;
            }
        }
    }
    (seen, versions, records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_kafka_in_stream_order_across_a_restart() {
    let client = kafka_client().await;
    let topic = test_topic();
    ensure_topic(&client, &topic, 3).await.unwrap();
    let schema = TestSchema::new().await;
    let store = schema.store();
    let log = append_streams(&store).await;
    let resumed_from = publish_across_a_restart(&client, &topic, &schema, &store, &log).await;

    // Consume every partition from the start.
    let (seen, versions, records) = consume_all(&client, &topic).await;
    assert_eq!(
        seen.len(),
        log.len(),
        "every event published (resumed from {resumed_from:?}, {records} records with at-least-once repeats)"
    );
    for e in &log {
        assert!(seen.contains(&e.event_id.to_string()));
    }
    for (stream, list) in versions {
        assert_eq!(list, (1..=25).collect::<Vec<u64>>(), "{stream} in order, complete");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brain_insights_publisher_carries_only_the_brains_events() {
    let client = kafka_client().await;
    let topic = format!("{}-insights", test_topic());
    ensure_topic(&client, &topic, 3).await.unwrap();
    let schema = TestSchema::new().await;
    let store = schema.store();
    let mut wanted = HashSet::new();
    for s in 0..4u64 {
        let batch: Vec<NewEvent> = (0..10)
            .map(|k| {
                let mut e = event(s * 1_000 + k);
                if k % 3 == 0 {
                    e.event_type = "TransactionCategorised".to_owned();
                    wanted.insert(e.event_id.to_string());
                }
                e
            })
            .collect();
        store.append(&stream(&format!("b{s}")), ExpectedVersion::Any, &batch).await.unwrap();
    }
    let mut publisher = KafkaPublisher::new(&client, &topic, 3, schema.pool.clone())
        .await
        .unwrap()
        .with_event_types(BRAIN_INSIGHT_EVENTS.iter().copied());
    let runner = ProjectionRunner::new(Arc::new(store.clone()), RunnerOptions::default());
    runner.catch_up(&mut publisher).await.unwrap();
    let (seen, _, _) = consume_all(&client, &topic).await;
    assert_eq!(seen, wanted, "exactly the TransactionCategorised events");
    let log = read_entire_log(&store, 1_000, 40).await;
    assert_eq!(publisher.checkpoint().await.unwrap(), log.last().unwrap().position);
}

/// A publisher fenced by a lease: once another process holds the lease, the old publisher
/// refuses to produce (`Fenced`) and the new one publishes everything exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_publisher_that_lost_its_lease_publishes_nothing() {
    use fintra_projections::ProjectionError;
    use fintra_projections::lease::{LeaseOptions, PgLeases};
    let client = kafka_client().await;
    let topic = format!("{}-fenced", test_topic());
    ensure_topic(&client, &topic, 3).await.unwrap();
    let schema = TestSchema::new().await;
    let store = schema.store();
    let log = append_streams(&store).await;
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions::default()).await.unwrap();
    let unit = format!("kafka:{topic}");
    let a = leases.try_acquire(&unit, "a").await.unwrap().unwrap();
    let stale = KafkaPublisher::new(&client, &topic, 3, schema.pool.clone()).await.unwrap();
    let mut stale = stale.with_lease(a.clone());
    // Another process takes over (after a handover here; after a lapse it is the same).
    leases.release(&a).await.unwrap();
    let b = leases.try_acquire(&unit, "b").await.unwrap().unwrap();
    let refused = stale.apply(&log[..10], log[9].position).await;
    assert!(matches!(refused, Err(ProjectionError::Fenced { .. })), "{refused:?}");
    assert_eq!(stale.checkpoint().await.unwrap(), Position::START);
    let owner = KafkaPublisher::new(&client, &topic, 3, schema.pool.clone()).await.unwrap();
    let mut owner = owner.with_lease(b);
    let runner = ProjectionRunner::new(Arc::new(store.clone()), RunnerOptions::default());
    runner.catch_up(&mut owner).await.unwrap();
    let (seen, _, records) = consume_all(&client, &topic).await;
    assert_eq!(
        (seen.len(), records),
        (log.len(), log.len()),
        "each event once, none from the stale one"
    );
}

/// The fleet test's publishing page: at-least-once repeats are bounded by one page per process
/// that stopped mid-page.
const FLEET_PAGE: usize = 20;
const FLEET_TTL: Duration = Duration::from_millis(1_000);

/// The worker process of the test below: one contender for the publisher's lease, publishing
/// while it holds it, until the parent kills it. It is this test binary started again with
/// `--ignored --exact kafka_publisher_worker_process`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a worker process the publisher fleet test starts; not a test on its own"]
async fn kafka_publisher_worker_process() {
    use fintra_projections::fleet::run_leased;
    use fintra_projections::lease::{LeaseOptions, PgLeases};
    let var = |name: &str| std::env::var(name).expect("started by the publisher fleet test");
    let (schema, owner, topic) =
        (var("FINTRA_FLEET_SCHEMA"), var("FINTRA_FLEET_OWNER"), var("FINTRA_FLEET_TOPIC"));
    let options = fintra_store_postgres::PgStoreOptions {
        schema: Some(schema.clone()),
        notify_channel: schema,
        max_connections: 6,
        ..fintra_store_postgres::PgStoreOptions::default()
    };
    let url = fintra_store_postgres::testing::database_url();
    let pool =
        options.pool_options().unwrap().connect_lazy_with(options.connect_options(&url).unwrap());
    let store = Arc::new(PgEventStore::from_pool(pool.clone(), &options).unwrap());
    let leases = PgLeases::new(pool.clone(), LeaseOptions { ttl: FLEET_TTL }).await.unwrap();
    let client = kafka_client().await;
    let runner = ProjectionRunner::new(
        store,
        RunnerOptions {
            page_size: FLEET_PAGE,
            poll_interval: Duration::from_millis(20),
            ..RunnerOptions::default()
        },
    );
    let work = |lease, stop| {
        let (client, pool, topic, runner) = (&client, pool.clone(), topic.clone(), &runner);
        async move {
            let publisher = KafkaPublisher::new(client, &topic, 3, pool).await?;
            runner.run(&mut publisher.with_lease(lease), None, stop).await.map(|_| ())
        }
    };
    // Runs until killed; ends on its own if the parent test is gone (reparented).
    let parent = std::os::unix::process::parent_id();
    let orphaned = async move {
        while std::os::unix::process::parent_id() == parent {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    run_leased(&leases, &format!("kafka:{topic}"), &owner, work, orphaned).await.unwrap();
}

/// The worker processes, killed when the test ends however it ends.
struct Workers(Vec<std::process::Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = signal(child, "-CONT");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &std::process::Child, signal: &str) -> bool {
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .is_ok_and(|status| status.success())
}

/// Appends `count` events spread over 30 streams, numbered from `from`.
async fn append_more(store: &PgEventStore, from: u64, count: u64) {
    for n in (from..from + count).step_by(10) {
        let batch: Vec<NewEvent> = (n..n + 10).map(event).collect();
        let name = format!("f{}", (n / 10) % 30);
        store.append(&stream(&name), ExpectedVersion::Any, &batch).await.unwrap();
    }
}

/// Who holds the publisher's lease now, waiting up to 20 s for a holder other than `not`.
async fn holder(
    leases: &fintra_projections::lease::PgLeases,
    unit: &str,
    not: Option<&str>,
) -> String {
    let wait = async {
        loop {
            let live = leases.live(unit).await.unwrap();
            if let Some(lease) = live.into_iter().find(|l| Some(l.owner.as_str()) != not) {
                return lease.owner;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait).await.expect("a holder took the lease")
}

/// Three OS processes contend for one Kafka publisher under a lease. The holder is killed with
/// `SIGKILL` while it publishes; the next holder is stopped with `SIGSTOP` past its lease and
/// resumed. A consumer then sees every event; the repeats are counted, reported, and within what
/// at-least-once allows (a page per process stopped mid-page); takeover after the kill happens
/// within `2 × ttl` (plus margin for the loaded machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_publisher_processes_survive_a_kill_and_a_stop() {
    use fintra_projections::lease::{LeaseOptions, PgLeases};
    let client = kafka_client().await;
    let topic = format!("{}-fleet", test_topic());
    ensure_topic(&client, &topic, 3).await.unwrap();
    let schema = TestSchema::new().await;
    let store = schema.store();
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions { ttl: FLEET_TTL }).await.unwrap();
    let unit = format!("kafka:{topic}");
    append_more(&store, 0, 300).await;
    let owners = ["p1", "p2", "p3"];
    let mut workers = Workers(
        owners
            .iter()
            .map(|owner| {
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["kafka_publisher_worker_process", "--exact", "--ignored"])
                    .args(["--nocapture", "--test-threads=1"])
                    .env("FINTRA_FLEET_SCHEMA", &schema.name)
                    .env("FINTRA_FLEET_OWNER", owner)
                    .env("FINTRA_FLEET_TOPIC", &topic)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("start a worker process")
            })
            .collect(),
    );
    let index = |owner: &str| owners.iter().position(|o| *o == owner).unwrap();

    // Kill the holder while it publishes a fresh thousand events.
    let first = holder(&leases, &unit, None).await;
    append_more(&store, 1_000, 1_000).await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(holder(&leases, &unit, None).await, first, "still the holder when killed");
    let killed = &mut workers.0[index(&first)];
    killed.kill().unwrap();
    killed.wait().unwrap();
    let at = std::time::Instant::now();
    let second = holder(&leases, &unit, Some(&first)).await;
    let takeover = at.elapsed();
    println!("publisher takeover after SIGKILL: {takeover:?} ({first} → {second})");
    assert!(takeover <= FLEET_TTL * 2 + Duration::from_secs(2), "takeover took {takeover:?}");

    // Stop the new holder past its lease while it publishes; the third process takes over.
    append_more(&store, 2_000, 1_000).await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(holder(&leases, &unit, None).await, second, "still the holder when stopped");
    assert!(signal(&workers.0[index(&second)], "-STOP"));
    let third = holder(&leases, &unit, Some(&second)).await;
    assert!(third != first && third != second, "the third process took over: {third}");
    tokio::time::sleep(FLEET_TTL * 2).await;
    append_more(&store, 3_000, 500).await;
    assert!(signal(&workers.0[index(&second)], "-CONT"));

    let log = read_entire_log(&store, 1_000, 2_800).await;
    let head = log.last().unwrap().position;
    let mut probe = KafkaPublisher::new(&client, &topic, 3, schema.pool.clone()).await.unwrap();
    let caught_up = async {
        while probe.checkpoint().await.unwrap() < head {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), caught_up)
        .await
        .expect("the publisher caught up");
    let (seen, _, records) = consume_all(&client, &topic).await;
    let missing = log.iter().filter(|e| !seen.contains(&e.event_id.to_string())).count();
    assert_eq!(missing, 0, "every event reaches the consumer");
    assert_eq!(seen.len(), log.len(), "nothing but the log's events");
    let repeats = records - seen.len();
    println!("{records} records for {} events: {repeats} at-least-once repeats", log.len());
    assert!(repeats <= 2 * FLEET_PAGE, "{repeats} repeats: more than a page per stopped process");
    drop(workers);
}
