//! Read properties: fidelity, global order, paging, time travel.

use bytes::Bytes;
use chrono::Duration;

use super::{Capabilities, assert_error, base_time, event, events, read_entire_log, stream};
use crate::limits::{PAYLOAD_BYTES_MAX, READ_PAGE_BYTES_MAX, READ_PAGE_EVENTS_MAX};
use crate::{
    Actor, AsOf, ContentType, Error, EventStore, ExpectedVersion, Position, ReadStreamOptions,
    StreamVersion, TenantId,
};

/// Every appended field reads back unchanged from both the stream and the global log, and the
/// store fills in versions, positions and `recorded_at`.
///
/// # Panics
/// When the store breaks the property.
pub async fn round_trip<S: EventStore + ?Sized>(store: &S) {
    let s = stream("round-trip");
    let mut rich = event(1);
    rich.event_type = "Deposited".to_owned();
    rich.schema_version = 3;
    rich.occurred_at = base_time() - Duration::days(400) + Duration::microseconds(123_456);
    rich.metadata.tenant_id = TenantId::new("tenant-a").expect("tenant");
    rich.metadata.correlation_id = Some(super::event_id(900));
    rich.metadata.causation_id = Some(super::event_id(901));
    rich.metadata.actor = Actor::User("user-42".to_owned());
    rich.metadata.headers.insert("source".to_owned(), "plaid".to_owned());
    rich.metadata.headers.insert("trace".to_owned(), String::new());
    let mut binary = event(2);
    binary.content_type = ContentType::new("application/octet-stream");
    binary.payload = Bytes::from((0..=255u8).collect::<Vec<_>>());
    let mut empty = event(3);
    empty.payload = Bytes::new();
    let mut appended = [rich, binary, empty];
    for e in &mut appended[1..] {
        e.metadata.tenant_id = TenantId::new("tenant-a").expect("tenant");
    }

    assert_eq!(store.stream_version(&s).await.expect("version"), StreamVersion::NONE);
    let result = store.append(&s, ExpectedVersion::NoStream, &appended).await.expect("append");
    assert_eq!((result.first_version, result.last_version), (StreamVersion(1), StreamVersion(3)));
    assert_eq!(store.stream_version(&s).await.expect("version"), StreamVersion(3));

    let from_stream = store.read_stream(&s, ReadStreamOptions::from_start()).await.expect("read");
    let from_log = read_entire_log(store, 10, 3).await;
    assert_eq!(from_stream, from_log, "stream and global reads agree");
    assert_eq!(from_stream.len(), 3);
    for (i, (recorded, new)) in from_stream.iter().zip(&appended).enumerate() {
        assert!(recorded.same_content_as(new), "event {i} reads back unchanged: {recorded:?}");
        assert_eq!(recorded.stream_id, s);
        assert_eq!(recorded.stream_version, StreamVersion(u64::try_from(i).expect("small") + 1));
    }
    assert_eq!(from_stream[0].position, result.first_position);
    assert_eq!(from_stream[2].position, result.last_position);
    assert!(from_stream.windows(2).all(|w| w[0].position < w[1].position));
    assert!(
        from_stream.windows(2).all(|w| w[0].recorded_at == w[1].recorded_at),
        "one batch, one time"
    );

    let missing = store.read_stream(&stream("missing"), ReadStreamOptions::from_start()).await;
    assert!(missing.expect("reading a missing stream is not an error").is_empty());
}

/// Interleaved appends to several streams come back from `read_all` in append order with
/// strictly increasing positions; resuming after any position continues exactly there.
///
/// # Panics
/// When the store breaks the property.
pub async fn global_order_across_streams<S: EventStore + ?Sized>(store: &S) {
    let names = ["order-a", "order-b", "order-c"];
    let mut expected = Vec::new();
    for round in 0..4u64 {
        for (i, name) in names.iter().enumerate() {
            let n = round * 10 + u64::try_from(i).expect("small") * 2;
            let batch = events(n + 100, 2);
            store.append(&stream(name), ExpectedVersion::Any, &batch).await.expect("append");
            expected.extend(batch.iter().map(|e| e.event_id));
        }
    }
    let all = read_entire_log(store, 5, expected.len()).await;
    let ids: Vec<_> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, expected, "the global log is in append order");
    assert!(all.windows(2).all(|w| w[0].position < w[1].position), "positions strictly increase");
    for cut in [0, 1, 7, all.len() - 1] {
        let after = all[cut].position;
        let rest = store.read_all(after, READ_PAGE_EVENTS_MAX).await.expect("read_all");
        assert_eq!(rest.as_slice(), &all[cut + 1..], "resuming after position {after}");
    }
    let last = all[all.len() - 1].position;
    assert!(store.read_all(last, 10).await.expect("read past end").is_empty());
}

