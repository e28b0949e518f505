//! Scenarios run on both layouts (native partitions on PostgreSQL, TimescaleDB on the test
//! server): time-series queries and rollups, and tiering with an interruption at every step.
#![allow(dead_code, unreachable_pub, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, reason = "test code")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeDelta, Utc};
use fintra_core::testing::conformance::{event, stream};
use fintra_core::{
    EventMetadata, EventStore, ExpectedVersion, Position, RecordedEvent, StreamVersion, TenantId,
};
use fintra_store_parquet::{Manifest, ParquetArchive};
use fintra_store_timescale::series::{EventQuery, MetricPoint, MetricQuery};
use fintra_store_timescale::{TieredLog, Tiering, TieringStep, TimescaleEventStore};
use rust_decimal::Decimal;

pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("fintra-warm-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn db_now(store: &TimescaleEventStore) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT now()").fetch_one(store.pool()).await.unwrap()
}

pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// Every event of the warm store's global log, waiting (up to the suite's visibility wait) until
/// at least `expected` are visible: the log is gap-safe, so transactions of tests running in
/// parallel can hold the newest events back for a moment.
pub async fn whole_log<S: EventStore + ?Sized>(store: &S, expected: usize) -> Vec<RecordedEvent> {
    fintra_core::testing::conformance::read_entire_log(store, 7, expected).await
}

