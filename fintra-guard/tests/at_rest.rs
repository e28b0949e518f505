//! The at-rest canary: a unique string planted in subject S's events (and a control subject T)
//! goes through the hot store, snapshots, the warm store and tiering to Parquet on S3 (moto),
//! PostgreSQL and Redis read models and the Kafka publisher. Then S is shredded, the read models
//! catch up, PostgreSQL checkpoints and `VACUUM FULL`s the key and read-model tables, and every
//! tier is scanned byte by byte for S's canary and S's data-key bytes: none may remain, while T
//! stays readable everywhere. WAL segments are scanned and reported apart (docs/guard.md).
//!
//! PostgreSQL is a private cluster this test creates and removes (its data directory is
//! scanned); S3, Redis and Kafka are the shared loopback services `scripts/test.sh` starts.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration, TimeZone, Utc};
use fintra_core::testing::conformance::event;
use fintra_core::{
    EventMetadata, EventStore, ExpectedVersion, InMemoryEventStore, ManualClock, NewEvent,
    Position, ReadStreamOptions, RecordedEvent, Snapshot, SnapshotStore, StreamId, StreamVersion,
    TenantId,
};
use fintra_guard::keys::postgres::PgKeyStore;
use fintra_guard::{
    Guard, GuardedSnapshots, GuardedStore, KeyProvider, KeyState, LocalKeyProvider, SubjectId,
};
use fintra_projections::kafka::{KafkaPublisher, connect, ensure_topic};
use fintra_projections::{PgSink, ProjectionRunner, RedisSink, RunnerOptions};
use fintra_store_parquet::{ParquetArchive, S3Config};
use fintra_store_postgres::testing::PrivateCluster;
use fintra_store_postgres::{PgEventStore, PgSnapshotStore, PgStoreOptions};
use fintra_store_timescale::tiering::{TieredLog, Tiering};
use fintra_store_timescale::{TimescaleEventStore, TimescaleStoreOptions};

mod common;
use common::notes::Notes;

const MASTER: [u8; 32] = [0x5a; 32];

fn now() -> chrono::DateTime<Utc> {
    fintra_core::Clock::now(&fintra_core::SystemClock)
}

fn tenant() -> TenantId {
    TenantId::new("acme-bank").unwrap()
}

fn profile(n: u128) -> StreamId {
    StreamId::for_aggregate("Profile", uuid::Uuid::from_u128(n)).unwrap()
}

/// A note event of a profile carrying `canary`.
fn note(n: u64, canary: &str) -> NewEvent {
    let mut e = event(n);
    e.event_type = "Noted".into();
    e.metadata.tenant_id = tenant();
    e.payload = Bytes::from(format!("{{\"note\":\"{canary} #{n}\"}}"));
    e
}

/// Every file under `dir` (recursively).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .flat_map(|e| if e.path().is_dir() { files(&e.path()) } else { vec![e.path()] })
        .collect()
}

/// How many of `files` contain `needle`.
fn hits(files: &[PathBuf], needle: &[u8]) -> usize {
    files
        .iter()
        .filter(|f| {
            std::fs::read(f).is_ok_and(|bytes| memchr::memmem::find(&bytes, needle).is_some())
        })
        .count()
}

/// (files outside pg_wal, WAL segments) of the cluster's data directory.
fn pg_files(cluster: &PrivateCluster) -> (Vec<PathBuf>, Vec<PathBuf>) {
    files(cluster.dir())
        .into_iter()
        .partition(|f| !f.components().any(|c| c.as_os_str() == "pg_wal"))
}

/// Every Redis key and value, as bytes (strings, hashes, sets, lists).
async fn redis_dump(conn: &mut redis::aio::MultiplexedConnection) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) =
            redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(1000).query_async(conn).await.unwrap();
        for key in keys {
            out.extend_from_slice(&key);
            let kind: String = redis::cmd("TYPE").arg(&key).query_async(conn).await.unwrap();
            let values: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![redis::cmd("GET").arg(&key).query_async(conn).await.unwrap()],
                "hash" => redis::cmd("HGETALL").arg(&key).query_async(conn).await.unwrap(),
                "set" => redis::cmd("SMEMBERS").arg(&key).query_async(conn).await.unwrap(),
                "list" => {
                    redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).query_async(conn).await.unwrap()
                }
                "zset" => {
                    redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query_async(conn).await.unwrap()
                }
                _ => Vec::new(),
            };
            values.iter().for_each(|v| out.extend_from_slice(v));
        }
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