/// Stream paging: limits of 1, exact fits and past the end; from beyond the end; bad limits.
///
/// # Panics
/// When the store breaks the property.
pub async fn paging_stream<S: EventStore + ?Sized>(store: &S) {
    let s = stream("paging");
    store.append(&s, ExpectedVersion::Any, &events(1, 10)).await.expect("append");
    let read = |from: u64, limit: usize| {
        store.read_stream(&s, ReadStreamOptions::from_version(StreamVersion(from)).limit(limit))
    };
    let versions = |page: Vec<crate::RecordedEvent>| -> Vec<u64> {
        page.iter().map(|e| e.stream_version.get()).collect()
    };
    assert_eq!(versions(read(1, 1).await.expect("read")), vec![1]);
    assert_eq!(versions(read(4, 3).await.expect("read")), vec![4, 5, 6]);
    assert_eq!(versions(read(8, 3).await.expect("read")), vec![8, 9, 10]);
    assert_eq!(versions(read(9, 100).await.expect("read")), vec![9, 10]);
    assert!(read(11, 5).await.expect("read").is_empty());
    assert_eq!(versions(read(0, 2).await.expect("from 0 reads from the start")), vec![1, 2]);
    assert_eq!(read(1, READ_PAGE_EVENTS_MAX).await.expect("limit at max").len(), 10);
    assert_error("limit 0", read(1, 0).await, |e| matches!(e, Error::InvalidInput { .. }));
    assert_error("limit over max", read(1, READ_PAGE_EVENTS_MAX + 1).await, |e| {
        matches!(e, Error::LimitExceeded { limit: "READ_PAGE_EVENTS_MAX", .. })
    });
}

/// Global paging: pages of every size cover the log exactly once; bad limits are refused.
///
/// # Panics
/// When the store breaks the property.
pub async fn paging_global_log<S: EventStore + ?Sized>(store: &S) {
    for (i, name) in ["page-a", "page-b"].iter().enumerate() {
        let from = 1 + 100 * u64::try_from(i).expect("small");
        store.append(&stream(name), ExpectedVersion::Any, &events(from, 7)).await.expect("append");
    }
    let reference = read_entire_log(store, READ_PAGE_EVENTS_MAX, 14).await;
    assert_eq!(reference.len(), 14);
    for page in [1, 2, 3, 13, 14, 15] {
        assert_eq!(read_entire_log(store, page, 14).await, reference, "page size {page}");
    }
    assert_error("limit 0", store.read_all(Position::START, 0).await, |e| {
        matches!(e, Error::InvalidInput { .. })
    });
    assert_error(
        "limit over max",
        store.read_all(Position::START, READ_PAGE_EVENTS_MAX + 1).await,
        |e| matches!(e, Error::LimitExceeded { limit: "READ_PAGE_EVENTS_MAX", .. }),
    );
    let far = store.read_all(Position(u64::MAX - 1), 10).await.expect("after a far position");
    assert!(far.is_empty());
}

