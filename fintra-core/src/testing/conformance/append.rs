//! Append properties: expected versions, idempotency, atomicity, the concurrent race.

use std::collections::HashSet;

use bytes::Bytes;

use super::{assert_error, event, events, read_entire_log, stream, yield_now};
use crate::{Error, EventStore, EventStoreExt, ExpectedVersion, ReadStreamOptions, StreamVersion};

/// `NoStream` succeeds on an empty stream and conflicts (reporting the actual version) after.
///
/// # Panics
/// When the store breaks the property.
pub async fn expected_version_no_stream<S: EventStore + ?Sized>(store: &S) {
    let s = stream("no-stream");
    let first = store.append(&s, ExpectedVersion::NoStream, &events(1, 2)).await.expect("append");
    assert_eq!(first.first_version, StreamVersion(1));
    assert_eq!(first.last_version, StreamVersion(2));
    let again = store.append(&s, ExpectedVersion::NoStream, &events(3, 1)).await;
    assert_error("NoStream on an existing stream", again, |e| {
        matches!(
            e,
            Error::Conflict { actual: StreamVersion(2), expected: ExpectedVersion::NoStream, .. }
        )
    });
    assert_eq!(store.stream_version(&s).await.expect("version"), StreamVersion(2));
}

/// `Exact(v)` succeeds at `v` only; stale and future versions conflict; `Exact(0)` means no
/// stream.
///
/// # Panics
/// When the store breaks the property.
pub async fn expected_version_exact<S: EventStore + ?Sized>(store: &S) {
    let s = stream("exact");
    let exact = |v| ExpectedVersion::Exact(StreamVersion(v));
    store.append(&s, exact(0), &events(1, 1)).await.expect("Exact(0) on a new stream");
    store.append(&s, exact(1), &events(2, 2)).await.expect("Exact(1)");
    for (stale, label) in [(1, "stale"), (4, "future"), (0, "zero on existing")] {
        let result = store.append(&s, exact(stale), &events(10, 1)).await;
        assert_error(label, result, |e| {
            matches!(e, Error::Conflict { actual: StreamVersion(3), .. })
        });
    }
    let other = stream("exact-other");
    let result = store.append(&other, exact(1), &events(20, 1)).await;
    assert_error("Exact(1) on a missing stream", result, |e| {
        matches!(e, Error::Conflict { actual: StreamVersion(0), .. })
    });
    assert_eq!(store.stream_version(&s).await.expect("version"), StreamVersion(3));
    assert_eq!(store.stream_version(&other).await.expect("version"), StreamVersion::NONE);
}

/// `Any` appends to new and existing streams alike.
///
/// # Panics
/// When the store breaks the property.
pub async fn expected_version_any<S: EventStore + ?Sized>(store: &S) {
    let s = stream("any");
    let a = store.append(&s, ExpectedVersion::Any, &events(1, 1)).await.expect("Any on new");
    let b = store.append(&s, ExpectedVersion::Any, &events(2, 3)).await.expect("Any on existing");
    assert_eq!((a.first_version, a.last_version), (StreamVersion(1), StreamVersion(1)));
    assert_eq!((b.first_version, b.last_version), (StreamVersion(2), StreamVersion(4)));
    assert!(b.first_position > a.last_position);
    assert!(b.last_position > b.first_position);
}

/// Re-appending recorded events returns the original result and writes nothing, even with a
/// now-stale expected version; so does re-appending a recorded sub-range of a batch.
///
/// # Panics
/// When the store breaks the property.
pub async fn idempotent_retry<S: EventStore + ?Sized>(store: &S) {
    let s = stream("idempotent");
    let batch = events(1, 3);
    let original = store.append(&s, ExpectedVersion::NoStream, &batch).await.expect("append");
    store.append(&s, ExpectedVersion::Exact(StreamVersion(3)), &events(4, 1)).await.expect("more");
    let retry = store.append(&s, ExpectedVersion::NoStream, &batch).await.expect("retry");
    assert!(retry.same_append_as(&original), "a retry returns the original result");
    assert!(retry.replayed && !original.replayed, "a retry says it was one");
    let single = store.append_one(&s, ExpectedVersion::Any, event(2)).await.expect("retry one");
    assert_eq!(single.first_version, StreamVersion(2));
    assert_eq!(single.first_position, single.last_position);
    let all = read_entire_log(store, 100, 4).await;
    assert_eq!(all.len(), 4, "retries wrote nothing");
}

