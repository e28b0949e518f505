//! The event store conformance suite: one public async function per property of the
//! [`EventStore`] contract, [`run_all`], and the [`event_store_conformance!`] macro that makes
//! each property its own test.
//!
//! Every function takes a store that is **empty** when called (a fresh database or schema per
//! test for SQL stores). Capabilities a store lacks are declared in [`Capabilities`]; the suite
//! then asserts that the store answers [`Error::Unsupported`] instead of skipping.
//!
//! The functions need no particular async runtime: concurrency comes from `join_all` and
//! explicit yields, so the race really interleaves even on an in-memory store.
//!
//! [`event_store_conformance!`]: crate::event_store_conformance

mod append;
mod limits;
mod read;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

pub use append::{
    RACE_APPENDS_PER_WRITER, RACE_WRITERS, concurrent_writers_race, duplicate_event_id,
    expected_version_any, expected_version_exact, expected_version_no_stream,
    failed_batch_leaves_nothing, idempotent_retry,
};
pub use limits::{invalid_input, limits_at_max_and_over};
pub use read::{
    global_order_across_streams, paging_by_bytes, paging_global_log, paging_stream, round_trip,
    time_travel_reads,
};

use crate::{
    ContentType, Error, EventMetadata, EventStore, NewEvent, Position, RecordedEvent, StreamId,
};

/// What a store can do. A `false` flag makes the suite assert [`Error::Unsupported`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `read_stream` with `AsOf::Recorded`.
    pub as_of_recorded: bool,
    /// `read_stream` with `AsOf::Occurred`.
    pub as_of_occurred: bool,
}

impl Capabilities {
    /// Everything the contract describes.
    pub const ALL: Self = Self { as_of_recorded: true, as_of_occurred: true };
}

/// Runs every property against stores made by `fresh` (called once per property).
///
/// # Panics
/// On the first property the store breaks, naming it.
pub async fn run_all<S, F, Fut>(mut fresh: F, caps: Capabilities)
where
    S: EventStore,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    round_trip(&fresh().await).await;
    expected_version_no_stream(&fresh().await).await;
    expected_version_exact(&fresh().await).await;
    expected_version_any(&fresh().await).await;
    idempotent_retry(&fresh().await).await;
    duplicate_event_id(&fresh().await).await;
    failed_batch_leaves_nothing(&fresh().await).await;
    global_order_across_streams(&fresh().await).await;
    paging_stream(&fresh().await).await;
    paging_global_log(&fresh().await).await;
    paging_by_bytes(&fresh().await).await;
    limits_at_max_and_over(&fresh().await).await;
    invalid_input(&fresh().await).await;
    time_travel_reads(&fresh().await, caps).await;
    concurrent_writers_race(&fresh().await).await;
}

/// Generates one test per conformance property.
///
/// `test` is the test attribute (e.g. `tokio::test`), `store` an async expression that yields a
/// fresh, empty store, `capabilities` a [`Capabilities`] value.
///
/// ```no_run
/// mod conformance {
///     fintra_core::event_store_conformance!(
///         test = tokio::test,
///         store = async { fintra_core::InMemoryEventStore::new() },
///         capabilities = fintra_core::testing::conformance::Capabilities::ALL,
///     );
/// }
/// ```
#[macro_export]
macro_rules! event_store_conformance {
    (test = $test:meta, store = $store:expr, capabilities = $caps:expr $(,)?) => {
        $crate::event_store_conformance!(@cases [$test] [$store] [$caps]
            round_trip, expected_version_no_stream, expected_version_exact,
            expected_version_any, idempotent_retry, duplicate_event_id,
            failed_batch_leaves_nothing, global_order_across_streams, paging_stream,
            paging_global_log, paging_by_bytes, limits_at_max_and_over, invalid_input,
            concurrent_writers_race
        );
        #[$test]
        async fn time_travel_reads() {
            let store = $store.await;
            $crate::testing::conformance::time_travel_reads(&store, $caps).await;
        }
    };
    (@cases [$test:meta] [$store:expr] [$caps:expr] $($name:ident),+) => {
        $(
            #[$test]
            async fn $name() {
                let store = $store.await;
                $crate::testing::conformance::$name(&store).await;
            }
        )+
    };
}

