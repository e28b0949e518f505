//! Kernel micro benchmarks: in-memory append throughput and aggregate rehydration.
//!
//! `cargo bench -p benches --bench kernel`. Results are recorded in `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use examples::bank_account::{BankAccount, Command, Event};
use fintra_core::{
    Asset, ContentType, EventMetadata, EventStore, ExpectedVersion, InMemoryEventStore, Money,
    NewEvent, Repository, StreamId,
};
use futures::executor::block_on;

fn payload(n: u64) -> Vec<u8> {
    format!("{{\"amount_minor\":{n},\"currency\":\"GBP\",\"memo\":\"coffee\"}}").into_bytes()
}

const STREAMS: u64 = 1_000;
/// A fresh store every this many events, so memory stays flat however long criterion runs.
const EVENTS_PER_STORE: u64 = 200_000;

fn new_event(n: u64) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::from_u128(u128::from(n) + 1),
        event_type: "Deposited".to_owned(),
        schema_version: 1,
        occurred_at: chrono::DateTime::UNIX_EPOCH,
        metadata: EventMetadata::default(),
        content_type: ContentType::json(),
        payload: payload(n).into(),
    }
}

/// Appends `iters` batches of `batch` events, timing only the appends.
fn time_appends(iters: u64, batch: u64) -> Duration {
    let streams: Vec<StreamId> =
        (0..STREAMS).map(|s| StreamId::new(format!("bench-{s}")).expect("valid")).collect();
    let mut elapsed = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let chunk = (iters - done).min((EVENTS_PER_STORE / batch).max(1));
        let store = InMemoryEventStore::new();
        let batches: Vec<Vec<NewEvent>> = (0..chunk)
            .map(|b| (0..batch).map(|i| new_event((done + b) * batch + i)).collect())
            .collect();
        let start = Instant::now();
        for (b, events) in batches.iter().enumerate() {
            let stream = &streams[b % streams.len()];
            block_on(store.append(stream, ExpectedVersion::Any, events)).expect("append");
        }
        elapsed += start.elapsed();
        done += chunk;
    }
    elapsed
}

fn append_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("in_memory_append");
    for batch in [1u64, 100] {
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(BenchmarkId::new("events_per_batch", batch), &batch, |b, &batch| {
            b.iter_custom(|iters| time_appends(iters, batch));
        });
    }
    group.finish();
}

fn rehydration(c: &mut Criterion) {
    let mut group = c.benchmark_group("rehydrate_bank_account");
    for events in [1_000u64, 100_000] {
        let store = InMemoryEventStore::new();
        let accounts = Repository::<BankAccount, _>::new(store);
        let stream = accounts.stream_id(uuid::Uuid::from_u128(1)).expect("stream");
        let meta = EventMetadata::default();
        block_on(async {
            let open = Command::Open { owner: "bench".into(), currency: Asset::GBP };
            accounts.execute(&stream, &open, &meta).await.expect("open");
            let at = chrono::DateTime::UNIX_EPOCH;
            let deposits: Vec<Event> = (1..events)
                .map(|_| Event::Deposited { amount: Money::new(1, Asset::GBP), at })
                .collect();
            for chunk in deposits.chunks(1_000) {
                let encoded =
                    accounts.encode(chunk, chrono::DateTime::UNIX_EPOCH, &meta).expect("encode");
                accounts
                    .store()
                    .append(&stream, ExpectedVersion::Any, &encoded)
                    .await
                    .expect("append");
            }
        });
        group.throughput(Throughput::Elements(events));
        group.bench_with_input(BenchmarkId::new("events", events), &events, |b, _| {
            b.iter(|| black_box(block_on(accounts.load(&stream)).expect("load")));
        });
    }
    group.finish();
}

criterion_group! {
    name = kernel;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = append_throughput, rehydration
}
criterion_main!(kernel);
