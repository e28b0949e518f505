//! Repository behaviour: loading with snapshots, retries on conflict, time travel, forks,
//! codecs and upcasting. Uses a small counter aggregate with one rule.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use fintra_core::{
    Aggregate, AsOf, Clock, ContentType, DecideContext, DomainEvent, Error, EventMetadata,
    EventStore, EventStoreExt, ExecuteError, ExpectedVersion, InMemoryEventStore,
    InMemorySnapshotStore, ManualClock, ProstCodec, Repository, SequentialIdGenerator,
    SnapshotStore, StreamVersion, Upcasters,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Tally {
    total: i64,
    count: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Added {
    amount: i64,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

impl DomainEvent for Added {
    fn event_type(&self) -> &'static str {
        "Added"
    }
    fn schema_version(&self) -> u32 {
        2
    }
    fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.at
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
enum TallyError {
    #[error("total would exceed {0}")]
    Cap(i64),
}

const CAP: i64 = 1_000;

impl Aggregate for Tally {
    const CATEGORY: &'static str = "tally";
    type Command = i64;
    type Event = Added;
    type Error = TallyError;

    fn decide(&self, amount: &i64, _: &DecideContext<'_>) -> Result<Vec<Added>, TallyError> {
        if *amount == 0 {
            return Ok(Vec::new());
        }
        if self.total + amount > CAP {
            return Err(TallyError::Cap(CAP));
        }
        Ok(vec![Added { amount: *amount, at: None }])
    }

    fn apply(&mut self, event: &Added) {
        self.total += event.amount;
        self.count += 1;
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()
}

fn repository(clock: &Arc<ManualClock>) -> Repository<Tally, InMemoryEventStore> {
    Repository::new(InMemoryEventStore::with_clock(clock.clone()))
        .with_clock(clock.clone())
        .with_ids(Arc::new(SequentialIdGenerator::default()))
}

fn meta() -> EventMetadata {
    EventMetadata::default()
}

#[tokio::test]
async fn execute_appends_decided_events_and_refuses_broken_rules() {
    let clock = Arc::new(ManualClock::new(start()));
    let repo = repository(&clock);
    let s = repo.stream_id(uuid::Uuid::from_u128(1)).unwrap();
    assert_eq!(s.as_str(), "tally-00000000-0000-0000-0000-000000000001");

    let done = repo.execute(&s, &400, &meta()).await.unwrap();
    assert_eq!(done.state.total, 400);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.append.unwrap().last_version, StreamVersion(1));

    let refused = repo.execute(&s, &700, &meta()).await;
    assert!(matches!(refused, Err(ExecuteError::Rejected(TallyError::Cap(1_000)))));
    let noop = repo.execute(&s, &0, &meta()).await.unwrap();
    assert!(noop.append.is_none() && noop.events.is_empty());
    assert_eq!(repo.store().stream_version(&s).await.unwrap(), StreamVersion(1));

    let recorded = repo.store().read_stream_to_vec(&s, 10).await.unwrap();
    assert_eq!(recorded[0].schema_version, 2);
    assert_eq!(recorded[0].occurred_at, start(), "events without their own time get the command's");
    assert_eq!(recorded[0].content_type, ContentType::json());
}

/// A store that lets a rival writer append right before each of the first `n` appends, so
/// the repository sees real conflicts.
struct Contended {
    inner: InMemoryEventStore,
    rival_appends: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl EventStore for Contended {
    async fn append(
        &self,
        stream: &fintra_core::StreamId,
        expected: ExpectedVersion,
        events: &[fintra_core::NewEvent],
    ) -> fintra_core::Result<fintra_core::AppendResult> {
        use std::sync::atomic::Ordering;
        if self.rival_appends.load(Ordering::SeqCst) > 0 {
            self.rival_appends.fetch_sub(1, Ordering::SeqCst);
            let rival = fintra_core::testing::conformance::event(
                u64::from(self.rival_appends.load(Ordering::SeqCst)) + 500,
            );
            let mut rival = rival;
            rival.event_type = "Added".into();
            rival.schema_version = 2;
            rival.payload = br#"{"amount":1}"#.as_slice().into();
            self.inner.append(stream, ExpectedVersion::Any, &[rival]).await?;
        }
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &fintra_core::StreamId,
        options: fintra_core::ReadStreamOptions,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        self.inner.read_stream(stream, options).await
    }
    async fn read_all(
        &self,
        after: fintra_core::Position,
        limit: usize,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        self.inner.read_all(after, limit).await
    }
    async fn stream_version(
        &self,
        stream: &fintra_core::StreamId,
    ) -> fintra_core::Result<StreamVersion> {
        self.inner.stream_version(stream).await
    }
}

#[tokio::test]
async fn conflicts_are_retried_up_to_the_bound() {
    let contended = Contended { inner: InMemoryEventStore::new(), rival_appends: 3.into() };
    let repo = Repository::<Tally, _>::new(contended).with_attempts_max(4).unwrap();
    let s = repo.stream_id(uuid::Uuid::from_u128(2)).unwrap();
    let done = repo.execute(&s, &10, &meta()).await.unwrap();
    assert_eq!(done.attempts, 4, "three rival appends, then success");
    assert_eq!(done.state, Tally { total: 13, count: 4 }, "decided against the fresh state");

    let contended = Contended { inner: InMemoryEventStore::new(), rival_appends: 5.into() };
    let repo = Repository::<Tally, _>::new(contended).with_attempts_max(2).unwrap();
    let result = repo.execute(&s, &10, &meta()).await;
    assert!(matches!(result, Err(ExecuteError::Store(Error::Conflict { .. }))));

    let repo = Repository::<Tally, _>::new(InMemoryEventStore::new());
    assert!(matches!(repo.with_attempts_max(0), Err(Error::InvalidInput { .. })));
    let repo = Repository::<Tally, _>::new(InMemoryEventStore::new());
    let over = fintra_core::limits::COMMAND_ATTEMPTS_MAX + 1;
    assert!(matches!(repo.with_attempts_max(over), Err(Error::LimitExceeded { .. })));
}

#[tokio::test]
async fn snapshots_are_taken_every_n_events_and_used_on_load() {
    let clock = Arc::new(ManualClock::new(start()));
    let snapshots = Arc::new(InMemorySnapshotStore::new());
    let repo = repository(&clock).with_snapshots(snapshots.clone(), 3).unwrap();
    let s = repo.stream_id(uuid::Uuid::from_u128(3)).unwrap();
    for _ in 0..7 {
        let done = repo.execute(&s, &10, &meta()).await.unwrap();
        assert!(done.snapshot_error.is_none());
    }
    let snapshot = snapshots.load(&s).await.unwrap().unwrap();
    assert_eq!(snapshot.version, StreamVersion(6));
    let loaded = repo.load(&s).await.unwrap();
    assert_eq!((loaded.state.total, loaded.version), (70, StreamVersion(7)));

    // The snapshot is really used: a doctored snapshot shows through (which also proves
    // snapshots must never be written by anything but the repository).
    let mut doctored = snapshot.clone();
    doctored.version = StreamVersion(7);
    doctored.state = serde_json::to_vec(&Tally { total: -1, count: 7 }).unwrap().into();
    assert_eq!(repo.verify_snapshot(&s).await.unwrap(), Some(StreamVersion(6)));
    snapshots.save(&doctored).await.unwrap();
    assert_eq!(repo.load(&s).await.unwrap().state.total, -1);
    // … and an audit replays the events and finds it out.
    let audit = repo.verify_snapshot(&s).await;
    assert!(matches!(audit, Err(Error::Corrupted { .. })), "{audit:?}");

    // A snapshot of another schema version is ignored.
    let mut foreign = doctored.clone();
    foreign.version = StreamVersion(8);
    foreign.schema_version = 99;
    snapshots.save(&foreign).await.unwrap();
    assert_eq!(repo.load(&s).await.unwrap().state.total, 70);
    assert!(matches!(
        repository(&clock).with_snapshots(snapshots, 0),
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn time_travel_by_version_and_by_either_timeline() {
    let clock = Arc::new(ManualClock::new(start()));
    let repo = repository(&clock);
    let s = repo.stream_id(uuid::Uuid::from_u128(4)).unwrap();
    for amount in [1, 10, 100] {
        repo.execute(&s, &amount, &meta()).await.unwrap();
        clock.advance(Duration::days(1));
    }
    // A back-dated correction recorded on day 3 that occurred on day 0.
    let backdated = Added { amount: 1_000 - 111, at: Some(start()) };
    let encoded = repo.encode(&[backdated], clock.now(), &meta()).unwrap();
    repo.store().append(&s, ExpectedVersion::Exact(StreamVersion(3)), &encoded).await.unwrap();

    let v2 = repo.load_at_version(&s, StreamVersion(2)).await.unwrap();
    assert_eq!((v2.state.total, v2.version), (11, StreamVersion(2)));
    let beyond = repo.load_at_version(&s, StreamVersion(50)).await.unwrap();
    assert_eq!(beyond.state.total, 1_000);

    let day1 = start() + Duration::hours(12);
    let occurred = repo.load_as_of(&s, AsOf::Occurred(day1)).await.unwrap();
    assert_eq!(occurred.state.total, 1 + 889, "what was true on day 0.5, corrections included");
    let recorded = repo.load_as_of(&s, AsOf::Recorded(day1)).await.unwrap();
    assert_eq!(recorded.state.total, 1, "what the system knew on day 0.5");
}

#[tokio::test]
async fn forks_edit_history_without_touching_the_live_stream() {
    let clock = Arc::new(ManualClock::new(start()));
    let repo = repository(&clock);
    let s = repo.stream_id(uuid::Uuid::from_u128(5)).unwrap();
    for amount in [100, 200, 300] {
        repo.execute(&s, &amount, &meta()).await.unwrap();
    }
    let live = repo.store().read_stream_to_vec(&s, 10).await.unwrap();
    let second = live[1].event_id;

    let without = repo.fork(&s).await.unwrap().without(second).unwrap().build().await.unwrap();
    assert_eq!(without.state().total, 400);
    assert_eq!(without.loaded().version, StreamVersion(2));

    let replaced = repo.fork(&s).await.unwrap();
    let replaced = replaced.replacing(second, &Added { amount: 5, at: None }).unwrap();
    let replaced = replaced.inserting_after(live[0].event_id, &Added { amount: 7, at: None });
    let branch = replaced.unwrap().appending(&Added { amount: 1, at: None }).unwrap();
    assert_eq!(branch.events().len(), 5);
    let branch = branch.build().await.unwrap();
    assert_eq!(branch.state().total, 100 + 7 + 5 + 300 + 1);

    // Commands run on the branch's own repository; the rule sees the alternate history.
    let more = branch.repository().execute(branch.stream_id(), &500, &meta()).await.unwrap();
    assert_eq!(more.state.total, 913);
    let refused = branch.repository().execute(branch.stream_id(), &100, &meta()).await;
    assert!(matches!(refused, Err(ExecuteError::Rejected(_))));

    let missing = repo.fork(&s).await.unwrap().without(uuid::Uuid::from_u128(999));
    assert!(matches!(missing, Err(Error::NotFound { .. })));
    let after = repo.store().read_stream_to_vec(&s, 10).await.unwrap();
    assert_eq!(after, live, "the live stream is unchanged");

    let early = repo.fork_as_of(&s, Some(AsOf::Occurred(start()))).await.unwrap();
    assert_eq!(early.build().await.unwrap().state().total, 600, "all three occurred at start");
}

#[derive(Clone, PartialEq, prost::Message)]
struct Credited {
    #[prost(int64, tag = "1")]
    amount_minor: i64,
    #[prost(string, tag = "2")]
    memo: String,
}

impl DomainEvent for Credited {
    fn event_type(&self) -> &'static str {
        "Credited"
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Ledgerish {
    total: i64,
}

impl Aggregate for Ledgerish {
    const CATEGORY: &'static str = "ledgerish";
    type Command = i64;
    type Event = Credited;
    type Error = TallyError;
    fn decide(&self, amount: &i64, _: &DecideContext<'_>) -> Result<Vec<Credited>, TallyError> {
        Ok(vec![Credited { amount_minor: *amount, memo: "pb".into() }])
    }
    fn apply(&mut self, event: &Credited) {
        self.total += event.amount_minor;
    }
}

#[tokio::test]
async fn protobuf_codec_round_trips_through_the_store() {
    let repo = Repository::<Ledgerish, _>::new(InMemoryEventStore::new())
        .with_codec(ProstCodec::<Credited>::new());
    let s = repo.stream_id(uuid::Uuid::from_u128(6)).unwrap();
    repo.execute(&s, &42, &meta()).await.unwrap();
    repo.execute(&s, &8, &meta()).await.unwrap();
    assert_eq!(repo.load(&s).await.unwrap().state.total, 50);
    let stored = repo.store().read_stream_to_vec(&s, 10).await.unwrap();
    assert_eq!(stored[0].content_type, ContentType::protobuf());
    assert!(stored[0].payload.len() < 12, "compact: {} bytes", stored[0].payload.len());

    // A JSON repository refuses Protobuf payloads with a typed codec error, not a panic.
    let json = Repository::<Tally, _>::new(repo.store().clone());
    let err = json.load(&fintra_core::StreamId::new(s.as_str()).unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::Codec { .. }), "{err}");
}

#[tokio::test]
async fn upcasters_bring_old_payloads_to_the_current_shape() {
    let store = InMemoryEventStore::new();
    let s = fintra_core::StreamId::new("tally-legacy").unwrap();
    // Schema 1 stored the amount as a string field named "value".
    let mut old = fintra_core::testing::conformance::event(1);
    old.event_type = "Added".into();
    old.payload = br#"{"value":"25"}"#.as_slice().into();
    store.append(&s, ExpectedVersion::NoStream, &[old]).await.unwrap();

    let plain = Repository::<Tally, _>::new(store.clone());
    assert!(matches!(plain.load(&s).await, Err(Error::Codec { .. })));

    let upcasters = Upcasters::new().with_json("Added", 1, |mut value| {
        let amount = value["value"]
            .as_str()
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| Error::invalid("value", "not a number"))?;
        value = serde_json::json!({ "amount": amount });
        Ok(value)
    });
    let repo = Repository::<Tally, _>::new(store).with_upcasters(upcasters);
    assert_eq!(repo.load(&s).await.unwrap().state.total, 25);

    let looping = Upcasters::new().with("Added", 1, Ok);
    let raw = fintra_core::RawEvent {
        event_type: "Added".into(),
        schema_version: 1,
        content_type: ContentType::json(),
        payload: bytes::Bytes::from_static(b"{}"),
    };
    assert!(matches!(looping.upcast(raw), Err(Error::Corrupted { .. })));
}

#[tokio::test]
async fn cached_aggregates_skip_the_load_but_never_decide_on_stale_state() {
    let store = InMemoryEventStore::new();
    let cached = Repository::<Tally, _>::new(store.clone()).with_cache(2).unwrap();
    let plain = Repository::<Tally, _>::new(store.clone());
    let s = cached.stream_id(uuid::Uuid::from_u128(10)).unwrap();

    assert_eq!(cached.execute(&s, &950, &meta()).await.unwrap().state.total, 950);
    assert_eq!(cached.cached_aggregates(), 1);

    // Another writer moves the stream on; the cache does not know.
    plain.execute(&s, &-900, &meta()).await.unwrap();
    // Against the cached 950 this would break the cap; the fresh 50 allows it.
    let done = cached.execute(&s, &500, &meta()).await.unwrap();
    assert_eq!(done.state.total, 550, "a rejection on cached state is confirmed on a fresh load");
    // The cache now holds 550; another write makes it stale again: the append conflicts.
    plain.execute(&s, &1, &meta()).await.unwrap();
    let done = cached.execute(&s, &1, &meta()).await.unwrap();
    assert_eq!((done.state.total, done.attempts), (552, 2), "stale entry → conflict → reload");
    assert_eq!(plain.load(&s).await.unwrap().state.total, 552, "the store agrees");

    // A real rejection still comes back as one.
    let refused = cached.execute(&s, &1_000, &meta()).await;
    assert!(matches!(refused, Err(ExecuteError::Rejected(TallyError::Cap(_)))));

    for i in 11..14 {
        let other = cached.stream_id(uuid::Uuid::from_u128(i)).unwrap();
        cached.execute(&other, &1, &meta()).await.unwrap();
    }
    assert_eq!(cached.cached_aggregates(), 2, "bounded by its capacity");
    let zero = Repository::<Tally, _>::new(InMemoryEventStore::new()).with_cache(0);
    assert!(matches!(zero, Err(Error::InvalidInput { .. })));
}

/// Regression test: a snapshot far beyond its stream was accepted.
///
/// Symptom: a snapshot saved at version 10^12 for a 20-event stream loaded as the state, and a
/// forged balance in it let a command through that the stream's own events could not cover.
/// Cause: loads read the events after the snapshot's version and found none, which looked like
/// an up-to-date stream.
/// Fix: a load reads from the snapshot's own version and requires the event there to exist
/// with the snapshot's domain time; otherwise the snapshot is `Corrupted`.
#[tokio::test]
async fn snapshot_beyond_the_stream_head_is_refused() {
    let clock = Arc::new(ManualClock::new(start()));
    let snapshots = Arc::new(InMemorySnapshotStore::new());
    let repo = repository(&clock).with_snapshots(snapshots.clone(), 100).unwrap();
    let s = repo.stream_id(uuid::Uuid::from_u128(33)).unwrap();
    for _ in 0..20 {
        repo.execute(&s, &10, &meta()).await.unwrap();
    }
    let forged = fintra_core::Snapshot {
        stream_id: s.clone(),
        version: StreamVersion(1_000_000_000_000),
        schema_version: <Tally as Aggregate>::SNAPSHOT_VERSION,
        occurred_at: start(),
        state: serde_json::to_vec(&Tally { total: -1_000_000, count: 1 }).unwrap().into(),
    };
    snapshots.save(&forged).await.unwrap();
    let loaded = repo.load(&s).await;
    assert!(matches!(loaded, Err(Error::Corrupted { .. })), "{loaded:?}");
    let spent = repo.execute(&s, &500, &meta()).await;
    assert!(matches!(spent, Err(ExecuteError::Store(Error::Corrupted { .. }))), "{spent:?}");

    // A snapshot at a real version whose domain time is not that event's is refused as well.
    let mut misplaced = forged.clone();
    misplaced.version = StreamVersion(20);
    misplaced.occurred_at = start() - Duration::days(1);
    let other = repo.stream_id(uuid::Uuid::from_u128(34)).unwrap();
    misplaced.stream_id = other.clone();
    for _ in 0..20 {
        repo.execute(&other, &1, &meta()).await.unwrap();
    }
    snapshots.save(&misplaced).await.unwrap();
    assert!(matches!(repo.load(&other).await, Err(Error::Corrupted { .. })));
    // Time travel before the snapshot does not use it, and still works.
    let early = repo.load_at_version(&other, StreamVersion(5)).await.unwrap();
    assert_eq!((early.state.total, early.version), (5, StreamVersion(5)));
}

/// A store whose stream moves on every read: another writer appends one `Added { amount: 1 }`
/// before each `read_stream`.
struct BusyStore {
    inner: InMemoryEventStore,
    next: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl EventStore for BusyStore {
    async fn append(
        &self,
        stream: &fintra_core::StreamId,
        expected: ExpectedVersion,
        events: &[fintra_core::NewEvent],
    ) -> fintra_core::Result<fintra_core::AppendResult> {
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &fintra_core::StreamId,
        options: fintra_core::ReadStreamOptions,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let other = fintra_core::NewEvent {
            event_id: uuid::Uuid::from_u128(u128::from(n) + 1_000_000),
            event_type: "Added".into(),
            schema_version: 2,
            occurred_at: start(),
            metadata: EventMetadata::default(),
            content_type: ContentType::json(),
            payload: br#"{"amount":1}"#.as_slice().into(),
        };
        self.inner.append(stream, ExpectedVersion::Any, &[other]).await?;
        self.inner.read_stream(stream, options).await
    }

    async fn read_all(
        &self,
        after: fintra_core::Position,
        limit: usize,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        self.inner.read_all(after, limit).await
    }

    async fn stream_version(
        &self,
        stream: &fintra_core::StreamId,
    ) -> fintra_core::Result<StreamVersion> {
        self.inner.stream_version(stream).await
    }
}

/// Regression test: `execute_in_place` retried a rejection for as long as another writer kept
/// appending.
///
/// Symptom: a command its rule refused, on a stream other writers never stopped writing to,
/// never returned.
/// Cause: the rejection path caught up and decided again without counting attempts.
/// Fix: each catch-up after a rejection counts as an attempt; past the limit the answer is a
/// `Conflict`, which the caller may retry.
#[tokio::test]
async fn execute_in_place_rejection_retries_are_capped() {
    let store = BusyStore { inner: InMemoryEventStore::new(), next: 0.into() };
    let repo = Repository::<Tally, _>::new(store).with_attempts_max(5).unwrap();
    let s = repo.stream_id(uuid::Uuid::from_u128(44)).unwrap();
    let mut loaded = repo.load(&s).await.unwrap();
    let refused = repo.execute_in_place(&s, &mut loaded, &(CAP + 1), &meta()).await;
    assert!(matches!(refused, Err(ExecuteError::Store(Error::Conflict { .. }))), "{refused:?}");
    assert!(loaded.state.total > 0, "it caught up with the other writer meanwhile");
}