/// Every record value and header of `topic`, as bytes.
async fn kafka_dump(client: &rskafka::client::Client, topic: &str, partitions: i32) -> Vec<u8> {
    let mut out = Vec::new();
    for partition in 0..partitions {
        let consumer = client
            .partition_client(
                topic.to_owned(),
                partition,
                rskafka::client::partition::UnknownTopicHandling::Retry,
            )
            .await
            .unwrap();
        let mut offset = 0;
        loop {
            let (batch, high) = consumer.fetch_records(offset, 1..5_000_000, 500).await.unwrap();
            for r in &batch {
                out.extend(r.record.value.clone().unwrap_or_default());
                r.record.headers.values().for_each(|v| out.extend_from_slice(v));
                offset = r.offset + 1;
            }
            if offset >= high {
                break;
            }
        }
    }
    out
}

/// Every object under `prefix` in the bucket: raw bytes.
async fn s3_dump(store: &dyn object_store::ObjectStore, prefix: &str) -> Vec<u8> {
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    let mut out = Vec::new();
    let objects: Vec<_> = store.list(Some(&prefix.into())).try_collect().await.unwrap();
    assert!(!objects.is_empty(), "the archive wrote nothing under {prefix}");
    for o in objects {
        out.extend_from_slice(&store.get(&o.location).await.unwrap().bytes().await.unwrap());
    }
    out
}

