//! Guard benchmark (a macro harness that prints a table):
//!
//! 1. append and catch-up throughput with every event sealed (`GuardedStore`) against the same
//!    run without it, in memory and on PostgreSQL — the cost of encryption;
//! 2. shred latency (key tombstone + `SubjectShredded` append), in memory and on PostgreSQL;
//! 3. redaction throughput (MB/s) over the hand-written PII lines, repeated.
//!
//! `cargo bench -p benches --bench guard` with PostgreSQL up (FINTRA_DATABASE_URL). Sizes:
//! `FINTRA_GUARD_EVENTS` (default 40,000 over 100 profiles, batches of 100), `FINTRA_GUARD_RUNS`
//! (default 5), `FINTRA_GUARD_SHREDS` (default 200).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use benches::{env, median};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use fintra_core::{
    ContentType, EventMetadata, EventStore, ExpectedVersion, InMemoryEventStore, NewEvent,
    Position, StreamId, TenantId,
};
use fintra_guard::keys::postgres::PgKeyStore;
use fintra_guard::{Guard, GuardedStore, InMemoryKeyStore, KeyStore, LocalKeyProvider, SubjectId};
use fintra_store_postgres::PgEventStore;
use fintra_store_postgres::testing::TestSchema;

fn tenant() -> TenantId {
    TenantId::new("bench").unwrap()
}

fn profile(n: u64) -> StreamId {
    StreamId::for_aggregate("Profile", uuid::Uuid::from_u128(u128::from(n) + 1)).unwrap()
}

/// Batch `b` of 100 events for profile `b % profiles`, ~300-byte JSON payloads.
fn batch(b: u64) -> Vec<NewEvent> {
    (0..100u64)
        .map(|k| {
            let n = b * 100 + k;
            NewEvent {
                event_id: uuid::Uuid::from_u128(u128::from(n) + 1),
                event_type: "TransactionsImported".into(),
                schema_version: 1,
                occurred_at: chrono::DateTime::UNIX_EPOCH,
                metadata: EventMetadata { tenant_id: tenant(), ..EventMetadata::default() },
                content_type: ContentType::json(),
                payload: Bytes::from(format!(
                    "{{\"n\":{n},\"transaction_id\":\"plaid:t{n}\",\"description\":\"FPO TO J SMITH REF RENT {n}\",\"amount_minor\":-{},\"currency\":\"GBP\",\"category\":\"Housing\",\"merchant\":\"Ocean Properties Ltd\",\"date\":\"2025-01-01\"}}",
                    n % 100_000
                )),
            }
        })
        .collect()
}

