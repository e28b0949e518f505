//! `tracing` never records payloads: with a subscriber that takes every span and event at every
//! level (sqlx's statement logs included), a canary planted in event payloads and snapshot state
//! goes through sealing, appends (first and retried), conflicts, reads, a projection that applies
//! it, a projection that refuses it (and parks it), snapshots and shredding — and appears in no
//! recorded field. The capture itself is checked: it must hold the park warning and SQL.
//!
//! Needs the shared PostgreSQL (`FINTRA_DATABASE_URL`, `scripts/test.sh` starts it).

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fintra_core::testing::conformance::event;
use fintra_core::{
    EventStore, ExpectedVersion, NewEvent, Position, ReadStreamOptions, Snapshot, SnapshotStore,
    StreamId, StreamVersion, TenantId,
};
use fintra_guard::keys::postgres::PgKeyStore;
use fintra_guard::{Guard, GuardedSnapshots, GuardedStore, LocalKeyProvider, SubjectId};
use fintra_projections::{PgSink, PoisonPolicy, ProjectionRunner, RunnerOptions};
use fintra_store_postgres::PgSnapshotStore;
use fintra_store_postgres::testing::TestSchema;

mod common;
use common::notes::Notes;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// A subscriber that writes every field of every span and event into one buffer.
struct Capture {
    text: Arc<Mutex<String>>,
    next_id: AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        let _ = write!(self.0, "{}={} ", field.name(), String::from_utf8_lossy(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = self.text.lock().unwrap();
        let _ = write!(text, "\nspan {} ", span.metadata().name());
        span.record(&mut Fields(&mut text));
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Fields(&mut self.text.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = self.text.lock().unwrap();
        let _ = write!(text, "\n{} {} ", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut text));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn tenant() -> TenantId {
    TenantId::new("trace-bank").unwrap()
}

fn profile(n: u128) -> StreamId {
    StreamId::for_aggregate("Profile", uuid::Uuid::from_u128(n)).unwrap()
}

fn note(n: u64, canary: &str) -> NewEvent {
    let mut e = event(n);
    e.event_type = "Noted".into();
    e.metadata.tenant_id = tenant();
    e.payload = Bytes::from(format!("{{\"note\":\"{canary} #{n}\"}}"));
    e
}

#[test]
fn tracing_records_no_payload_on_any_path() {
    let text = Arc::new(Mutex::new(String::new()));
    let capture = Capture { text: Arc::clone(&text), next_id: AtomicU64::new(1) };
    tracing::subscriber::set_global_default(capture).unwrap();
    let canary = format!(
        "TRACE-CANARY-{}",
        uuid::Uuid::from_u128(0x7ace_0000_u128 + u128::from(std::process::id())).simple()
    );
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(exercise(&canary));
    let text = text.lock().unwrap();
    assert!(
        text.contains("parked a refused event"),
        "the capture must hold fintra's own warnings; it holds:\n{}",
        &text[..text.len().min(2_000)]
    );
    assert!(
        text.contains("INSERT INTO"),
        "the capture must hold sqlx's statement logs; it holds:\n{}",
        &text[..text.len().min(2_000)]
    );
    let leaks: Vec<&str> = text.lines().filter(|line| line.contains(&canary)).collect();
    assert!(leaks.is_empty(), "tracing recorded a payload:\n{}", leaks.join("\n"));
    eprintln!("captured {} lines of tracing output, no payload among them", text.lines().count());
}

async fn exercise(canary: &str) {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let keys = PgKeyStore::new(schema.pool.clone());
    keys.migrate().await.unwrap();
    let guard = Arc::new(Guard::new(Arc::new(LocalKeyProvider::new([0x42; 32])), Arc::new(keys)));
    let guarded = Arc::new(GuardedStore::new(store.clone(), Arc::clone(&guard)));
    let (s, t) = (profile(1), profile(2));
    let batch: Vec<NewEvent> = (0..5).map(|n| note(n, canary)).collect();
    guarded.append(&s, ExpectedVersion::NoStream, &batch).await.unwrap();
    // A retry of the same events (idempotent) and a conflicting append.
    guarded.append(&s, ExpectedVersion::NoStream, &batch).await.unwrap();
    let conflict =
        guarded.append(&s, ExpectedVersion::Exact(StreamVersion(1)), &[note(9, canary)]).await;
    assert!(conflict.is_err(), "a stale expected version must conflict");
    // Plain (unguarded) events of another stream carry the canary too.
    store.append(&t, ExpectedVersion::Any, &[note(20, canary)]).await.unwrap();
    guarded.read_stream(&s, ReadStreamOptions::default()).await.unwrap();
    guarded.read_all(Position::START, 100).await.unwrap();

    let runner = ProjectionRunner::new(Arc::clone(&guarded), RunnerOptions::default());
    let mut notes = PgSink::new(schema.pool.clone(), Notes { refuse: false }).await.unwrap();
    runner.catch_up(&mut notes).await.unwrap();
    let parking = RunnerOptions { on_poison: PoisonPolicy::Park, ..RunnerOptions::default() };
    let strict = ProjectionRunner::new(Arc::clone(&guarded), parking);
    let mut refusing = PgSink::new(schema.pool.clone(), Notes { refuse: true }).await.unwrap();
    let report = strict.catch_up(&mut refusing).await.unwrap();
    assert_eq!(report.parked, 6, "every note is parked by the refusing projection");

    let snapshots = GuardedSnapshots::new(
        PgSnapshotStore::new(schema.pool.clone()),
        Arc::clone(&guard),
        tenant(),
    );
    let state = Bytes::from(format!("{{\"last_note\":\"{canary}\"}}"));
    let snapshot = Snapshot {
        stream_id: s.clone(),
        version: StreamVersion(5),
        schema_version: 1,
        state,
        occurred_at: chrono::DateTime::UNIX_EPOCH,
    };
    snapshots.save(&snapshot).await.unwrap();
    assert!(snapshots.load(&s).await.unwrap().is_some());

    let subject = SubjectId::new(s.as_str()).unwrap();
    let meta = fintra_core::EventMetadata { tenant_id: tenant(), ..Default::default() };
    guarded.shred(&subject, &meta).await.unwrap();
    runner.catch_up(&mut notes).await.unwrap();
    guarded.read_all(Position::START, 100).await.unwrap();
}
