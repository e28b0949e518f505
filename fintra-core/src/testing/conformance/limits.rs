//! Every limit at its maximum and one past it, and malformed input: typed errors, no panic,
//! nothing written.

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::{assert_error, event, events, read_entire_log, stream};
use crate::limits::{
    APPEND_BYTES_MAX, APPEND_EVENTS_MAX, CONTENT_TYPE_BYTES_MAX, EVENT_TYPE_BYTES_MAX,
    HEADER_NAME_BYTES_MAX, HEADER_VALUE_BYTES_MAX, HEADERS_MAX, PAYLOAD_BYTES_MAX,
    STREAM_ID_BYTES_MAX,
};
use crate::{ContentType, Error, EventStore, ExpectedVersion, NewEvent, StreamId};

fn limit_named(name: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::LimitExceeded { limit, .. } if *limit == name)
}

/// Each limit accepts its maximum and refuses one more with `LimitExceeded` naming it.
///
/// # Panics
/// When the store breaks the property.
pub async fn limits_at_max_and_over<S: EventStore + ?Sized>(store: &S) {
    let s = &stream("limits");
    let append =
        |events: Vec<NewEvent>| async move { store.append(s, ExpectedVersion::Any, &events).await };

    let max_batch = events(1, u64::try_from(APPEND_EVENTS_MAX).expect("fits"));
    append(max_batch).await.expect("a batch of APPEND_EVENTS_MAX");
    let over = events(10_001, u64::try_from(APPEND_EVENTS_MAX + 1).expect("fits"));
    assert_error("batch over max", append(over).await, limit_named("APPEND_EVENTS_MAX"));

    let sized =
        |n: u64, bytes: usize| NewEvent { payload: Bytes::from(vec![b'p'; bytes]), ..event(n) };
    append(vec![sized(20_001, PAYLOAD_BYTES_MAX)]).await.expect("payload at max");
    let result = append(vec![sized(20_002, PAYLOAD_BYTES_MAX + 1)]).await;
    assert_error("payload over max", result, limit_named("PAYLOAD_BYTES_MAX"));

    let per_event = APPEND_BYTES_MAX / 16;
    let full: Vec<_> = (0..16).map(|i| sized(30_000 + i, per_event)).collect();
    append(full).await.expect("a batch of APPEND_BYTES_MAX bytes");
    let mut over: Vec<_> = (0..16).map(|i| sized(31_000 + i, per_event)).collect();
    over.push(sized(31_100, 1));
    assert_error("batch bytes over max", append(over).await, limit_named("APPEND_BYTES_MAX"));

    let typed = |n: u64, len: usize| NewEvent { event_type: "t".repeat(len), ..event(n) };
    append(vec![typed(40_001, EVENT_TYPE_BYTES_MAX)]).await.expect("event type at max");
    let result = append(vec![typed(40_002, EVENT_TYPE_BYTES_MAX + 1)]).await;
    assert_error("event type over max", result, limit_named("EVENT_TYPE_BYTES_MAX"));

    let content = |n: u64, len: usize| NewEvent {
        content_type: ContentType::new("c".repeat(len)),
        ..event(n)
    };
    append(vec![content(41_001, CONTENT_TYPE_BYTES_MAX)]).await.expect("content type at max");
    let result = append(vec![content(41_002, CONTENT_TYPE_BYTES_MAX + 1)]).await;
    assert_error("content type over max", result, limit_named("CONTENT_TYPE_BYTES_MAX"));

    let headers = |n: u64, count: usize, name_len: usize, value_len: usize| {
        let mut e = event(n);
        for i in 0..count {
            let name = format!("{i:0>width$}", width = name_len);
            e.metadata.headers.insert(name, "v".repeat(value_len));
        }
        e
    };
    append(vec![headers(42_001, HEADERS_MAX, 8, 8)]).await.expect("headers at max");
    let result = append(vec![headers(42_002, HEADERS_MAX + 1, 8, 8)]).await;
    assert_error("headers over max", result, limit_named("HEADERS_MAX"));
    append(vec![headers(42_003, 1, HEADER_NAME_BYTES_MAX, HEADER_VALUE_BYTES_MAX)])
        .await
        .expect("header name and value at max");
    let result = append(vec![headers(42_004, 1, HEADER_NAME_BYTES_MAX + 1, 1)]).await;
    assert_error("header name over max", result, limit_named("HEADER_NAME_BYTES_MAX"));
    let result = append(vec![headers(42_005, 1, 4, HEADER_VALUE_BYTES_MAX + 1)]).await;
    assert_error("header value over max", result, limit_named("HEADER_VALUE_BYTES_MAX"));

    let long = StreamId::new("s".repeat(STREAM_ID_BYTES_MAX)).expect("stream id at max");
    store.append(&long, ExpectedVersion::Any, &[event(43_001)]).await.expect("append to it");
    assert_error(
        "stream id over max",
        StreamId::new("s".repeat(STREAM_ID_BYTES_MAX + 1)),
        limit_named("STREAM_ID_BYTES_MAX"),
    );

    let expected = APPEND_EVENTS_MAX + 1 + 16 + 1 + 1 + 1 + 1 + 1;
    assert_eq!(
        read_entire_log(store, 10_000, expected).await.len(),
        expected,
        "only accepted batches wrote"
    );
}