fn s3_config() -> S3Config {
    S3Config {
        bucket: std::env::var("FINTRA_S3_BUCKET").unwrap_or_else(|_| "fintra-test".into()),
        region: "us-east-1".into(),
        endpoint: Some(
            std::env::var("FINTRA_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into()),
        ),
        access_key_id: std::env::var("FINTRA_S3_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into()),
        secret_access_key: std::env::var("FINTRA_S3_SECRET_ACCESS_KEY")
            .unwrap_or_else(|_| "test".into()),
    }
}

fn raw_s3() -> Arc<dyn object_store::ObjectStore> {
    let c = s3_config();
    Arc::new(
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&c.bucket)
            .with_region(&c.region)
            .with_endpoint(c.endpoint.unwrap())
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(&c.secret_access_key)
            .build()
            .unwrap(),
    )
}

/// Old sealed events of S and T (recorded 20 days ago), as the warm store would hold them.
async fn old_sealed_events(
    guard: Arc<Guard>,
    s: &StreamId,
    t: &StreamId,
    canaries: (&str, &str),
) -> Vec<RecordedEvent> {
    let clock = Arc::new(ManualClock::new(now() - Duration::days(20)));
    let sealed = GuardedStore::new(InMemoryEventStore::with_clock(clock), guard);
    sealed
        .append(s, ExpectedVersion::NoStream, &[note(101, canaries.0), note(102, canaries.0)])
        .await
        .unwrap();
    sealed.append(t, ExpectedVersion::NoStream, &[note(103, canaries.1)]).await.unwrap();
    sealed.inner().read_all(Position::START, 100).await.unwrap()
}

struct World {
    cluster: PrivateCluster,
    hot: PgEventStore,
    guarded: GuardedStore<PgEventStore>,
    warm: TimescaleEventStore,
    archive: ParquetArchive,
    archive_prefix: String,
    redis: redis::aio::MultiplexedConnection,
    kafka: rskafka::client::Client,
    topic: String,
}

async fn build(run: &str) -> World {
    let cluster = PrivateCluster::start();
    let url = cluster.url();
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("CREATE SCHEMA IF NOT EXISTS hot").execute(&admin).await.unwrap();
    let options = PgStoreOptions {
        schema: Some("hot".into()),
        max_connections: 6,
        ..PgStoreOptions::default()
    };
    let hot = PgEventStore::connect(&url, options).await.unwrap();
    hot.migrate().await.unwrap();
    let keys = PgKeyStore::new(hot.pool().clone());
    keys.migrate().await.unwrap();
    let guard = Arc::new(Guard::new(Arc::new(LocalKeyProvider::new(MASTER)), Arc::new(keys)));
    let mut warm_options = TimescaleStoreOptions::default();
    warm_options.store.schema = Some("warm".into());
    warm_options.use_timescaledb = false;
    let warm = TimescaleEventStore::connect(&url, warm_options).await.unwrap();
    warm.migrate().await.unwrap();
    let archive_prefix = format!("fintra-archive/at-rest-{run}");
    let archive = ParquetArchive::s3(&s3_config())
        .unwrap_or_else(|e| {
            panic!("S3 (moto) unreachable ({e}): run scripts/s3.sh (scripts/test.sh does)")
        })
        .with_prefix(&format!("at-rest-{run}"));
    let redis = redis::Client::open(
        std::env::var("FINTRA_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
    )
    .unwrap()
    .get_multiplexed_async_connection()
    .await
    .unwrap_or_else(|e| panic!("Redis unreachable ({e}): scripts/test.sh starts it"));
    let brokers =
        vec![std::env::var("FINTRA_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())];
    let kafka = connect(&brokers)
        .await
        .unwrap_or_else(|e| panic!("Kafka unreachable ({e}): run scripts/kafka.sh"));
    let topic = format!("fintra-at-rest-{run}");
    ensure_topic(&kafka, &topic, 2).await.unwrap();
    World {
        cluster,
        guarded: GuardedStore::new(hot.clone(), guard),
        hot,
        warm,
        archive,
        archive_prefix,
        redis,
        kafka,
        topic,
    }
}

/// Runs the read models (over the guarded store: plaintext) and the Kafka publisher (over the
/// store below: ciphertext) to the end of the log.
async fn project(world: &World, run: &str) {
    let guarded = Arc::new(GuardedStore::new(world.hot.clone(), world.guarded.guard().clone()));
    let runner = ProjectionRunner::new(guarded, RunnerOptions::default());
    let mut pg = PgSink::new(world.hot.pool().clone(), Notes::default()).await.unwrap();
    runner.catch_up(&mut pg).await.unwrap();
    let mut redis =
        RedisSink::new(world.redis.clone(), &format!("at-rest-{run}"), Notes::default())
            .await
            .unwrap();
    runner.catch_up(&mut redis).await.unwrap();
    let raw = ProjectionRunner::new(Arc::new(world.hot.clone()), RunnerOptions::default());
    let mut kafka =
        KafkaPublisher::new(&world.kafka, &world.topic, 2, world.hot.pool().clone()).await.unwrap();
    raw.catch_up(&mut kafka).await.unwrap();
}

/// The subjects, their canaries and the guarded views of the stores.
struct Planted {
    s: StreamId,
    t: StreamId,
    canary_s: String,
    canary_t: String,
    snapshots: GuardedSnapshots<PgSnapshotStore>,
    warm: GuardedStore<TimescaleEventStore>,
}

/// S and T in the hot store, snapshots, the warm store and (tiered) the S3 archive.
async fn plant(world: &World, run: &str) -> Planted {
    let (s, t) = (profile(1), profile(2));
    let pid = u128::from(std::process::id());
    let canary_s = format!("CANARY-S-{}", uuid::Uuid::from_u128(0x5eed_0001_u128 + pid).simple());
    let canary_t = format!("CANARY-T-{}", uuid::Uuid::from_u128(0x5eed_0002_u128 + pid).simple());
    let guard = world.guarded.guard().clone();
    let batch_s: Vec<NewEvent> = (1..=20).map(|n| note(n, &canary_s)).collect();
    let batch_t: Vec<NewEvent> = (21..=30).map(|n| note(n, &canary_t)).collect();
    world.guarded.append(&s, ExpectedVersion::NoStream, &batch_s).await.unwrap();
    world.guarded.append(&t, ExpectedVersion::NoStream, &batch_t).await.unwrap();
    let snapshots = GuardedSnapshots::new(
        PgSnapshotStore::new(world.hot.pool().clone()),
        guard.clone(),
        tenant(),
    );
    for (stream, canary) in [(&s, &canary_s), (&t, &canary_t)] {
        let state = Bytes::from(format!("{{\"notes\":[\"{canary}\"]}}"));
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let snapshot = Snapshot {
            stream_id: stream.clone(),
            version: StreamVersion(1),
            schema_version: 1,
            occurred_at: at,
            state,
        };
        snapshots.save(&snapshot).await.unwrap();
    }
    // Warm store: old sealed events seeded (as restored data arrives), then tiered to S3; live
    // events appended sealed.
    let old = old_sealed_events(guard.clone(), &s, &t, (&canary_s, &canary_t)).await;
    let scratch_dir = std::env::temp_dir().join(format!("fintra-at-rest-scratch-{run}"));
    let scratch = ParquetArchive::local(&scratch_dir).unwrap();
    let manifest = scratch.write(&old).await.unwrap();
    Tiering::new(&world.warm, &scratch).restore(&manifest.archive_id).await.unwrap();
    std::fs::remove_dir_all(&scratch_dir).unwrap();
    let report =
        Tiering::new(&world.warm, &world.archive).run(now() - Duration::days(5)).await.unwrap();
    assert!(!report.exported.is_empty(), "old partitions were tiered to S3");
    let warm = GuardedStore::new(world.warm.clone(), guard);
    warm.append(&s, ExpectedVersion::Any, &[note(201, &canary_s)]).await.unwrap();
    warm.append(&t, ExpectedVersion::Any, &[note(202, &canary_t)]).await.unwrap();
    Planted { s, t, canary_s, canary_t, snapshots, warm }
}

/// S's data key in clear, as only the guard ever holds it (to scan for its bytes).
async fn data_key_of(world: &World, subject: &SubjectId) -> Vec<u8> {
    let Some(KeyState::Active(wrapped)) =
        world.guarded.guard().key_store().get(&tenant(), subject).await.unwrap()
    else {
        panic!("S has a key")
    };
    let key = LocalKeyProvider::new(MASTER)
        .unwrap(&tenant(), wrapped.tenant_key_version, &wrapped.wrapped, &wrapped.associated_data())
        .await
        .unwrap();
    key.as_bytes().to_vec()
}

/// Every tier after the shred: no canary of S, no byte of S's key; WAL reported apart.
async fn scan_every_tier(world: &World, canary: &[u8], key: &[u8]) {
    let (data_files, wal) = pg_files(&world.cluster);
    assert_eq!(hits(&data_files, canary), 0, "S's canary in PostgreSQL data files");
    assert_eq!(hits(&data_files, key), 0, "S's data key in PostgreSQL data files");
    let redis_bytes = redis_dump(&mut world.redis.clone()).await;
    assert!(memchr::memmem::find(&redis_bytes, canary).is_none(), "S's canary in Redis");
    assert!(memchr::memmem::find(&redis_bytes, key).is_none(), "S's key in Redis");
    let objects = s3_dump(raw_s3().as_ref(), &world.archive_prefix).await;
    assert!(memchr::memmem::find(&objects, canary).is_none(), "S's canary in S3 objects");
    assert!(memchr::memmem::find(&objects, key).is_none(), "S's key in S3 objects");
    let records = kafka_dump(&world.kafka, &world.topic, 2).await;
    assert!(memchr::memmem::find(&records, canary).is_none(), "S's canary in Kafka");
    assert!(memchr::memmem::find(&records, key).is_none(), "S's key in Kafka");
    report_wal(&wal, canary, key);
    assert_eq!(hits(&wal, key), 0, "the clear data key is never written, not even to WAL");
}

#[allow(clippy::print_stdout, reason = "what stays in WAL is reported, not asserted")]
fn report_wal(wal: &[PathBuf], canary: &[u8], key: &[u8]) {
    println!(
        "WAL, outside reach until recycled: {} of {} segments hold S's canary (read-model rows), {} S's key",
        hits(wal, canary),
        wal.len(),
        hits(wal, key)
    );
}

/// S is gone above the stores; T is whole in every tier.
async fn t_is_whole(world: &World, planted: &Planted, run: &str) {
    let Planted { s, t, canary_t, snapshots, warm, .. } = planted;
    let found = |bytes: &[u8]| memchr::memmem::find(bytes, canary_t.as_bytes()).is_some();
    let read_s = world.guarded.read_stream(s, ReadStreamOptions::from_start()).await.unwrap();
    assert!(read_s.iter().all(RecordedEvent::is_shredded));
    assert_eq!(snapshots.load(s).await.unwrap(), None);
    let read_t = world.guarded.read_stream(t, ReadStreamOptions::from_start()).await.unwrap();
    assert!(read_t.iter().all(|e| found(&e.payload)));
    assert!(snapshots.load(t).await.unwrap().is_some());
    let warm_t = warm.read_stream(t, ReadStreamOptions::from_start()).await.unwrap();
    assert!(warm_t.iter().any(|e| found(&e.payload)));
    // The cold tier holds ciphertext: read it through the guard.
    let archive = ParquetArchive::s3(&s3_config()).unwrap().with_prefix(&format!("at-rest-{run}"));
    let cold = TieredLog::new(world.warm.clone(), Arc::new(archive))
        .read_all(Position::START, 1_000)
        .await
        .unwrap();
    let cold_store = InMemoryEventStore::new();
    for e in cold.iter().filter(|e| e.position.get() <= 3) {
        let new = NewEvent {
            event_id: e.event_id,
            event_type: e.event_type.clone(),
            schema_version: e.schema_version,
            occurred_at: e.occurred_at,
            metadata: e.metadata.clone(),
            content_type: e.content_type.clone(),
            payload: e.payload.clone(),
        };
        cold_store.append(&e.stream_id, ExpectedVersion::Any, &[new]).await.unwrap();
    }
    let cold_read = GuardedStore::new(cold_store, world.guarded.guard().clone())
        .read_all(Position::START, 100)
        .await
        .unwrap();
    assert!(cold_read.iter().any(|e| found(&e.payload)), "T readable from the cold tier");
    assert!(cold_read.iter().filter(|e| &e.stream_id == s).all(RecordedEvent::is_shredded));
    assert!(found(&redis_dump(&mut world.redis.clone()).await), "T's view stays in Redis");
    let pool = sqlx::PgPool::connect(&world.cluster.url()).await.unwrap();
    let t_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM hot.notes_v1 WHERE stream_id = $1")
        .bind(t.as_str())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(t_rows, 10, "T's read-model rows stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shredded_subject_leaves_neither_its_canary_nor_its_key_in_any_tier() {
    let run = format!("{}", std::process::id());
    let world = build(&run).await;
    let planted = plant(&world, &run).await;
    project(&world, &run).await;
    // Positive controls: the scans see plaintext where it exists.
    let pool = sqlx::PgPool::connect(&world.cluster.url()).await.unwrap();
    sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
    let canary = planted.canary_s.as_bytes();
    assert!(
        hits(&pg_files(&world.cluster).0, canary) > 0,
        "control: the read model holds S's canary before the shred"
    );
    let redis_before = redis_dump(&mut world.redis.clone()).await;
    assert!(memchr::memmem::find(&redis_before, canary).is_some(), "control: Redis holds S's view");
    let subject = SubjectId::new(planted.s.as_str()).unwrap();
    let key = data_key_of(&world, &subject).await;

    // Shred S; the read models and Kafka see the notice; PostgreSQL compacts and checkpoints.
    let meta = EventMetadata { tenant_id: tenant(), ..EventMetadata::default() };
    world.guarded.shred(&subject, &meta).await.unwrap();
    project(&world, &run).await;
    for statement in
        ["VACUUM FULL hot.fintra_subject_keys", "VACUUM FULL hot.notes_v1", "CHECKPOINT"]
    {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    scan_every_tier(&world, canary, &key).await;
    t_is_whole(&world, &planted, &run).await;
}