/// A fixed base instant for suite timestamps (microsecond precision, like every store keeps).
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).single().expect("a valid constant date")
}

/// A stream id for the suite.
pub fn stream(name: &str) -> StreamId {
    StreamId::new(format!("conformance-{name}")).expect("a valid stream name")
}

/// A deterministic event id: `n` in the low bits of a UUIDv7 layout.
pub fn event_id(n: u64) -> Uuid {
    let mut random = [0u8; 10];
    random[2..].copy_from_slice(&n.to_be_bytes());
    uuid::Builder::from_unix_timestamp_millis(1_709_294_400_000, &random).into_uuid()
}

/// An event whose payload and time derive from `n`, so two calls with the same `n` are equal.
pub fn event(n: u64) -> NewEvent {
    NewEvent {
        event_id: event_id(n),
        event_type: "ConformanceEvent".to_owned(),
        schema_version: 1,
        occurred_at: base_time() + Duration::seconds(i64::try_from(n).unwrap_or(0)),
        metadata: EventMetadata::default(),
        content_type: ContentType::json(),
        payload: Bytes::from(format!("{{\"n\":{n}}}")),
    }
}

/// Events `from..from+count`.
pub fn events(from: u64, count: u64) -> Vec<NewEvent> {
    (from..from + count).map(event).collect()
}

/// How long [`read_entire_log`] waits for committed events to become visible.
pub const VISIBILITY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads the whole global log page by page (page size `page`), until it holds at least
/// `expected` events or [`VISIBILITY_WAIT`] passes.
///
/// Gap-safe stores hold back events while older transactions run anywhere on the server, so an
/// event that committed may take a moment to appear in the global log; an empty page only means
/// "nothing more for now". Reading continues past `expected`, so extra events are seen too.
pub async fn read_entire_log<S: EventStore + ?Sized>(
    store: &S,
    page: usize,
    expected: usize,
) -> Vec<RecordedEvent> {
    let deadline = std::time::Instant::now() + VISIBILITY_WAIT;
    let mut all = Vec::new();
    let mut after = Position::START;
    loop {
        let batch = store.read_all(after, page).await.expect("read_all");
        if let Some(last) = batch.last() {
            after = last.position;
            all.extend(batch);
            continue;
        }
        if all.len() >= expected || std::time::Instant::now() >= deadline {
            return all;
        }
        sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A runtime-independent sleep (a helper thread wakes the task), for test code only.
pub fn sleep(duration: std::time::Duration) -> impl Future<Output = ()> {
    let mut started: Option<std::sync::Arc<std::sync::atomic::AtomicBool>> = None;
    std::future::poll_fn(move |cx| {
        let done = started.get_or_insert_with(|| {
            let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (flag, waker) = (std::sync::Arc::clone(&done), cx.waker().clone());
            std::thread::spawn(move || {
                std::thread::sleep(duration);
                flag.store(true, std::sync::atomic::Ordering::Release);
                waker.wake();
            });
            done
        });
        if done.load(std::sync::atomic::Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// Asserts `result` is the error `matches` accepts, naming `what` on failure.
pub fn assert_error<T: std::fmt::Debug>(
    what: &str,
    result: crate::Result<T>,
    matches: impl FnOnce(&Error) -> bool,
) {
    match result {
        Ok(value) => panic!("{what}: expected an error, got Ok({value:?})"),
        Err(error) => assert!(matches(&error), "{what}: unexpected error {error:?}"),
    }
}

/// A future that is pending once, then ready: lets other futures run between two steps.
pub fn yield_now() -> impl Future<Output = ()> {
    YieldNow(false)
}

struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