/// Every event through a tiered reader, in pages of `page`, waiting like [`whole_log`] until at
/// least `expected` are visible.
pub async fn whole_tiered_log(log: &TieredLog, page: usize, expected: usize) -> Vec<RecordedEvent> {
    let deadline = std::time::Instant::now() + fintra_core::testing::conformance::VISIBILITY_WAIT;
    loop {
        let mut out = Vec::new();
        let mut after = Position::START;
        loop {
            let events = log.read_all(after, page).await.unwrap();
            let Some(last) = events.last() else { break };
            after = last.position;
            out.extend(events);
        }
        if out.len() >= expected || std::time::Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Events appended to the warm store in three tenants, two categories, two types.
pub async fn append_mixed(store: &TimescaleEventStore) -> Vec<RecordedEvent> {
    let mut n = 0u64;
    for (tenant_name, category, kind, count) in [
        ("alpha", "account", "Opened", 4),
        ("alpha", "profile", "Imported", 5),
        ("beta", "account", "Opened", 3),
        ("beta", "profile", "Opened", 2),
        ("gamma", "accounting", "Opened", 2),
    ] {
        let stream_id = fintra_core::StreamId::new(format!("{category}-{tenant_name}")).unwrap();
        let events: Vec<_> = (0..count)
            .map(|_| {
                n += 1;
                let mut e = event(1_000 + n);
                e.event_type = kind.to_owned();
                e.metadata =
                    EventMetadata { tenant_id: tenant(tenant_name), ..EventMetadata::default() };
                e
            })
            .collect();
        store.append(&stream_id, ExpectedVersion::Any, &events).await.unwrap();
    }
    whole_log(store, 16).await
}

/// `events_between` pages through exactly the events its filters select, in order.
pub async fn events_between_scenario(store: &TimescaleEventStore) {
    let all = append_mixed(store).await;
    assert_eq!(all.len(), 16);
    let now = db_now(store).await;
    let from = now - TimeDelta::hours(1);
    let to = now + TimeDelta::hours(1);
    let cases: [(Option<&str>, Option<&str>, Option<&str>); 5] = [
        (None, None, None),
        (Some("alpha"), None, None),
        (None, Some("account"), None),
        (Some("beta"), Some("profile"), Some("Opened")),
        (None, None, Some("Opened")),
    ];
    for (tenant_name, category, kind) in cases {
        let mut query = EventQuery::between(from, to);
        query.tenant = tenant_name.map(tenant);
        query.category = category.map(str::to_owned);
        query.event_type = kind.map(str::to_owned);
        query.limit = 3;
        let mut got = Vec::new();
        loop {
            let page = store.events_between(&query).await.unwrap();
            assert!(page.events.len() <= 3);
            got.extend(page.events);
            match page.next {
                Some(cursor) => query.after = Some(cursor),
                None => break,
            }
        }
        let mut expected: Vec<_> = all
            .iter()
            .filter(|e| tenant_name.is_none_or(|t| e.metadata.tenant_id.as_str() == t))
            .filter(|e| category.is_none_or(|c| e.stream_id.category() == c))
            .filter(|e| kind.is_none_or(|k| e.event_type == k))
            .cloned()
            .collect();
        expected.sort_by_key(|e| (e.recorded_at, e.position));
        assert_eq!(got, expected, "filters {tenant_name:?} {category:?} {kind:?}");
    }
    // "account" must not match the "accounting" category.
    let mut query = EventQuery::between(from, to);
    query.category = Some("account".into());
    let page = store.events_between(&query).await.unwrap();
    assert!(page.events.iter().all(|e| e.stream_id.category() == "account"));
    // A window before the events holds none; a reversed window is refused.
    let empty = store.events_between(&EventQuery::between(from - TimeDelta::days(3), from)).await;
    assert!(empty.unwrap().events.is_empty());
    assert!(store.events_between(&EventQuery::between(to, from)).await.is_err());
}

fn dec(v: i64) -> Decimal {
    Decimal::from(v)
}

/// Metric points in buckets and the daily rollup agree with sums computed here.
pub async fn metrics_scenario(store: &TimescaleEventStore) {
    let t = tenant("metrics");
    let day = |d: u32, h: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, 3, d)
            .unwrap()
            .and_hms_opt(h, 15, 0)
            .unwrap()
            .and_utc()
    };
    let point = |key: &str, at: DateTime<Utc>, value: i64| MetricPoint {
        tenant: t.clone(),
        series: "feed.latency_ms".into(),
        key: key.into(),
        at,
        value: dec(value),
        source: None,
    };
    let points = [
        point("northbank", day(1, 9), 120),
        point("northbank", day(1, 9), 80),
        point("northbank", day(1, 17), 200),
        point("northbank", day(2, 3), 90),
        point("travelbank", day(1, 10), 300),
    ];
    // Two calls: the rollup must fold the second into the first.
    store.record_points(&points[..2]).await.unwrap();
    store.record_points(&points[2..]).await.unwrap();
    let query = MetricQuery {
        tenant: t.clone(),
        series: "feed.latency_ms".into(),
        key: Some("northbank".into()),
        from: day(1, 0) - TimeDelta::minutes(15),
        to: day(3, 0),
    };
    let hourly = store.metric_buckets(&query, TimeDelta::hours(1)).await.unwrap();
    let summary: Vec<_> =
        hourly.iter().map(|b| (b.start, b.total, b.count, b.min, b.max)).collect();
    let hour = |d: u32, h: u32| day(d, h) - TimeDelta::minutes(15);
    assert_eq!(
        summary,
        vec![
            (hour(1, 9), dec(200), 2, dec(80), dec(120)),
            (hour(1, 17), dec(200), 1, dec(200), dec(200)),
            (hour(2, 3), dec(90), 1, dec(90), dec(90)),
        ]
    );
    let daily = store.daily_rollup(&query).await.unwrap();
    let summary: Vec<_> = daily
        .iter()
        .map(|b| (b.start.date_naive(), b.total, b.count, b.min, b.max, b.last))
        .collect();
    let date = |d: u32| chrono::NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
    assert_eq!(
        summary,
        vec![
            (date(1), dec(400), 3, dec(80), dec(200), dec(200)),
            (date(2), dec(90), 1, dec(90), dec(90), dec(90))
        ]
    );
    // Daily buckets from the raw points equal the rollup.
    let from_raw = store.metric_buckets(&query, TimeDelta::days(1)).await;
    let from_raw: Vec<_> = from_raw.unwrap().iter().map(|b| (b.start, b.total, b.count)).collect();
    let rolled: Vec<_> = daily.iter().map(|b| (b.start, b.total, b.count)).collect();
    assert_eq!(from_raw, rolled);
    // Every key of the series.
    let all_keys = MetricQuery { key: None, ..query.clone() };
    let keys: BTreeSet<_> =
        store.daily_rollup(&all_keys).await.unwrap().into_iter().map(|b| b.key).collect();
    assert_eq!(keys, BTreeSet::from(["northbank".to_owned(), "travelbank".to_owned()]));
    // Bad input is refused with a typed error.
    assert!(store.metric_buckets(&query, TimeDelta::milliseconds(10)).await.is_err());
    let empty_key = MetricPoint { key: String::new(), ..points[0].clone() };
    assert!(store.record_points(&[empty_key]).await.is_err());
}