/// Time-travel reads filter a stream by domain time (including back-dated events) or by
/// recorded time; a store without the capability answers `Unsupported`.
///
/// # Panics
/// When the store breaks the property.
pub async fn time_travel_reads<S: EventStore + ?Sized>(store: &S, caps: Capabilities) {
    let s = stream("as-of");
    let day = |d: i64| base_time() + Duration::days(d);
    let mut batch = events(1, 4);
    for (e, d) in batch.iter_mut().zip([1, 2, 10, 5]) {
        e.occurred_at = day(d); // the fourth event is back-dated before the third
    }
    store.append(&s, ExpectedVersion::Any, &batch[..2]).await.expect("append");
    store.append(&s, ExpectedVersion::Any, &batch[2..]).await.expect("append");

    let read = |as_of| store.read_stream(&s, ReadStreamOptions::from_start().as_of(as_of));
    if caps.as_of_occurred {
        let versions = |page: Vec<crate::RecordedEvent>| -> Vec<u64> {
            page.iter().map(|e| e.stream_version.get()).collect()
        };
        assert!(read(AsOf::Occurred(day(0))).await.expect("read").is_empty());
        assert_eq!(versions(read(AsOf::Occurred(day(2))).await.expect("read")), vec![1, 2]);
        assert_eq!(versions(read(AsOf::Occurred(day(6))).await.expect("read")), vec![1, 2, 4]);
        assert_eq!(versions(read(AsOf::Occurred(day(10))).await.expect("read")), vec![1, 2, 3, 4]);
        let paged = store
            .read_stream(
                &s,
                ReadStreamOptions::from_version(StreamVersion(3))
                    .limit(1)
                    .as_of(AsOf::Occurred(day(6))),
            )
            .await
            .expect("read");
        assert_eq!(versions(paged), vec![4], "paging skips events outside the bound");
    } else {
        assert_error("as-of occurred", read(AsOf::Occurred(day(6))).await, |e| {
            matches!(e, Error::Unsupported { .. })
        });
    }

    let all = store.read_stream(&s, ReadStreamOptions::from_start()).await.expect("read");
    if caps.as_of_recorded {
        let first_recorded = all[0].recorded_at;
        let expected: Vec<_> =
            all.iter().filter(|e| e.recorded_at <= first_recorded).cloned().collect();
        assert!(expected.len() >= 2, "the first batch is inside its own recorded time");
        assert_eq!(read(AsOf::Recorded(first_recorded)).await.expect("read"), expected);
        let before = first_recorded - Duration::seconds(1);
        assert!(read(AsOf::Recorded(before)).await.expect("read").is_empty());
        let last = all.iter().map(|e| e.recorded_at).max().expect("events");
        assert_eq!(read(AsOf::Recorded(last)).await.expect("read"), all);
    } else {
        assert_error("as-of recorded", read(AsOf::Recorded(base_time())).await, |e| {
            matches!(e, Error::Unsupported { .. })
        });
    }
}

/// Pages are bounded by payload bytes as well as by events: a page ends with the event that
/// brings it to [`READ_PAGE_BYTES_MAX`] or more, on the stream and on the global log, and
/// readers that page on carry on after such a cut instead of taking it for the end.
///
/// # Panics
/// When the store breaks the property.
pub async fn paging_by_bytes<S: EventStore + ?Sized>(store: &S) {
    let s = stream("big-payloads");
    let per_page = READ_PAGE_BYTES_MAX.div_ceil(PAYLOAD_BYTES_MAX);
    let total = u64::try_from(per_page + 2).expect("small");
    let big = |n: u64| {
        let mut e = event(n);
        e.content_type = ContentType::new("application/octet-stream");
        e.payload = Bytes::from(vec![u8::try_from(n % 251).expect("small"); PAYLOAD_BYTES_MAX]);
        e
    };
    for n in 1..=total {
        store.append(&s, ExpectedVersion::Any, &[big(n)]).await.expect("append a 1 MiB event");
    }
    let page = store.read_stream(&s, ReadStreamOptions::from_start().limit(100)).await;
    let page = page.expect("read_stream");
    assert_eq!(page.len(), per_page, "a stream page stops at the byte bound");
    assert!(!crate::is_last_stream_page(&page, 100), "a cut page is not the stream's end");
    let rest = store
        .read_stream(&s, ReadStreamOptions::from_version(StreamVersion(total - 1)).limit(100))
        .await
        .expect("read_stream");
    assert_eq!(rest.len(), 2);
    assert!(crate::is_last_stream_page(&rest, 100));
    let everything = crate::EventStoreExt::read_stream_to_vec(store, &s, 1_000).await;
    assert_eq!(everything.expect("read the whole stream").len(), per_page + 2);

    let expected = usize::try_from(total).expect("small");
    let deadline = std::time::Instant::now() + super::VISIBILITY_WAIT;
    let (mut log, mut after) = (Vec::new(), Position::START);
    while log.len() < expected && std::time::Instant::now() < deadline {
        let page = store.read_all(after, 100).await.expect("read_all");
        assert!(page.len() <= per_page, "a global page stops at the byte bound: {}", page.len());
        match page.last() {
            Some(last) => after = last.position,
            None => super::sleep(std::time::Duration::from_millis(10)).await,
        }
        log.extend(page);
    }
    assert_eq!(log.len(), expected, "global paging carries on after byte cuts");
    assert!(log.iter().all(|e| e.payload.len() == PAYLOAD_BYTES_MAX));
}
