//! Every public async call, dropped at random await points, on a pool of one connection.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use fintra_core::testing::SimRng;
use fintra_core::testing::conformance::{base_time, event};
use fintra_core::{
    EventStore, EventStoreExt, ExpectedVersion, NewEvent, Position, ReadStreamOptions, Snapshot,
    SnapshotStore, StreamId, StreamVersion,
};
use sqlx::Row;

use super::{Ledger, Target, stream};
use crate::{PgEventStore, PgSnapshotStore};

/// What [`random_cancellation`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CancellationReport {
    /// Calls made.
    pub calls: u64,
    /// Calls dropped before they finished.
    pub cancelled: u64,
    /// Events whose append was acknowledged.
    pub acknowledged: usize,
}

/// Polls a future at most `polls` times, then drops it: a cancellation at a chosen await point.
struct DropAfterPolls<F> {
    inner: Option<Pin<Box<F>>>,
    polls: u64,
}

impl<F: Future> Future for DropAfterPolls<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls == 0 {
            self.inner = None; // dropped here, mid-flight
            return Poll::Ready(None);
        }
        self.polls -= 1;
        let Some(inner) = self.inner.as_mut() else { return Poll::Ready(None) };
        match inner.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs `call` and drops it at a random point: after a random number of polls, or after a
/// random number of microseconds, or never (a third of the time each). `None` when dropped.
async fn maybe_cancel<F: Future>(rng: &mut SimRng, call: F) -> Option<F::Output> {
    match rng.below(3) {
        0 => DropAfterPolls { inner: Some(Box::pin(call)), polls: rng.below(12) }.await,
        1 => tokio::time::timeout(Duration::from_micros(rng.below(4_000)), call).await.ok(),
        _ => Some(call.await),
    }
}

/// The public calls the suite drops.
const CALLS: u64 = 11;

/// Makes `operations` calls of every public async kind — `append`, `append_in` through
/// [`PgTx`](crate::PgTx) and through a plain sqlx transaction, `bulk_import` (pooled and in a
/// transaction), `read_all`, `read_stream`, `stream_version`, snapshot save and load, `listen`
/// and `wait` — on a store whose pool has **one** connection, dropping each at a random await
/// point. After every call, an append and a read on the same pool must succeed. At the end every
/// acknowledged event is present, every interrupted batch is whole or absent, the global log
/// reaches all of them (no transaction left open holds it back), and no session of the pool is
/// idle in a transaction.
///
/// # Panics
/// When a property breaks; the message names the seed.
pub async fn random_cancellation(
    target: &Target,
    seed: u64,
    operations: u64,
) -> CancellationReport {
    let application = format!("fintra_cancel_{seed}");
    let store = target.own_pool_store(1, &application);
    let snapshots = PgSnapshotStore::new(store.pool().clone());
    let mut rng = SimRng::new(seed);
    let mut ledger = Ledger::default();
    let mut report = CancellationReport::default();
    let mut next = 1u64;
    let probe = stream("cancel-probe");
    // The partitioned layout keeps no snapshots: its runs skip those two calls.
    let calls = if store.layout() == crate::EventLayout::Single { CALLS } else { CALLS - 2 };
    for _ in 0..operations {
        let kind = match rng.below(calls) {
            kind if calls < CALLS && kind >= 8 => kind + 2,
            kind => kind,
        };
        let s = stream(&format!("cancel-{}", rng.below(8)));
        let count = 1 + rng.below(4);
        let events: Vec<NewEvent> = (next..next + count).map(event).collect();
        next += count;
        report.calls += 1;
        let outcome = one_call(&store, &snapshots, kind, &s, &events, &mut rng).await;
        match outcome {
            Some(Ok(true)) => ledger.ack(&events),
            Some(Ok(false)) => ledger.refuse(&events),
            Some(Err(error)) => panic!("seed {seed}: call kind {kind} failed uncancelled: {error}"),
            None => {
                report.cancelled += 1;
                ledger.unknown(&events);
            }
        }
        // The next user of the one pooled connection must find it healthy.
        let check = [event(next)];
        next += 1;
        store
            .append(&probe, ExpectedVersion::Any, &check)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: append after a call of kind {kind}: {e}"));
        ledger.ack(&check);
        store
            .read_stream(&s, ReadStreamOptions::from_start().limit(10))
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: read after a call of kind {kind}: {e}"));
    }
    verify(&store, &ledger, seed, &application).await;
    report.acknowledged = ledger.acknowledged.len();
    report
}

