//! The snapshot store conformance suite: one public async function per property of the
//! [`SnapshotStore`] contract, [`run_all_snapshots`], and the [`snapshot_store_conformance!`]
//! macro. Each function takes an empty snapshot store and the event store whose streams it
//! summarises (a snapshot store that checks the log needs the stream to exist).
//!
//! [`snapshot_store_conformance!`]: crate::snapshot_store_conformance

use bytes::Bytes;

use super::conformance::{assert_error, base_time, events, stream};
use crate::limits::SNAPSHOT_BYTES_MAX;
use crate::{Error, EventStore, ExpectedVersion, Snapshot, SnapshotStore, StreamId, StreamVersion};

/// What a snapshot store does beyond the contract's minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotCapabilities {
    /// It sees the event log, and refuses a snapshot of a stream that does not exist or has not
    /// reached the snapshot's version (`InvalidInput`). A store that cannot check accepts it;
    /// the repository's load then finds the mismatch (`Corrupted`).
    pub checks_stream_head: bool,
}

fn snapshot(s: &StreamId, version: u64, state: &str) -> Snapshot {
    Snapshot {
        stream_id: s.clone(),
        version: StreamVersion(version),
        schema_version: 1,
        occurred_at: base_time(),
        state: Bytes::from(state.to_owned()),
    }
}

/// Saved snapshots load back unchanged; an older one never replaces a newer one; saving the same
/// one twice changes nothing; streams do not share snapshots.
///
/// # Panics
/// When the store breaks the property.
pub async fn snapshot_round_trip<S: SnapshotStore + ?Sized, E: EventStore + ?Sized>(
    snapshots: &S,
    log: &E,
) {
    let (a, b) = (stream("snap-a"), stream("snap-b"));
    log.append(&a, ExpectedVersion::NoStream, &events(1, 10)).await.expect("append a");
    log.append(&b, ExpectedVersion::NoStream, &events(20, 10)).await.expect("append b");
    assert_eq!(snapshots.load(&a).await.expect("load"), None, "no snapshot yet");
    snapshots.save(&snapshot(&a, 5, "{\"v\":5}")).await.expect("save v5");
    assert_eq!(snapshots.load(&a).await.expect("load"), Some(snapshot(&a, 5, "{\"v\":5}")));
    snapshots.save(&snapshot(&a, 3, "{\"v\":3}")).await.expect("an older save is accepted");
    assert_eq!(snapshots.load(&a).await.expect("load").map(|s| s.version), Some(StreamVersion(5)));
    snapshots.save(&snapshot(&a, 7, "{\"v\":7}")).await.expect("save v7");
    snapshots.save(&snapshot(&a, 7, "{\"v\":7}")).await.expect("save v7 again");
    assert_eq!(snapshots.load(&a).await.expect("load"), Some(snapshot(&a, 7, "{\"v\":7}")));
    assert_eq!(snapshots.load(&b).await.expect("load"), None, "streams do not share snapshots");
    let binary =
        Snapshot { state: Bytes::from((0..=255u8).collect::<Vec<_>>()), ..snapshot(&b, 10, "") };
    snapshots.save(&binary).await.expect("any bytes");
    assert_eq!(snapshots.load(&b).await.expect("load"), Some(binary));
}

/// Version 0 is `InvalidInput`, a state over [`SNAPSHOT_BYTES_MAX`] is `LimitExceeded`; a
/// snapshot beyond its stream is refused or accepted as the capabilities say.
///
/// # Panics
/// When the store breaks the property.
pub async fn snapshot_invalid_input<S: SnapshotStore + ?Sized, E: EventStore + ?Sized>(
    snapshots: &S,
    log: &E,
    caps: SnapshotCapabilities,
) {
    let s = stream("snap-invalid");
    log.append(&s, ExpectedVersion::NoStream, &events(1, 3)).await.expect("append");
    assert_error("version 0", snapshots.save(&snapshot(&s, 0, "{}")).await, |e| {
        matches!(e, Error::InvalidInput { .. })
    });
    let huge =
        Snapshot { state: Bytes::from(vec![b' '; SNAPSHOT_BYTES_MAX + 1]), ..snapshot(&s, 1, "") };
    assert_error("oversized", snapshots.save(&huge).await, |e| {
        matches!(e, Error::LimitExceeded { limit: "SNAPSHOT_BYTES_MAX", .. })
    });
    let beyond = snapshots.save(&snapshot(&s, 1_000_000_000_000, "{}")).await;
    let missing = snapshots.save(&snapshot(&stream("snap-missing"), 1, "{}")).await;
    if caps.checks_stream_head {
        assert_error("beyond the head", beyond, |e| matches!(e, Error::InvalidInput { .. }));
        assert_error("no such stream", missing, |e| matches!(e, Error::InvalidInput { .. }));
        assert_eq!(snapshots.load(&s).await.expect("load"), None, "nothing was saved");
    } else {
        beyond.expect("a store that cannot check the log accepts it");
        missing.expect("a store that cannot check the log accepts it");
    }
}

/// Runs every snapshot property; `fresh` makes an empty (snapshot store, event store) pair.
///
/// # Panics
/// On the first property the stores break.
pub async fn run_all_snapshots<S, E, F, Fut>(mut fresh: F, caps: SnapshotCapabilities)
where
    S: SnapshotStore,
    E: EventStore,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (S, E)>,
{
    let (snapshots, log) = fresh().await;
    snapshot_round_trip(&snapshots, &log).await;
    let (snapshots, log) = fresh().await;
    snapshot_invalid_input(&snapshots, &log, caps).await;
}

/// Generates one test per snapshot store property. `stores` is an async expression yielding an
/// empty `(snapshot store, event store)` pair.
///
/// ```no_run
/// mod snapshots {
///     fintra_core::snapshot_store_conformance!(
///         test = tokio::test,
///         stores = async {
///             (fintra_core::InMemorySnapshotStore::new(), fintra_core::InMemoryEventStore::new())
///         },
///         capabilities = fintra_core::testing::snapshots::SnapshotCapabilities {
///             checks_stream_head: false,
///         },
///     );
/// }
/// ```
#[macro_export]
macro_rules! snapshot_store_conformance {
    (test = $test:meta, stores = $stores:expr, capabilities = $caps:expr $(,)?) => {
        #[$test]
        async fn snapshot_round_trip() {
            let (snapshots, log) = $stores.await;
            $crate::testing::snapshots::snapshot_round_trip(&snapshots, &log).await;
        }
        #[$test]
        async fn snapshot_invalid_input() {
            let (snapshots, log) = $stores.await;
            $crate::testing::snapshots::snapshot_invalid_input(&snapshots, &log, $caps).await;
        }
    };
}