/// `count` archived-looking events per day for each of `days_ago`, recorded at noon of that
/// day, positions 1.. (below any live transaction's), streams `history-<n mod 4>`.
pub fn history(now: DateTime<Utc>, days_ago: &[i64], count: u64) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    let mut versions = [0u64; 4];
    let mut n = 0u64;
    for &days in days_ago {
        let noon =
            (now - Duration::days(days)).date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc();
        for i in 0..count {
            n += 1;
            let slot = usize::try_from(n % 4).unwrap();
            versions[slot] += 1;
            let new = event(50_000 + n);
            out.push(RecordedEvent {
                event_id: new.event_id,
                stream_id: stream(&format!("history{slot}")),
                stream_version: StreamVersion(versions[slot]),
                position: Position(n),
                event_type: new.event_type,
                schema_version: new.schema_version,
                recorded_at: noon + Duration::seconds(i64::try_from(i).unwrap()),
                occurred_at: new.occurred_at,
                metadata: new.metadata,
                content_type: new.content_type,
                payload: new.payload,
            });
        }
    }
    out
}

/// Seeds `history` into the store by restoring it from a scratch archive (the way old data
/// arrives in a warm store: restored, or aged in place).
pub async fn seed(store: &TimescaleEventStore, events: &[RecordedEvent]) {
    let scratch = ParquetArchive::local(&temp_dir("seed")).unwrap();
    let manifest = scratch.write(events).await.unwrap();
    let written = Tiering::new(store, &scratch).restore(&manifest.archive_id).await.unwrap();
    assert_eq!(written, u64::try_from(events.len()).unwrap());
}

fn ids(events: &[RecordedEvent]) -> Vec<(u64, uuid::Uuid)> {
    events.iter().map(|e| (e.position.get(), e.event_id)).collect()
}

