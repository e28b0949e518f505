//! Group commit (`PgStoreOptions::group_commit`): concurrent appends share statements and
//! commits, yet every caller gets its own answer. The whole conformance suite, the simulation
//! and the torture suite also run with it on (`tests/conformance.rs`, `tests/torture.rs`).

use std::collections::BTreeSet;
use std::sync::Arc;

use fintra_core::testing::conformance::{event, events, read_entire_log, stream};
use fintra_core::{
    AppendResult, Error, EventMetadata, EventStore, ExpectedVersion, NewEvent, ReadStreamOptions,
    StreamVersion, TenantId,
};
use fintra_store_postgres::testing::TestSchema;
use fintra_store_postgres::{GROUP_EVENTS_MAX, GroupCommit, PgEventStore, PgStoreOptions};

const CALLERS: u64 = 64;

/// The transaction an append committed in (positions are `xid8 * 2^20 + n`).
fn txn(result: &AppendResult) -> u64 {
    result.first_position.get() >> 20
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_to_different_streams_share_commits() {
    let schema = TestSchema::new().await;
    let store = Arc::new(schema.grouped_store());
    let tasks: Vec<_> = (0..CALLERS)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let events = events(n * 10, 2);
                store.append(&stream(&format!("g{n}")), ExpectedVersion::NoStream, &events).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task").expect("append"));
    }
    for result in &results {
        assert_eq!(
            (result.first_version, result.last_version),
            (StreamVersion(1), StreamVersion(2))
        );
        assert_eq!(result.last_position.get(), result.first_position.get() + 1, "{result:?}");
    }
    let transactions: BTreeSet<u64> = results.iter().map(txn).collect();
    assert!(
        transactions.len() < results.len(),
        "{} appends went out in {} transactions: nothing was grouped",
        results.len(),
        transactions.len()
    );
    let log = read_entire_log(store.as_ref(), 1_000, usize::try_from(CALLERS * 2).unwrap()).await;
    assert_eq!(log.len(), usize::try_from(CALLERS * 2).unwrap());
    assert!(log.windows(2).all(|w| w[0].position < w[1].position));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_or_a_retry_in_a_batch_never_fails_its_neighbours() {
    let schema = TestSchema::new().await;
    let store = Arc::new(schema.grouped_store());
    let existing = stream("existing");
    let first = store.append(&existing, ExpectedVersion::NoStream, &[event(1)]).await.unwrap();
    let reused = store.append(&stream("reused"), ExpectedVersion::Any, &[event(2)]).await.unwrap();
    // Every third caller conflicts, every fifth retries an append that already committed, and
    // every seventh reuses a recorded id on another stream; the others append fresh.
    let tasks: Vec<_> = (0..CALLERS)
        .map(|n| {
            let store = Arc::clone(&store);
            let existing = existing.clone();
            tokio::spawn(async move {
                let answer = if n % 3 == 0 {
                    store
                        .append(
                            &existing,
                            ExpectedVersion::Exact(StreamVersion(7)),
                            &[event(1_000 + n)],
                        )
                        .await
                } else if n % 5 == 0 {
                    store.append(&stream("reused"), ExpectedVersion::Any, &[event(2)]).await
                } else if n % 7 == 0 {
                    store
                        .append(&stream(&format!("thief{n}")), ExpectedVersion::Any, &[event(1)])
                        .await
                } else {
                    store
                        .append(
                            &stream(&format!("fresh{n}")),
                            ExpectedVersion::Any,
                            &[event(1_000 + n)],
                        )
                        .await
                };
                (n, answer)
            })
        })
        .collect();
    let mut fresh = 0;
    for task in tasks {
        let (n, answer) = task.await.expect("task");
        if n % 3 == 0 {
            assert!(
                matches!(&answer, Err(Error::Conflict { actual: StreamVersion(1), .. })),
                "{n}: {answer:?}"
            );
        } else if n % 5 == 0 {
            let replayed = answer.expect("an idempotent retry");
            assert!(replayed.replayed && replayed.first_position == reused.first_position);
        } else if n % 7 == 0 {
            assert!(
                matches!(&answer, Err(Error::DuplicateEventId { event_id }) if *event_id == event(1).event_id),
                "{n}: {answer:?}"
            );
        } else {
            assert_eq!(answer.expect("a fresh append").first_version, StreamVersion(1));
            fresh += 1;
        }
    }
    assert_eq!(store.stream_version(&existing).await.unwrap(), first.last_version);
    let log = read_entire_log(store.as_ref(), 1_000, fresh + 2).await;
    assert_eq!(log.len(), fresh + 2, "only the fresh appends and the two first ones are recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_to_one_stream_keep_their_order_and_every_version() {
    let schema = TestSchema::new().await;
    let store = Arc::new(schema.grouped_store());
    let one = stream("one");
    let tasks: Vec<_> = (0..CALLERS)
        .map(|n| {
            let store = Arc::clone(&store);
            let one = one.clone();
            tokio::spawn(async move { store.append(&one, ExpectedVersion::Any, &[event(n)]).await })
        })
        .collect();
    let mut versions = BTreeSet::new();
    for task in tasks {
        versions.insert(task.await.expect("task").expect("append").first_version.get());
    }
    assert_eq!(versions, (1..=CALLERS).collect::<BTreeSet<u64>>());
    let read = store.read_stream(&one, ReadStreamOptions::from_start()).await.unwrap();
    assert_eq!(read.len(), usize::try_from(CALLERS).unwrap());
    assert!(read.windows(2).all(|w| w[0].position < w[1].position));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_stream_in_a_batch_is_refused_alone() {
    let schema = TestSchema::new().await;
    let target = schema.grouped_target();
    let alice = target.tenant_store("alice", 4).await;
    let bob = Arc::new(target.tenant_store("bob", 4).await);
    let of = |tenant: &str, n: u64| NewEvent {
        metadata: EventMetadata { tenant_id: TenantId::new(tenant).unwrap(), ..Default::default() },
        ..event(n)
    };
    alice
        .append(&stream("alice-only"), ExpectedVersion::NoStream, &[of("alice", 1)])
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16u64)
        .map(|n| {
            let bob = Arc::clone(&bob);
            let event = of("bob", 100 + n);
            tokio::spawn(async move {
                let name = if n % 4 == 0 { "alice-only".to_owned() } else { format!("bob{n}") };
                (n, bob.append(&stream(&name), ExpectedVersion::Any, &[event]).await)
            })
        })
        .collect();
    for task in tasks {
        let (n, answer) = task.await.expect("task");
        if n % 4 == 0 {
            assert!(
                matches!(&answer, Err(Error::InvalidInput { field: "stream_id", .. })),
                "{answer:?}"
            );
        } else {
            assert_eq!(answer.expect("bob's own stream").first_version, StreamVersion(1));
        }
    }
    let alices = alice.read_stream(&stream("alice-only"), ReadStreamOptions::from_start()).await;
    assert_eq!(alices.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_append_goes_out_alone_and_limits_are_checked() {
    let schema = TestSchema::new().await;
    let options = PgStoreOptions {
        group_commit: Some(GroupCommit { statements_in_flight: 1, events_max: 10 }),
        ..schema.options()
    };
    let store = PgEventStore::from_pool(schema.pool.clone(), &options).unwrap();
    let big =
        store.append(&stream("big"), ExpectedVersion::NoStream, &events(1, 50)).await.unwrap();
    assert_eq!(big.last_version, StreamVersion(50));
    let small =
        store.append(&stream("big"), ExpectedVersion::Exact(StreamVersion(50)), &[event(51)]).await;
    assert_eq!(small.unwrap().first_version, StreamVersion(51));
    for bad in [
        GroupCommit { statements_in_flight: 0, events_max: 10 },
        GroupCommit { statements_in_flight: 2, events_max: 0 },
        GroupCommit { statements_in_flight: 2, events_max: GROUP_EVENTS_MAX + 1 },
    ] {
        let options = PgStoreOptions { group_commit: Some(bad), ..schema.options() };
        assert!(matches!(
            PgEventStore::from_pool(schema.pool.clone(), &options),
            Err(Error::InvalidInput { .. })
        ));
    }
}