/// Reusing a recorded id with other content, in another stream, or mixed with new ids fails
/// with `DuplicateEventId`; duplicate ids inside one batch are `InvalidInput`.
///
/// # Panics
/// When the store breaks the property.
pub async fn duplicate_event_id<S: EventStore + ?Sized>(store: &S) {
    let s = stream("dup");
    store.append(&s, ExpectedVersion::Any, &events(1, 2)).await.expect("append");

    let mut changed = event(1);
    changed.payload = Bytes::from_static(b"{\"n\":\"changed\"}");
    let result = store.append(&s, ExpectedVersion::Any, &[changed]).await;
    assert_error("same id, other payload", result, |e| matches!(e, Error::DuplicateEventId { .. }));

    let mut retyped = event(1);
    retyped.event_type = "Other".to_owned();
    let result = store.append(&s, ExpectedVersion::Any, &[retyped]).await;
    assert_error("same id, other type", result, |e| matches!(e, Error::DuplicateEventId { .. }));

    let result = store.append(&stream("dup-other"), ExpectedVersion::Any, &[event(1)]).await;
    assert_error("same id, other stream", result, |e| matches!(e, Error::DuplicateEventId { .. }));

    let mixed = vec![event(2), event(3)];
    let result = store.append(&s, ExpectedVersion::Any, &mixed).await;
    assert_error("recorded id mixed with a new one", result, |e| {
        matches!(e, Error::DuplicateEventId { .. })
    });
    let swapped = vec![event(2), event(1)];
    let result = store.append(&s, ExpectedVersion::Any, &swapped).await;
    assert_error("recorded ids in another order", result, |e| {
        matches!(e, Error::DuplicateEventId { .. })
    });

    let twice = vec![event(7), event(7)];
    let result = store.append(&s, ExpectedVersion::Any, &twice).await;
    assert_error("one id twice in a batch", result, |e| matches!(e, Error::InvalidInput { .. }));

    assert_eq!(read_entire_log(store, 100, 2).await.len(), 2, "no failed append wrote anything");
    assert_eq!(store.stream_version(&stream("dup-other")).await.expect("v"), StreamVersion::NONE);
}

/// A batch that fails for any reason leaves no event behind, and its ids stay free.
///
/// # Panics
/// When the store breaks the property.
pub async fn failed_batch_leaves_nothing<S: EventStore + ?Sized>(store: &S) {
    let s = stream("atomic");
    store.append(&s, ExpectedVersion::Any, &events(1, 1)).await.expect("append");

    let mut bad = events(10, 5);
    bad[3].payload = Bytes::from(vec![b'x'; crate::limits::PAYLOAD_BYTES_MAX + 1]);
    let result = store.append(&s, ExpectedVersion::Any, &bad).await;
    assert_error("oversized payload mid-batch", result, |e| {
        matches!(e, Error::LimitExceeded { .. })
    });

    let result = store.append(&s, ExpectedVersion::NoStream, &events(10, 5)).await;
    assert_error("conflicting batch", result, |e| e.is_conflict());

    assert_eq!(store.stream_version(&s).await.expect("version"), StreamVersion(1));
    assert_eq!(read_entire_log(store, 100, 1).await.len(), 1);
    // The ids of the failed batches were never recorded, so they are still usable.
    let ok = store.append(&s, ExpectedVersion::Exact(StreamVersion(1)), &events(10, 5)).await;
    assert_eq!(ok.expect("ids of a failed batch are free").last_version, StreamVersion(6));
}

/// Writers racing on one stream.
pub const RACE_WRITERS: u64 = 8;
/// Appends each racing writer makes.
pub const RACE_APPENDS_PER_WRITER: u64 = 25;

/// Eight writers append to one stream concurrently with `Exact` versions, retrying on conflict.
/// Afterwards the stream holds exactly every event once, versions contiguous, each writer's
/// events in its own order.
///
/// # Panics
/// When the store breaks the property, or a writer needs more than 10,000 attempts.
pub async fn concurrent_writers_race<S: EventStore + ?Sized>(store: &S) {
    let s = stream("race");
    let writer = |w: u64| {
        let s = s.clone();
        async move {
            let mut conflicts = 0u64;
            for i in 0..RACE_APPENDS_PER_WRITER {
                let batch = [event(w * 1_000 + i)];
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    assert!(attempts <= 10_000, "writer {w} starved after 10,000 attempts");
                    let version = store.stream_version(&s).await.expect("stream_version");
                    yield_now().await;
                    match store.append(&s, ExpectedVersion::Exact(version), &batch).await {
                        Ok(_) => break,
                        Err(Error::Conflict { .. }) => conflicts += 1,
                        Err(other) => panic!("writer {w}: unexpected error {other:?}"),
                    }
                }
            }
            conflicts
        }
    };
    let conflicts: u64 =
        futures::future::join_all((0..RACE_WRITERS).map(writer)).await.into_iter().sum();
    assert!(conflicts > 0, "the writers never collided: the race did not interleave");

    let total = RACE_WRITERS * RACE_APPENDS_PER_WRITER;
    assert_eq!(store.stream_version(&s).await.expect("version"), StreamVersion(total));
    let recorded = store.read_stream_to_vec(&s, 100_000).await.expect("read");
    let versions: Vec<u64> = recorded.iter().map(|e| e.stream_version.get()).collect();
    assert_eq!(versions, (1..=total).collect::<Vec<_>>(), "versions are contiguous from 1");
    let ids: HashSet<_> = recorded.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), recorded.len(), "no event twice");
    for w in 0..RACE_WRITERS {
        let own: Vec<_> = recorded
            .iter()
            .filter(|e| {
                (w * 1_000..w * 1_000 + RACE_APPENDS_PER_WRITER)
                    .any(|n| super::event_id(n) == e.event_id)
            })
            .map(|e| e.event_id)
            .collect();
        let expected: Vec<_> =
            (0..RACE_APPENDS_PER_WRITER).map(|i| super::event_id(w * 1_000 + i)).collect();
        assert_eq!(own, expected, "writer {w}'s events are all there, in its order");
    }
    let page = store.read_stream(&s, ReadStreamOptions::from_start().limit(1)).await;
    assert_eq!(page.expect("read").len(), 1);
}