async fn tiering_state(store: &TimescaleEventStore) -> Vec<(String, String)> {
    sqlx::query_as("SELECT partition_name, state FROM fintra_tiering ORDER BY partition_name")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

/// Seeds three old days (20, 19 and 10 days before `now`) and five live events; returns the
/// old events and the whole warm log.
async fn seed_old_and_live(
    store: &TimescaleEventStore,
    now: DateTime<Utc>,
) -> (Vec<RecordedEvent>, Vec<RecordedEvent>) {
    let old = history(now, &[20, 19, 10], 25);
    seed(store, &old).await;
    let live = stream("live");
    store
        .append(&live, ExpectedVersion::NoStream, &fintra_core::testing::conformance::events(1, 5))
        .await
        .unwrap();
    let before = whole_log(store, 80).await;
    assert_eq!(before.len(), 80);
    (old, before)
}

/// Tiering interrupted after every step (and hit by a late writer) still finishes, once.
async fn interrupted_tiering_finishes(
    store: &TimescaleEventStore,
    tiering: &Tiering<'_>,
    archive: &ParquetArchive,
    archive_dir: &Path,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) {
    // Crash before the manifest: files written, no manifest, no state row.
    let first = tiering.run_until(cutoff, TieringStep::Exported).await.unwrap();
    assert!(!first.exported.is_empty());
    sqlx::query("DELETE FROM fintra_tiering").execute(store.pool()).await.unwrap();
    // As a crash before the commit point leaves it: the files still staged, no manifest.
    let root = archive_dir.join("fintra-archive");
    for id in &first.exported {
        let manifest = archive.manifest(id).await.unwrap();
        for (n, file) in manifest.files.iter().enumerate() {
            let staged = root.join("staging").join(id).join(format!("{n:05}.parquet"));
            std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
            std::fs::rename(root.join(&file.path), staged).unwrap();
        }
        std::fs::remove_file(root.join("manifests").join(format!("{id}.json"))).unwrap();
    }
    assert!(archive.list().await.unwrap().is_empty());
    // Crash after export (state 'exported').
    tiering.run_until(cutoff, TieringStep::Exported).await.unwrap();
    assert!(tiering_state(store).await.iter().all(|(_, s)| s == "exported"));
    assert_eq!(whole_log(store, 80).await.len(), 80, "nothing dropped before verification");
    // Crash after verification (state 'verified').
    tiering.run_until(cutoff, TieringStep::Verified).await.unwrap();
    assert!(tiering_state(store).await.iter().all(|(_, s)| s == "verified"));
    // A late writer: an event lands in an old partition after its export was verified.
    let late = history(now, &[19], 1).into_iter().map(|mut e| {
        e.position = Position(999);
        e.event_id = fintra_core::testing::conformance::event_id(77_777);
        e.stream_id = stream("late");
        e.stream_version = StreamVersion(1);
        e
    });
    seed(store, &late.collect::<Vec<_>>()).await;
    let report = tiering.run(cutoff).await.unwrap();
    assert_eq!(report.changed.len(), 1, "{report:?}");
    // The next run exports the changed partition afresh and finishes.
    let report = tiering.run(cutoff).await.unwrap();
    assert_eq!(report.changed, Vec::<String>::new());
    assert!(tiering_state(store).await.iter().all(|(_, s)| s == "dropped"));
    // Idempotent: nothing more to do.
    let again = tiering.run(cutoff).await.unwrap();
    assert_eq!(again, Default::default());
}

/// The warm store keeps only events after `cutoff`, and the verified archives hold the rest,
/// once each; returns the warm log and the manifests.
async fn assert_split_between_tiers(
    store: &TimescaleEventStore,
    archive: &ParquetArchive,
    cutoff: DateTime<Utc>,
) -> (Vec<RecordedEvent>, Vec<Manifest>) {
    let warm = whole_log(store, 5).await;
    assert!(warm.iter().all(|e| e.recorded_at > cutoff), "old events left in the warm store");
    let manifests = archive.list().await.unwrap();
    let archived: u64 = manifests.iter().map(|m| m.rows).sum();
    assert_eq!(archived + u64::try_from(warm.len()).unwrap(), 81);
    for m in &manifests {
        archive.verify(&m.archive_id).await.unwrap();
    }
    (warm, manifests)
}

/// A replay from 0 through the tiered reader returns every event once, in position order.
async fn assert_replay_spans_tiers(tiered: &TieredLog, before: &[RecordedEvent]) {
    for page in [1, 7, 1_000] {
        let all = whole_tiered_log(tiered, page, 81).await;
        assert_eq!(all.len(), 81, "page {page}");
        assert!(all.windows(2).all(|w| w[0].position < w[1].position));
        let expected: BTreeSet<_> = ids(before)
            .into_iter()
            .chain([(999, fintra_core::testing::conformance::event_id(77_777))])
            .collect();
        assert_eq!(ids(&all).into_iter().collect::<BTreeSet<_>>(), expected);
    }
}

/// Restoring one archive brings its events back once (a second restore writes nothing) and
/// a restored stream continues at the right version.
async fn assert_restore_of_one_archive(
    store: &TimescaleEventStore,
    tiering: &Tiering<'_>,
    tiered: &TieredLog,
    warm: &[RecordedEvent],
    manifests: &[Manifest],
) {
    let restored_id = &manifests[0].archive_id;
    let written = tiering.restore(restored_id).await.unwrap();
    assert_eq!(written, manifests[0].rows);
    assert_eq!(tiering.restore(restored_id).await.unwrap(), 0);
    let warm_after =
        whole_log(store, warm.len() + usize::try_from(manifests[0].rows).unwrap()).await;
    assert_eq!(warm_after.len(), warm.len() + usize::try_from(manifests[0].rows).unwrap());
    assert_eq!(whole_tiered_log(tiered, 10, 81).await.len(), 81);
    let history0 = store.read_stream(&stream("history0"), Default::default()).await.unwrap();
    assert!(!history0.is_empty());
    // A restored stream continues at the right version.
    let version = store.stream_version(&stream("history1")).await.unwrap();
    let next = store
        .append(&stream("history1"), ExpectedVersion::Exact(version), &[event(90_001)])
        .await
        .unwrap();
    assert_eq!(next.first_version, StreamVersion(version.get() + 1));
}

/// Rows written into ranges tiered before (the restored one and a stray event) are tiered
/// again, and the tiered reader still shows every event once.
async fn assert_late_rows_are_tiered_again(
    store: &TimescaleEventStore,
    tiering: &Tiering<'_>,
    tiered: &TieredLog,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) {
    let stray: Vec<_> = history(now, &[19], 1)
        .into_iter()
        .map(|mut e| {
            e.position = Position(5_000);
            e.event_id = fintra_core::testing::conformance::event_id(88_888);
            e.stream_id = stream("stray");
            e.stream_version = StreamVersion(1);
            e
        })
        .collect();
    seed(store, &stray).await;
    let report = tiering.run(cutoff).await.unwrap();
    assert_eq!(report.changed, Vec::<String>::new());
    assert!(report.dropped.len() >= 2, "{report:?}");
    assert!(whole_log(store, 0).await.iter().all(|e| e.recorded_at > cutoff));
    // 81 before, the append to history1 and the stray event: each once.
    let all = whole_tiered_log(tiered, 50, 83).await;
    assert_eq!(all.len(), 83);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
}

/// Tiering with an interruption after every step, then restore, then reads across tiers.
/// `archive_dir` is the local archive's folder (manifests are deleted from it to simulate a
/// crash before the manifest was written).
pub async fn tiering_scenario(store: &TimescaleEventStore, archive_dir: &Path) {
    let archive = Arc::new(ParquetArchive::local(archive_dir).unwrap());
    let tiering = Tiering::new(store, &archive);
    let now = db_now(store).await;
    // Three old days (20, 19 and 10 days ago) and live events.
    let (old, before) = seed_old_and_live(store, now).await;
    let cutoff = now - Duration::days(5);
    let old_partitions: Vec<_> =
        store.partitions().await.unwrap().into_iter().filter(|p| p.to <= cutoff).collect();
    assert!(old_partitions.len() >= 2, "{old_partitions:?}");

    interrupted_tiering_finishes(store, &tiering, &archive, archive_dir, now, cutoff).await;

    // The warm store keeps only recent events; archives hold the rest, once each.
    let (warm, manifests) = assert_split_between_tiers(store, &archive, cutoff).await;
    // A replay from 0 spans both tiers: every event once, in position order.
    let tiered = TieredLog::new(store.clone(), Arc::clone(&archive));
    assert_replay_spans_tiers(&tiered, &before).await;
    // Tiered ids stay claimed: reusing one is refused.
    let mut reuse = event(1);
    reuse.event_id = old[0].event_id;
    let refused = store.append(&stream("reuse"), ExpectedVersion::Any, &[reuse]).await;
    assert!(matches!(refused, Err(fintra_core::Error::DuplicateEventId { .. })), "{refused:?}");

    // Restore one archive: its events are back with their positions; the tiered reader still
    // shows each event once; restoring again writes nothing.
    assert_restore_of_one_archive(store, &tiering, &tiered, &warm, &manifests).await;

    // Rows written into ranges tiered before (the restored one, and a stray event 19 days
    // back): their partitions are tiered again, the stray event as part of a new archive.
    assert_late_rows_are_tiered_again(store, &tiering, &tiered, now, cutoff).await;
}
