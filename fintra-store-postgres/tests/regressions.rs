//! One test per defect found by the hardening run (issue 12), each named after the bug, with
//! its symptom, cause and fix.

use std::time::Duration;

use fintra_core::limits::{PAYLOAD_BYTES_MAX, READ_PAGE_BYTES_MAX};
use fintra_core::testing::conformance::{event, events, read_entire_log, stream};
use fintra_core::{
    Error, EventMetadata, EventStore, EventStoreExt, ExpectedVersion, NewEvent, Position, Snapshot,
    SnapshotStore, StreamId, StreamVersion, TenantId,
};
use fintra_store_postgres::testing::{TestSchema, database_url};
use fintra_store_postgres::{PgEventStore, PgSnapshotStore, PgStoreOptions};
use sqlx::Row;

fn of(tenant: &str, n: u64) -> NewEvent {
    NewEvent {
        metadata: EventMetadata {
            tenant_id: TenantId::new(tenant).expect("tenant"),
            ..Default::default()
        },
        ..event(n)
    }
}

/// Symptom: `bulk_import` with `schema_version > i32::MAX` passed validation, failed midway
/// through the `COPY`, reported the rollback's error instead of its own, and left the pooled
/// connection out of step with the server.
/// Cause: the value was checked only while encoding rows, and the failed `COPY` was dropped,
/// not aborted.
/// Fix: every event is checked before anything is sent; a failure of our own aborts the `COPY`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_import_schema_version_over_i32_max_is_refused_before_the_copy() {
    let schema = TestSchema::new().await;
    let store = PgEventStore::from_pool(schema.pool.clone(), &schema.options()).unwrap();
    let mut bad = event(2);
    bad.schema_version = u32::MAX;
    let batch = vec![(stream("big-schema"), event(1)), (stream("big-schema"), bad)];
    let refused = store.bulk_import(&batch, |_| {}).await;
    assert!(
        matches!(&refused, Err(Error::InvalidInput { field: "schema_version", .. })),
        "{refused:?}"
    );
    // Every connection of the pool is still in step: each runs the next call.
    for n in 0..30 {
        store.append(&stream("after"), ExpectedVersion::Any, &[event(10 + n)]).await.unwrap();
    }
    assert_eq!(store.stream_version(&stream("big-schema")).await.unwrap(), StreamVersion::NONE);
}

/// Symptom: `max_connections: 0` panicked inside the pool.
/// Cause: the option went to sqlx unchecked.
/// Fix: `PgStoreOptions::validate` refuses it (and a zero acquire timeout) as `InvalidInput`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_zero_is_invalid_input_not_a_panic() {
    let zero = PgStoreOptions { max_connections: 0, ..PgStoreOptions::default() };
    let refused = PgEventStore::connect(&database_url(), zero).await;
    assert!(
        matches!(&refused, Err(Error::InvalidInput { field: "max_connections", .. })),
        "{refused:?}"
    );
    let no_wait = PgStoreOptions { acquire_timeout_ms: 0, ..PgStoreOptions::default() };
    assert!(matches!(
        PgEventStore::connect(&database_url(), no_wait).await,
        Err(Error::InvalidInput { field: "acquire_timeout_ms", .. })
    ));
}

/// Symptom: an append to a transaction whose position range was full answered `Conflict`, so
/// a retry loop spun on it.
/// Cause: a statement that inserted nothing was taken for a head-row refusal.
/// Fix: the statement reports how much of the range is used; a full range is `LimitExceeded`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_transaction_range_is_limit_exceeded_not_a_conflict() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let mut tx = store.begin().await.unwrap();
    // Fill the range cheaply: the owner writes the range's last position by hand.
    sqlx::query(
        "INSERT INTO fintra_events (position, event_id, stream_id, stream_version, tenant_id, \
         event_type, schema_version, occurred_at, actor, headers, content_type, payload) \
         VALUES ((pg_current_xact_id()::text::bigint << 20) + 1048575, gen_random_uuid(), \
         'filler-1', 1, 'default', 'Filler', 1, now(), 'system', '{}', 'application/json', '')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    let full = tx.append(&store, &stream("full"), ExpectedVersion::Any, &events(1, 2)).await;
    assert!(
        matches!(&full, Err(Error::LimitExceeded { limit: "TRANSACTION_EVENTS_MAX", .. })),
        "{full:?}"
    );
    // The refusal left the transaction usable (the append ran under a savepoint).
    let count: i64 =
        sqlx::query("SELECT count(*) FROM fintra_events").fetch_one(&mut *tx).await.unwrap().get(0);
    assert_eq!(count, 1, "only the filler row");
    tx.rollback().await.unwrap();
}