/// One call of `kind`. `Some(Ok(true))`: `events` acknowledged; `Some(Ok(false))`: nothing
/// written (reads, rollbacks); `None`: dropped midway.
async fn one_call(
    store: &PgEventStore,
    snapshots: &PgSnapshotStore,
    kind: u64,
    s: &StreamId,
    events: &[NewEvent],
    rng: &mut SimRng,
) -> Option<fintra_core::Result<bool>> {
    let pairs: Vec<(StreamId, NewEvent)> = events.iter().map(|e| (s.clone(), e.clone())).collect();
    let written = |r: fintra_core::Result<()>| r.map(|()| true);
    let read = |r: fintra_core::Result<()>| r.map(|()| false);
    match kind {
        0 => {
            maybe_cancel(rng, async {
                written(store.append(s, ExpectedVersion::Any, events).await.map(drop))
            })
            .await
        }
        1 => {
            maybe_cancel(rng, async {
                let mut tx = store.begin().await?;
                tx.append(store, s, ExpectedVersion::Any, events).await?;
                written(tx.commit().await)
            })
            .await
        }
        2 => {
            maybe_cancel(rng, async {
                // The pattern sqlx issue 4393 breaks: the pool's release check covers it.
                let mut tx = store.pool().begin().await.map_err(fintra_core::Error::backend)?;
                store.append_in(&mut tx, s, ExpectedVersion::Any, events).await?;
                written(tx.commit().await.map_err(fintra_core::Error::backend))
            })
            .await
        }
        3 => {
            maybe_cancel(rng, async { written(store.bulk_import(&pairs, |_| {}).await.map(drop)) })
                .await
        }
        4 => {
            maybe_cancel(rng, async {
                let mut tx = store.begin().await?;
                tx.bulk_import(store, &pairs, |_| {}).await?;
                written(tx.commit().await)
            })
            .await
        }
        5 => {
            maybe_cancel(rng, async { read(store.read_all(Position::START, 50).await.map(drop)) })
                .await
        }
        6 => {
            maybe_cancel(rng, async {
                read(store.read_stream(s, ReadStreamOptions::from_start()).await.map(drop))
            })
            .await
        }
        7 => maybe_cancel(rng, async { read(store.stream_version(s).await.map(drop)) }).await,
        8 => {
            maybe_cancel(rng, async {
                let version = store.stream_version(s).await?;
                if version == StreamVersion::NONE {
                    return Ok(false);
                }
                let occurred_at = base_time();
                let snapshot = Snapshot {
                    stream_id: s.clone(),
                    version,
                    schema_version: 1,
                    occurred_at,
                    state: "{}".into(),
                };
                read(snapshots.save(&snapshot).await)
            })
            .await
        }
        9 => maybe_cancel(rng, async { read(snapshots.load(s).await.map(drop)) }).await,
        _ => {
            maybe_cancel(rng, async {
                let mut listener = store.listen().await?;
                read(listener.wait(Duration::from_millis(2)).await.map(drop))
            })
            .await
        }
    }
}

async fn verify(store: &PgEventStore, ledger: &Ledger, seed: u64, application: &str) {
    // Every acknowledged event is in its stream, and the global log reaches all of them.
    let expected = ledger.acknowledged.len();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let mut after = Position::START;
    while Instant::now() < deadline {
        let page =
            store.read_all(after, 1_000).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        match page.last() {
            Some(last) => after = last.position,
            None if seen.len() >= expected => break,
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
        seen.extend(page.iter().map(|e| e.event_id));
    }
    ledger.check(&seen, seed, "the global log after the cancellations");
    for n in 0..8 {
        let events = store.read_stream_to_vec(&stream(&format!("cancel-{n}")), 1_000_000).await;
        let events = events.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let contiguous =
            events.iter().zip(1u64..).all(|(e, v)| e.stream_version == StreamVersion(v));
        assert!(contiguous, "seed {seed}: stream cancel-{n} has a version gap");
    }
    // Closed connections end asynchronously: give the server a moment to notice.
    let stuck_deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stuck: i64 = sqlx::query(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
        )
        .bind(application)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
        .get(0);
        if stuck == 0 {
            break;
        }
        assert!(
            Instant::now() < stuck_deadline,
            "seed {seed}: {stuck} sessions of the pool stay idle in a transaction"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