/// (appends/s, catch-up events/s) of `store` for `events` events over `profiles` streams. Each
/// profile has one event before the clock starts (its key exists: the steady state); the
/// catch-up reads the whole log.
async fn append_and_read<S: EventStore>(store: &S, events: u64, profiles: u64) -> (f64, f64) {
    for p in 0..profiles {
        store.append(&profile(p), ExpectedVersion::Any, &batch(1_000_000 + p)[..1]).await.unwrap();
    }
    let started = Instant::now();
    for b in 0..events / 100 {
        store.append(&profile(b % profiles), ExpectedVersion::Any, &batch(b)).await.unwrap();
    }
    let append = events as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let (mut after, mut read) = (Position::START, 0u64);
    loop {
        let page = store.read_all(after, 1_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        read += page.len() as u64;
    }
    assert_eq!(read, events + profiles);
    (append, (events + profiles) as f64 / started.elapsed().as_secs_f64())
}

fn guard(keys: Arc<dyn KeyStore>) -> Arc<Guard> {
    Arc::new(Guard::new(Arc::new(LocalKeyProvider::new([7; 32])), keys))
}

struct Row {
    name: &'static str,
    plain: Vec<(f64, f64)>,
    sealed: Vec<(f64, f64)>,
}

async fn in_memory(events: u64, profiles: u64) -> ((f64, f64), (f64, f64)) {
    let plain = append_and_read(&InMemoryEventStore::new(), events, profiles).await;
    let sealed =
        GuardedStore::new(InMemoryEventStore::new(), guard(Arc::new(InMemoryKeyStore::new())));
    (plain, append_and_read(&sealed, events, profiles).await)
}

async fn on_postgres(events: u64, profiles: u64) -> ((f64, f64), (f64, f64)) {
    let schema = TestSchema::new().await;
    let plain = append_and_read(&schema.store(), events, profiles).await;
    let schema = TestSchema::new().await;
    let keys = PgKeyStore::new(schema.pool.clone());
    keys.migrate().await.unwrap();
    let sealed = GuardedStore::new(schema.store(), guard(Arc::new(keys)));
    (plain, append_and_read(&sealed, events, profiles).await)
}

/// Median shred latency over `n` subjects that each have one sealed event.
async fn shred_latency<S: EventStore>(store: &GuardedStore<S>, n: u64) -> Duration {
    for k in 0..n {
        store
            .append(&profile(10_000 + k), ExpectedVersion::Any, &batch(10_000 + k)[..1])
            .await
            .unwrap();
    }
    let meta = EventMetadata { tenant_id: tenant(), ..EventMetadata::default() };
    let mut samples = Vec::new();
    for k in 0..n {
        let subject = SubjectId::new(profile(10_000 + k).as_str()).unwrap();
        let started = Instant::now();
        store.shred(&subject, &meta).await.unwrap();
        samples.push(started.elapsed().as_secs_f64());
    }
    Duration::from_secs_f64(median(samples))
}

fn redaction_mb_per_s() -> (f64, usize) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fintra-guard/tests/data/pii_handwritten.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    let rounds = (8 << 20) / bytes.max(1) + 1;
    let started = Instant::now();
    let mut found = 0;
    for _ in 0..rounds {
        for line in &lines {
            found += fintra_guard::redact::redact(line).findings.len();
        }
    }
    ((bytes * rounds) as f64 / 1e6 / started.elapsed().as_secs_f64(), found)
}

fn print_row(row: &Row) {
    let pick = |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(v.iter().map(f).collect());
    for (what, f) in
        [("append", (|x: &(f64, f64)| x.0) as fn(&(f64, f64)) -> f64), ("catch-up", |x| x.1)]
    {
        let (p, s) = (pick(&row.plain, f), pick(&row.sealed, f));
        println!("| {} {what} | {p:.0} | {s:.0} | {:.1} % |", row.name, (1.0 - s / p) * 100.0);
    }
}

fn main() {
    let events = env("FINTRA_GUARD_EVENTS", 40_000);
    let runs = env("FINTRA_GUARD_RUNS", 5);
    let shreds = env("FINTRA_GUARD_SHREDS", 200);
    let profiles = 100;
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut memory = Row { name: "in memory", plain: Vec::new(), sealed: Vec::new() };
    let mut postgres = Row { name: "PostgreSQL", plain: Vec::new(), sealed: Vec::new() };
    for _ in 0..runs {
        let (p, s) = rt.block_on(in_memory(events, profiles));
        memory.plain.push(p);
        memory.sealed.push(s);
        let (p, s) = rt.block_on(on_postgres(events, profiles));
        postgres.plain.push(p);
        postgres.sealed.push(s);
    }
    println!(
        "| workload (median of {runs}, {events} events, {profiles} profiles, batches of 100) | plain events/s | sealed events/s | cost |"
    );
    println!("|---|---:|---:|---:|");
    print_row(&memory);
    print_row(&postgres);
    let (memory_shred, pg_shred) = rt.block_on(async {
        let memory =
            GuardedStore::new(InMemoryEventStore::new(), guard(Arc::new(InMemoryKeyStore::new())));
        let schema = TestSchema::new().await;
        let keys = PgKeyStore::new(schema.pool.clone());
        keys.migrate().await.unwrap();
        let pg: GuardedStore<PgEventStore> =
            GuardedStore::new(schema.store(), guard(Arc::new(keys)));
        (shred_latency(&memory, shreds).await, shred_latency(&pg, shreds).await)
    });
    println!(
        "\nshred latency (median of {shreds}): in memory {memory_shred:?}, PostgreSQL {pg_shred:?}"
    );
    let (mb, found) = redaction_mb_per_s();
    println!("redaction: {mb:.1} MB/s over the hand-written lines ({found} findings)");
}