/// Symptom: a tenant reusing another tenant's event id got `Conflict`, so a retry loop spun.
/// Cause: under row-level security the recorded event was invisible, so the refusal was
/// explained by the stream head instead.
/// Fix: ids the session cannot see are looked up through `fintra_recorded_event_ids`, which
/// answers only whether an id is taken; the answer is `DuplicateEventId`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_event_id_is_a_duplicate_not_a_conflict() {
    let schema = TestSchema::new().await;
    let a = schema.tenant_store("tenant-a", 2).await;
    let b = schema.tenant_store("tenant-b", 2).await;
    a.append(&stream("a-1"), ExpectedVersion::NoStream, &[of("tenant-a", 1)]).await.unwrap();
    let reused = b.append(&stream("b-1"), ExpectedVersion::NoStream, &[of("tenant-b", 1)]).await;
    assert!(
        matches!(&reused, Err(Error::DuplicateEventId { event_id }) if *event_id == event(1).event_id),
        "{reused:?}"
    );
    assert_eq!(b.stream_version(&stream("b-1")).await.unwrap(), StreamVersion::NONE);
}

/// Symptom: appending to another tenant's stream failed with a row-level-security error
/// (`Any`) or with `Conflict { actual: 0 }` for `NoStream`, which a fresh stream never gives:
/// both told the tenant the stream exists.
/// Cause: `ON CONFLICT DO UPDATE` raises on a row the policy hides, and the refusal was
/// explained from what the session could see.
/// Fix: the head is updated and inserted in two steps that skip hidden rows, and a refusal with
/// no visible head is one answer, the same the owner gets for another tenant's stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_stream_gets_one_answer_that_reveals_nothing() {
    let schema = TestSchema::new().await;
    let owner = schema.store();
    let a = schema.tenant_store("tenant-a", 2).await;
    let b = schema.tenant_store("tenant-b", 2).await;
    a.append(&stream("shared-name"), ExpectedVersion::NoStream, &events_of("tenant-a", 1, 5))
        .await
        .unwrap();
    let mut n = 100;
    let mut attempt = |expected| {
        n += 1;
        let batch = [of("tenant-b", n)];
        let b = b.clone();
        async move { b.append(&stream("shared-name"), expected, &batch).await }
    };
    for expected in [ExpectedVersion::Any, ExpectedVersion::NoStream] {
        let answer = attempt(expected).await;
        assert!(
            matches!(&answer, Err(Error::InvalidInput { field: "stream_id", .. })),
            "{expected}: {answer:?}"
        );
        assert!(!format!("{answer:?}").contains('5'), "no version leaks: {answer:?}");
    }
    // Exact on a hidden stream answers like Exact on a stream that does not exist at all.
    let hidden = attempt(ExpectedVersion::Exact(StreamVersion(5))).await;
    let missing = b
        .append(
            &stream("nowhere"),
            ExpectedVersion::Exact(StreamVersion(5)),
            &[of("tenant-b", 999)],
        )
        .await;
    assert!(matches!(hidden, Err(Error::Conflict { actual: StreamVersion(0), .. })), "{hidden:?}");
    assert!(matches!(missing, Err(Error::Conflict { actual: StreamVersion(0), .. })));
    // The owner gets the same answer for the same mistake.
    let by_owner =
        owner.append(&stream("shared-name"), ExpectedVersion::Any, &[of("tenant-b", 500)]).await;
    assert!(matches!(by_owner, Err(Error::InvalidInput { field: "stream_id", .. })));
    assert_eq!(owner.stream_version(&stream("shared-name")).await.unwrap(), StreamVersion(5));
}

fn events_of(tenant: &str, from: u64, count: u64) -> Vec<NewEvent> {
    (from..from + count).map(|n| of(tenant, n)).collect()
}