/// Malformed input returns `InvalidInput` (or `LimitExceeded`), never panics, writes nothing.
///
/// # Panics
/// When the store breaks the property.
pub async fn invalid_input<S: EventStore + ?Sized>(store: &S) {
    let s = &stream("invalid");
    let append =
        |events: Vec<NewEvent>| async move { store.append(s, ExpectedVersion::Any, &events).await };
    let invalid = |e: &Error| matches!(e, Error::InvalidInput { .. });

    assert_error("empty batch", append(Vec::new()).await, invalid);
    assert_error(
        "empty event type",
        append(vec![NewEvent { event_type: String::new(), ..event(1) }]).await,
        invalid,
    );
    assert_error(
        "control char in type",
        append(vec![NewEvent { event_type: "a\nb".into(), ..event(2) }]).await,
        invalid,
    );
    assert_error(
        "schema version 0",
        append(vec![NewEvent { schema_version: 0, ..event(3) }]).await,
        invalid,
    );
    assert_error(
        "nil event id",
        append(vec![NewEvent { event_id: uuid::Uuid::nil(), ..event(4) }]).await,
        invalid,
    );
    assert_error(
        "empty content type",
        append(vec![NewEvent { content_type: ContentType::new(""), ..event(5) }]).await,
        invalid,
    );
    let nanos = event(6).occurred_at + chrono::Duration::nanoseconds(1);
    assert_error(
        "sub-microsecond time",
        append(vec![NewEvent { occurred_at: nanos, ..event(6) }]).await,
        invalid,
    );
    let far: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;
    assert_error(
        "year beyond 9999",
        append(vec![NewEvent { occurred_at: far, ..event(7) }]).await,
        invalid,
    );
    let mut header = event(8);
    header.metadata.headers.insert(String::new(), "v".into());
    assert_error("empty header name", append(vec![header]).await, invalid);
    let mut header = event(9);
    header.metadata.headers.insert("h".into(), "a\u{0}b".into());
    assert_error("NUL in a header value", append(vec![header]).await, invalid);
    let mut actor = event(10);
    actor.metadata.actor = crate::Actor::User(String::new());
    assert_error("empty user id", append(vec![actor]).await, invalid);

    let other_tenant = |n: u64| {
        let mut e = event(n);
        e.metadata.tenant_id = crate::TenantId::new("tenant-b").expect("tenant");
        e
    };
    assert_error(
        "mixed tenants in a batch",
        append(vec![event(11), other_tenant(12)]).await,
        invalid,
    );
    let owned = stream("invalid-owned");
    store.append(&owned, ExpectedVersion::Any, &[event(13)]).await.expect("append");
    let result = store.append(&owned, ExpectedVersion::Any, &[other_tenant(14)]).await;
    assert_error("another tenant's events on a stream", result, invalid);

    assert_error("empty stream id", StreamId::new(""), invalid);
    assert_error("stream id with a space", StreamId::new("a b"), invalid);
    assert!(serde_json::from_str::<StreamId>("\"\"").is_err(), "deserializing validates too");

    let log = read_entire_log(store, 100, 1).await;
    assert_eq!(log.len(), 1, "nothing but the one valid event was written");
    assert_eq!(log[0].event_id, event(13).event_id);
}
