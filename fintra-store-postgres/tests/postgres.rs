//! Behaviour only PostgreSQL has: gap-safe order under open transactions, the caller's
//! transaction, row-level security, real parallel writers, bulk import, snapshots, LISTEN/NOTIFY
//! and typed errors for infrastructure failures.

use std::time::Duration;

use fintra_core::testing::conformance::{event, events, read_entire_log, stream};
use fintra_core::{
    Error, EventStore, EventStoreExt, ExpectedVersion, NewEvent, Position, Snapshot, SnapshotStore,
    StreamId, StreamVersion, TenantId,
};
use fintra_store_postgres::testing::{TestSchema, database_url};
use fintra_store_postgres::{PgEventStore, PgSnapshotStore, PgStoreOptions};
use sqlx::{Acquire, Row};

/// Regression test for the lost-event bug of sequence-ordered PostgreSQL event stores.
///
/// Symptom (seen in several stores in other languages): a reader that resumes "after position
/// P" silently skips an event, because a transaction drew a lower position before P was
/// committed and committed after the reader had passed it.
/// Cause: positions are drawn at insert but become visible at commit.
/// Fix: positions encode the writer's xid and `read_all` only returns events below the
/// snapshot's xmin. Here one transaction stays open while later ones commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_commit_is_never_skipped_by_a_checkpointed_reader() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    store.append(&stream("before"), ExpectedVersion::Any, &[event(1)]).await.unwrap();
    let checkpoint = read_entire_log(&store, 10, 1).await.last().unwrap().position;

    let mut conn = schema.pool.acquire().await.unwrap();
    let mut open = conn.begin().await.unwrap();
    let slow = store
        .append_in(&mut open, &stream("slow"), ExpectedVersion::Any, &[event(2)])
        .await
        .unwrap();
    for n in 3..6 {
        store.append(&stream("fast"), ExpectedVersion::Any, &[event(n)]).await.unwrap();
    }
    let fast_positions: Vec<Position> = store
        .read_stream_to_vec(&stream("fast"), 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert!(
        fast_positions.iter().all(|p| *p > slow.first_position),
        "the open transaction is older"
    );

    // While the old transaction is open, the reader must not move past it.
    let held = store.read_all(checkpoint, 100).await.unwrap();
    assert!(held.is_empty(), "events behind an open transaction are held back: {held:?}");

    open.commit().await.unwrap();
    let after: Vec<_> = read_entire_log(&store, 100, 5)
        .await
        .into_iter()
        .filter(|e| e.position > checkpoint)
        .collect();
    let ids: Vec<_> = after.iter().map(|e| e.event_id).collect();
    assert_eq!(
        ids,
        vec![event(2).event_id, event(3).event_id, event(4).event_id, event(5).event_id]
    );
    assert!(after.windows(2).all(|w| w[0].position < w[1].position));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_commit_and_roll_back_with_the_callers_transaction() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    sqlx::query("CREATE TABLE host_orders (id int PRIMARY KEY)")
        .execute(&schema.pool)
        .await
        .unwrap();
    let s = stream("orders");

    let mut conn = schema.pool.acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("INSERT INTO host_orders VALUES (1)").execute(&mut *tx).await.unwrap();
    store.append_in(&mut tx, &s, ExpectedVersion::NoStream, &events(1, 2)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        store.stream_version(&s).await.unwrap(),
        StreamVersion::NONE,
        "rollback removes the events"
    );
    let orders: i64 = sqlx::query("SELECT count(*) FROM host_orders")
        .fetch_one(&schema.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(orders, 0);

    let mut tx = conn.begin().await.unwrap();
    sqlx::query("INSERT INTO host_orders VALUES (2)").execute(&mut *tx).await.unwrap();
    let first =
        store.append_in(&mut tx, &s, ExpectedVersion::NoStream, &events(1, 2)).await.unwrap();
    // A refused append inside the transaction leaves it usable (savepoint).
    let conflict = store.append_in(&mut tx, &s, ExpectedVersion::NoStream, &events(10, 1)).await;
    assert!(
        matches!(conflict, Err(Error::Conflict { actual: StreamVersion(2), .. })),
        "{conflict:?}"
    );
    let retry =
        store.append_in(&mut tx, &s, ExpectedVersion::NoStream, &events(1, 2)).await.unwrap();
    assert!(
        retry.replayed && retry.same_append_as(&first),
        "idempotent inside the transaction too"
    );
    store
        .append_in(&mut tx, &s, ExpectedVersion::Exact(StreamVersion(2)), &events(3, 1))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.stream_version(&s).await.unwrap(), StreamVersion(3));
    let orders: i64 = sqlx::query("SELECT count(*) FROM host_orders")
        .fetch_one(&schema.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(orders, 1);
    let positions: Vec<_> =
        store.read_stream_to_vec(&s, 10).await.unwrap().iter().map(|e| e.position).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "one transaction's batches continue its range"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_security_isolates_tenants() {
    let schema = TestSchema::new().await;
    let owner = schema.store();
    owner.enable_row_level_security().await.unwrap();
    let role = "fintra_rls_tenant";
    sqlx::raw_sql(&format!(
        "DO $$ BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         GRANT USAGE ON SCHEMA \"{s}\" TO {role};
         GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA \"{s}\" TO {role};",
        s = schema.name
    ))
    .execute(&schema.pool)
    .await
    .unwrap();
    let url = database_url();
    let tenant_store = |tenant: &str| {
        let options = PgStoreOptions {
            schema: Some(schema.name.clone()),
            session_tenant: Some(TenantId::new(tenant).unwrap()),
            session_role: Some(role.to_owned()),
            max_connections: 2,
            ..PgStoreOptions::default()
        };
        PgEventStore::connect(&url, options)
    };
    let (a, b) = (tenant_store("tenant-a").await.unwrap(), tenant_store("tenant-b").await.unwrap());
    let of = |tenant: &str, n: u64| NewEvent {
        metadata: fintra_core::EventMetadata {
            tenant_id: TenantId::new(tenant).unwrap(),
            ..Default::default()
        },
        ..event(n)
    };

    a.append(&stream("a-1"), ExpectedVersion::NoStream, &[of("tenant-a", 1), of("tenant-a", 2)])
        .await
        .unwrap();
    b.append(&stream("b-1"), ExpectedVersion::NoStream, &[of("tenant-b", 3)]).await.unwrap();

    let seen_by_b = read_entire_log(&b, 100, 1).await;
    assert_eq!(seen_by_b.iter().map(|e| e.event_id).collect::<Vec<_>>(), vec![event(3).event_id]);
    assert!(
        b.read_stream_to_vec(&stream("a-1"), 10).await.unwrap().is_empty(),
        "B cannot read A's stream"
    );
    assert_eq!(b.stream_version(&stream("a-1")).await.unwrap(), StreamVersion::NONE);
    let forged = b.append(&stream("b-2"), ExpectedVersion::Any, &[of("tenant-a", 4)]).await;
    assert!(forged.is_err(), "B cannot write rows of tenant A: {forged:?}");
    assert_eq!(read_entire_log(&a, 100, 2).await.len(), 2, "A sees only its own two events");
    assert_eq!(read_entire_log(&owner, 100, 3).await.len(), 3, "the owner bypasses RLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_parallel_writers_append_a_thousand_events_each() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let s = stream("parallel");
    let tasks: Vec<_> = (0..8u64)
        .map(|w| {
            let (store, s) = (store.clone(), s.clone());
            tokio::spawn(async move {
                for i in 0..1_000 {
                    store.append(&s, ExpectedVersion::Any, &[event(w * 10_000 + i)]).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let recorded = store.read_stream_to_vec(&s, 100_000).await.unwrap();
    let versions: Vec<u64> = recorded.iter().map(|e| e.stream_version.get()).collect();
    assert_eq!(versions, (1..=8_000).collect::<Vec<_>>(), "contiguous, no loss");
    let ids: std::collections::HashSet<_> = recorded.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), 8_000, "no duplicates");
    assert_eq!(read_entire_log(&store, 10_000, 8_000).await.len(), 8_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_import_is_atomic_idempotent_and_reports_progress() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    store.append(&stream("bulk-7"), ExpectedVersion::Any, &[event(999_999)]).await.unwrap();
    let batch: Vec<(StreamId, NewEvent)> =
        (0..30_000u64).map(|n| (stream(&format!("bulk-{}", n % 100)), event(n))).collect();
    let mut reports = Vec::new();
    let result = store.bulk_import(&batch, |p| reports.push(p)).await.unwrap();
    assert_eq!((result.events, result.streams, result.already_imported), (30_000, 100, false));
    assert_eq!(reports.last().unwrap().events_sent, 30_000);
    assert!(reports.windows(2).all(|w| w[0].events_sent <= w[1].events_sent));

    let seven = store.read_stream_to_vec(&stream("bulk-7"), 1_000).await.unwrap();
    assert_eq!(seven.len(), 301, "appended after the existing event");
    assert_eq!(seven[1].event_id, event(7).event_id);
    assert_eq!(seven[1].stream_version, StreamVersion(2));
    assert!(
        seven
            .iter()
            .zip(&seven[1..])
            .all(|(a, b)| a.stream_version.next().unwrap() == b.stream_version)
    );
    let log = read_entire_log(&store, 10_000, 30_001).await;
    assert_eq!(log.len(), 30_001);
    assert_eq!(
        log[1..].iter().map(|e| e.event_id).collect::<Vec<_>>(),
        batch.iter().map(|(_, e)| e.event_id).collect::<Vec<_>>()
    );
    assert!(log[1..].iter().zip(&batch).all(|(r, (_, e))| r.same_content_as(e)));

    let retry = store.bulk_import(&batch, |_| {}).await.unwrap();
    assert!(retry.already_imported);
    assert_eq!(
        (retry.first_position, retry.last_position),
        (result.first_position, result.last_position)
    );

    // One reused id with other content anywhere in a new import: nothing of it is written.
    let mut clash: Vec<(StreamId, NewEvent)> =
        (50_000..50_100u64).map(|n| (stream("clash"), event(n))).collect();
    let mut reused = event(5);
    reused.payload = bytes::Bytes::from_static(b"{\"other\":true}");
    clash.push((stream("clash"), reused));
    let failed = store.bulk_import(&clash, |_| {}).await;
    assert!(matches!(failed, Err(Error::DuplicateEventId { .. })), "{failed:?}");
    assert_eq!(store.stream_version(&stream("clash")).await.unwrap(), StreamVersion::NONE);

    let empty = store.bulk_import(&[], |_| {}).await;
    assert!(matches!(empty, Err(Error::InvalidInput { .. })));
    let mixed = vec![
        (stream("mixed"), event(60_000)),
        (
            stream("mixed"),
            NewEvent {
                metadata: fintra_core::EventMetadata {
                    tenant_id: TenantId::new("other").unwrap(),
                    ..Default::default()
                },
                ..event(60_001)
            },
        ),
    ];
    assert!(matches!(store.bulk_import(&mixed, |_| {}).await, Err(Error::InvalidInput { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_only_move_forward() {
    let schema = TestSchema::new().await;
    let snapshots = PgSnapshotStore::new(schema.pool.clone());
    let s = stream("snap");
    schema.store().append(&s, ExpectedVersion::NoStream, &events(1, 12)).await.unwrap();
    let at = |v: u64| Snapshot {
        stream_id: s.clone(),
        version: StreamVersion(v),
        schema_version: 2,
        occurred_at: fintra_core::testing::conformance::base_time(),
        state: format!("{{\"v\":{v}}}").into(),
    };
    assert_eq!(snapshots.load(&s).await.unwrap(), None);
    snapshots.save(&at(10)).await.unwrap();
    snapshots.save(&at(4)).await.unwrap();
    assert_eq!(snapshots.load(&s).await.unwrap(), Some(at(10)));
    snapshots.save(&at(12)).await.unwrap();
    assert_eq!(snapshots.load(&s).await.unwrap(), Some(at(12)));
    assert!(matches!(snapshots.save(&at(0)).await, Err(Error::InvalidInput { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_wake_global_log_readers() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let mut listener = store.listen().await.unwrap();
    assert!(!listener.wait(Duration::from_millis(200)).await.unwrap(), "no append, no wake-up");
    store.append(&stream("notify"), ExpectedVersion::Any, &[event(1)]).await.unwrap();
    assert!(listener.wait(Duration::from_secs(5)).await.unwrap(), "an append wakes the listener");

    let quiet = PgEventStore::from_pool(
        schema.pool.clone(),
        &PgStoreOptions { notify: false, ..schema.options() },
    )
    .unwrap();
    quiet.append(&stream("notify"), ExpectedVersion::Any, &[event(2)]).await.unwrap();
    assert!(!listener.wait(Duration::from_millis(300)).await.unwrap(), "notify off sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infrastructure_failures_are_typed_errors() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    schema.pool.close().await;
    let closed = store.append(&stream("closed"), ExpectedVersion::Any, &[event(1)]).await;
    assert!(matches!(closed, Err(Error::Backend { .. })), "{closed:?}");
    assert!(matches!(store.read_all(Position::START, 10).await, Err(Error::Backend { .. })));

    let unreachable = PgEventStore::connect(
        "postgres://postgres@127.0.0.1:1/postgres",
        PgStoreOptions { acquire_timeout_ms: 500, ..PgStoreOptions::default() },
    )
    .await;
    assert!(matches!(unreachable, Err(Error::Backend { .. })), "{unreachable:?}");
    let bad_url = PgEventStore::connect("not a url", PgStoreOptions::default()).await;
    assert!(matches!(bad_url, Err(Error::InvalidInput { .. })));
    let bad_role = PgStoreOptions {
        session_role: Some("x; DROP TABLE y".into()),
        ..PgStoreOptions::default()
    };
    assert!(matches!(
        PgEventStore::connect(&database_url(), bad_role).await,
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_import_joins_the_callers_transaction() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let batch: Vec<(StreamId, NewEvent)> =
        (10..110u64).map(|n| (stream("joined"), event(n))).collect();
    let mut conn = schema.pool.acquire().await.unwrap();

    let mut tx = conn.begin().await.unwrap();
    store
        .append_in(&mut tx, &stream("joined"), ExpectedVersion::NoStream, &[event(1)])
        .await
        .unwrap();
    store.bulk_import_in(&mut tx, &batch, |_| {}).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.stream_version(&stream("joined")).await.unwrap(), StreamVersion::NONE);

    let mut tx = conn.begin().await.unwrap();
    let single = store
        .append_in(&mut tx, &stream("joined"), ExpectedVersion::NoStream, &[event(1)])
        .await
        .unwrap();
    let bulk = store.bulk_import_in(&mut tx, &batch, |_| {}).await.unwrap();
    let after = store
        .append_in(
            &mut tx,
            &stream("joined"),
            ExpectedVersion::Exact(StreamVersion(101)),
            &[event(2)],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        single.last_position < bulk.first_position,
        "the import continues the transaction's range"
    );
    assert!(bulk.last_position < after.first_position);
    let log = read_entire_log(&store, 1_000, 102).await;
    let versions: Vec<u64> = log.iter().map(|e| e.stream_version.get()).collect();
    assert_eq!(
        versions,
        (1..=102).collect::<Vec<_>>(),
        "one stream, in order, in the global log too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_options_reach_the_server() {
    let schema = TestSchema::new().await;
    let options = PgStoreOptions {
        statement_timeout_ms: Some(1_234),
        session_tenant: Some(TenantId::new("tenant-x").unwrap()),
        max_connections: 1,
        ..schema.options()
    };
    let store = PgEventStore::connect(&database_url(), options).await.unwrap();
    let row = sqlx::query(
        "SELECT current_setting('statement_timeout') AS timeout, current_schema() AS schema, \
         current_setting('fintra.tenant_id', true) AS tenant",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("timeout"), "1234ms");
    assert_eq!(row.get::<String, _>("schema"), schema.name);
    assert_eq!(row.get::<String, _>("tenant"), "tenant-x");
    // The timeout is enforced: a statement running longer is cancelled, as a typed error.
    let slow = sqlx::query("SELECT pg_sleep(3)").execute(store.pool()).await;
    assert!(slow.is_err(), "statement_timeout cancels long statements");
}

/// The events table has one definition (`fintra_store_postgres::warm::EVENTS_TABLE_COLUMNS`,
/// from which the warm store creates its partitioned table); the hot store's migration must
/// have created exactly that shape, and the read statements must list the columns in the order
/// the decoder expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migrated_events_table_has_the_shared_shape() {
    let schema = TestSchema::new().await;
    sqlx::raw_sql(&format!(
        "CREATE TABLE fintra_shape_check ({})",
        fintra_store_postgres::warm::EVENTS_TABLE_COLUMNS
    ))
    .execute(&schema.pool)
    .await
    .unwrap();
    let shape = |table: &'static str| {
        let pool = schema.pool.clone();
        async move {
            sqlx::query_as::<_, (i32, String, String, String, Option<String>)>(
                "SELECT ordinal_position, column_name::text, data_type::text, is_nullable::text, \
                 column_default::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY 1",
            )
            .bind(table)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(shape("fintra_events").await, shape("fintra_shape_check").await);
    let select =
        include_str!("../sql/select_events.sql").split_whitespace().collect::<Vec<_>>().join(" ");
    let columns =
        fintra_store_postgres::warm::EVENT_COLUMNS.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(select.contains(&columns), "select_events.sql lists {columns}");
}