/// Symptom: a snapshot at version 10^12 on a 20-event stream was accepted, and a tenant could
/// save one for another tenant's stream.
/// Cause: `fintra_snapshots` had no tenant column (so no row-level security) and saves were not
/// checked against the stream.
/// Fix: a save reads the stream's head under the session's policies: it must exist, be visible
/// and have reached the snapshot's version; the snapshot takes the stream's tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_beyond_the_stream_head_is_refused() {
    let schema = TestSchema::new().await;
    schema
        .store()
        .append(&stream("snap"), ExpectedVersion::NoStream, &events(1, 20))
        .await
        .unwrap();
    let snapshots = PgSnapshotStore::new(schema.pool.clone());
    let at = |s: &str, v: u64| Snapshot {
        stream_id: stream(s),
        version: StreamVersion(v),
        schema_version: 1,
        occurred_at: fintra_core::testing::conformance::base_time(),
        state: "{}".into(),
    };
    let far = snapshots.save(&at("snap", 1_000_000_000_000)).await;
    assert!(matches!(&far, Err(Error::InvalidInput { field: "version", .. })), "{far:?}");
    let missing = snapshots.save(&at("no-such-stream", 1)).await;
    assert!(matches!(&missing, Err(Error::InvalidInput { field: "stream_id", .. })), "{missing:?}");
    snapshots.save(&at("snap", 20)).await.unwrap();
    assert_eq!(snapshots.load(&stream("snap")).await.unwrap().unwrap().version, StreamVersion(20));
}

/// Symptom: connecting to a closed port reported "pool timed out", hiding "connection refused".
/// Cause: the pool retried the refused connection until its acquire timeout.
/// Fix: `connect` opens one connection outside the pool first and reports its error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_reports_connection_refused_not_a_pool_timeout() {
    let options = PgStoreOptions { acquire_timeout_ms: 5_000, ..PgStoreOptions::default() };
    let started = std::time::Instant::now();
    let refused = PgEventStore::connect("postgres://postgres@127.0.0.1:1/postgres", options).await;
    let Err(Error::Backend { source }) = refused else { panic!("expected Backend: {refused:?}") };
    let io = source
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| if let sqlx::Error::Io(io) = e { Some(io.kind()) } else { None });
    assert_eq!(io, Some(std::io::ErrorKind::ConnectionRefused), "{source}");
    assert!(started.elapsed() < Duration::from_secs(4), "reported at once, not after a timeout");
}

/// Symptom: one `read_all` page held all its payloads in memory: 400 events of 1 MiB raised the
/// reader's RSS by 400 MiB.
/// Cause: pages were bounded by events only.
/// Fix: pages end with the event that brings them to `READ_PAGE_BYTES_MAX` bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_all_page_of_large_events_is_bounded_by_bytes() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let big = |n: u64| NewEvent {
        payload: vec![7u8; PAYLOAD_BYTES_MAX].into(),
        content_type: fintra_core::ContentType::new("application/octet-stream"),
        ..event(n)
    };
    let batch: Vec<(StreamId, NewEvent)> = (0..40).map(|n| (stream("large"), big(n))).collect();
    store.bulk_import(&batch, |_| {}).await.unwrap();
    let log = read_entire_log(&store, 1, 40).await;
    assert_eq!(log.len(), 40);
    let page = store.read_all(Position::START, 400).await.unwrap();
    let bytes: usize = page.iter().map(|e| e.payload.len()).sum();
    assert!(!page.is_empty() && bytes < READ_PAGE_BYTES_MAX + PAYLOAD_BYTES_MAX, "{bytes} bytes");
    let stream_page = store.read_stream(&stream("large"), Default::default()).await.unwrap();
    assert_eq!(stream_page.len(), READ_PAGE_BYTES_MAX / PAYLOAD_BYTES_MAX);
}

/// Symptom: a pooled connection on which `SET fintra.tenant_id` or `RESET ROLE` ran went back
/// to the pool with that setting, and the tenant's own reads then saw every tenant's events.
/// Cause: session state outlives the code that set it.
/// Fix: the tenant and role are start-up parameters, and every connection coming back to the
/// pool is reset to them (`RESET ALL`, `RESET ROLE`, `SET SESSION AUTHORIZATION DEFAULT`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_settings_do_not_leak_between_pool_users() {
    let schema = TestSchema::new().await;
    let owner = schema.store();
    owner.enable_row_level_security().await.unwrap();
    let role = format!("{}_app", schema.name);
    sqlx::raw_sql(&format!(
        "CREATE ROLE \"{role}\" NOLOGIN; GRANT USAGE ON SCHEMA \"{s}\" TO \"{role}\";
         GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA \"{s}\" TO \"{role}\";",
        s = schema.name
    ))
    .execute(&schema.pool)
    .await
    .unwrap();
    owner.append(&stream("a"), ExpectedVersion::Any, &[of("tenant-a", 1)]).await.unwrap();
    owner.append(&stream("b"), ExpectedVersion::Any, &[of("tenant-b", 2)]).await.unwrap();
    let options = PgStoreOptions {
        session_tenant: Some(TenantId::new("tenant-a").unwrap()),
        session_role: Some(role.clone()),
        max_connections: 1,
        ..schema.options()
    };
    let a = PgEventStore::connect(&database_url(), options).await.unwrap();
    for leak in ["SET fintra.tenant_id = 'tenant-b'", "RESET ROLE", "SET ROLE NONE", "RESET ALL"] {
        sqlx::raw_sql(leak).execute(a.pool()).await.unwrap();
        let seen = read_entire_log(&a, 10, 1).await;
        let tenants: Vec<&str> = seen.iter().map(|e| e.metadata.tenant_id.as_str()).collect();
        assert_eq!(tenants, ["tenant-a"], "after `{leak}` on a pooled connection");
        let who: String =
            sqlx::query("SELECT current_user::text").fetch_one(a.pool()).await.unwrap().get(0);
        assert_eq!(who, role, "after `{leak}`");
    }
    sqlx::raw_sql(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""))
        .execute(&schema.pool)
        .await
        .unwrap();
}

/// Symptom: `bulk_import` failed for a tenant's role ("COPY FROM not supported with row-level
/// security") and the docs did not say so.
/// Cause: PostgreSQL refuses `COPY FROM` where row-level security applies.
/// Fix: such sessions import through multi-row `INSERT`s, which the policies check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_import_works_for_a_tenant_role() {
    let schema = TestSchema::new().await;
    let a = schema.tenant_store("tenant-a", 2).await;
    let batch: Vec<(StreamId, NewEvent)> =
        (0..2_500u64).map(|n| (stream(&format!("bulk-{}", n % 7)), of("tenant-a", n))).collect();
    let result = a.bulk_import(&batch, |_| {}).await.unwrap();
    assert_eq!((result.events, result.streams), (2_500, 7));
    assert_eq!(read_entire_log(&a, 1_000, 2_500).await.len(), 2_500);
    assert!(a.bulk_import(&batch, |_| {}).await.unwrap().already_imported);
    let forged: Vec<(StreamId, NewEvent)> = vec![(stream("forged"), of("tenant-b", 90_000))];
    assert!(a.bulk_import(&forged, |_| {}).await.is_err(), "no rows of another tenant");
    let s = a.read_stream_to_vec(&stream("bulk-3"), 1_000).await.unwrap();
    assert!(s.iter().zip(1u64..).all(|(e, v)| e.stream_version == StreamVersion(v)));
}

/// Symptom (found by the torture suite): an append inside a transaction failed with a unique
/// violation on `fintra_streams_tenant_key` when another writer created the same stream at the
/// same moment.
/// Cause: a second unique index on the head table, which `ON CONFLICT (stream_id)` does not
/// arbitrate.
/// Fix: no second unique index; snapshots are tied to their stream's tenant by a trigger.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_appends_to_one_stream_never_raise_a_unique_violation() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    for round in 0..100u64 {
        let s = stream(&format!("race-{round}"));
        let writers: Vec<_> = (0..6u64)
            .map(|w| {
                let (store, s) = (store.clone(), s.clone());
                tokio::spawn(async move {
                    let batch = [event(round * 100 + w + 1)];
                    if w % 2 == 0 {
                        store.append(&s, ExpectedVersion::Any, &batch).await
                    } else {
                        let mut tx = store.begin().await?;
                        let result = tx.append(&store, &s, ExpectedVersion::Any, &batch).await?;
                        tx.commit().await.map(|()| result)
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        assert_eq!(store.stream_version(&s).await.unwrap(), StreamVersion(6));
    }
}
