//! Parquet archives on the local file system: write a log range, list, read back exactly,
//! filter, verify, detect tampering, and read the files with a tool outside the project
//! (pyarrow, installed by `scripts/test.sh`).

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::collections::BTreeMap;

use chrono::Duration;
use fintra_core::testing::conformance::{base_time, event, stream};
use fintra_core::{
    Actor, EventMetadata, EventStore, ExpectedVersion, InMemoryEventStore, ManualClock, NewEvent,
    Position, TenantId,
};
use fintra_store_parquet::{ArchiveError, ParquetArchive, ReadFilter};

fn rich(n: u64) -> NewEvent {
    let mut headers = BTreeMap::new();
    headers.insert("source".to_owned(), format!("test-{n}"));
    NewEvent {
        metadata: EventMetadata {
            tenant_id: TenantId::new("org_test").unwrap(),
            correlation_id: n.is_multiple_of(2).then(|| uuid::Uuid::from_u128(u128::from(n) + 7)),
            causation_id: None,
            actor: if n.is_multiple_of(3) {
                Actor::System
            } else {
                Actor::User(format!("user_{n}"))
            },
            headers,
        },
        ..event(n)
    }
}

async fn filled_log() -> InMemoryEventStore {
    let clock = std::sync::Arc::new(ManualClock::new(base_time()));
    let store = InMemoryEventStore::with_clock(clock.clone());
    for s in 0..10u64 {
        clock.advance(Duration::hours(1));
        let batch: Vec<NewEvent> = (0..30).map(|k| rich(s * 100 + k)).collect();
        store.append(&stream(&format!("a{s}")), ExpectedVersion::NoStream, &batch).await.unwrap();
    }
    store
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fintra-archive-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn an_archive_reads_back_exactly_and_verifies() {
    let log = filled_log().await;
    let events = log.read_all(Position::START, 1_000).await.unwrap();
    let dir = temp_dir("roundtrip");
    let archive = ParquetArchive::local(&dir).unwrap();
    let through = events[199].position;
    let manifest = archive.archive_range(&log, Position::START, through).await.unwrap();
    assert_eq!(
        (manifest.rows, manifest.first_position, manifest.last_position),
        (200, events[0].position.0, through.0)
    );
    let second = archive.archive_range(&log, through, events[299].position).await.unwrap();
    assert_eq!(second.rows, 100);
    let listed = archive.list().await.unwrap();
    assert_eq!(listed, vec![manifest.clone(), second.clone()]);
    let back = archive.read(&manifest.archive_id, &ReadFilter::default()).await.unwrap();
    assert_eq!(back, events[..200].to_vec(), "every field survives the round trip");
    let verified = archive.verify(&manifest.archive_id).await.unwrap();
    assert_eq!(verified.rows, 200);
    assert_eq!(verified.content_hash, manifest.content_hash);
    // Filters: one stream; a time window.
    let only = archive
        .read(
            &manifest.archive_id,
            &ReadFilter { stream: Some(stream("a3")), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(only.len(), 30);
    let window = ReadFilter {
        recorded_from: Some(events[60].recorded_at),
        recorded_before: Some(events[120].recorded_at),
        ..Default::default()
    };
    assert_eq!(
        archive.read(&manifest.archive_id, &window).await.unwrap(),
        events[60..120].to_vec()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_scan_hands_over_every_kept_row_in_bounded_batches() {
    let log = filled_log().await;
    let events = log.read_all(Position::START, 1_000).await.unwrap();
    let dir = temp_dir("scan");
    let archive = ParquetArchive::local(&dir).unwrap();
    let manifest =
        archive.archive_range(&log, Position::START, events[299].position).await.unwrap();
    let mut seen = Vec::new();
    let mut largest = 0;
    let scanned = archive
        .scan(&manifest.archive_id, &ReadFilter::default(), |batch| {
            largest = largest.max(batch.len());
            seen.extend(batch);
        })
        .await
        .unwrap();
    assert_eq!((scanned.rows, scanned.kept), (300, 300));
    assert!(scanned.files >= 1 && largest <= fintra_store_parquet::SCAN_BATCH_ROWS);
    seen.sort_by_key(|e| e.position);
    assert_eq!(seen, events[..300].to_vec(), "the scan loses and changes nothing");
    // The filter applies as in `read`.
    let mut kept = Vec::new();
    let only = ReadFilter { stream: Some(stream("a7")), ..Default::default() };
    let scanned =
        archive.scan(&manifest.archive_id, &only, |batch| kept.extend(batch)).await.unwrap();
    assert_eq!((scanned.rows, scanned.kept, kept.len()), (300, 30, 30));
    assert!(kept.iter().all(|e| e.stream_id == stream("a7")));
    // An unknown archive is a typed error, not an empty scan.
    let missing = archive.scan("positions-9-9", &ReadFilter::default(), |_| {}).await;
    assert!(matches!(missing, Err(ArchiveError::NotFound(_))));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn tampering_and_missing_archives_are_reported() {
    let log = filled_log().await;
    let dir = temp_dir("tamper");
    let archive = ParquetArchive::local(&dir).unwrap();
    let manifest = archive.archive_range(&log, Position::START, Position(u64::MAX)).await.unwrap();
    assert_eq!(manifest.rows, 300);
    let file = dir.join("fintra-archive").join(&manifest.files[0].path);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    assert!(matches!(
        archive.verify(&manifest.archive_id).await,
        Err(ArchiveError::Corrupted { .. })
    ));
    assert!(matches!(archive.verify("positions-nothing").await, Err(ArchiveError::NotFound(_))));
    assert!(matches!(archive.write(&[]).await, Err(ArchiveError::Empty)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn pyarrow_reads_a_fintra_archive() {
    let log = filled_log().await;
    let events = log.read_all(Position::START, 1_000).await.unwrap();
    let dir = temp_dir("interop");
    let archive = ParquetArchive::local(&dir).unwrap();
    let manifest = archive.archive_range(&log, Position::START, Position(u64::MAX)).await.unwrap();
    assert!(!manifest.files.is_empty());
    // The whole lake folder, as a Hive-partitioned dataset.
    let file = dir.join("fintra-archive").join("data");
    let script = "import sys, pyarrow.parquet as pq\nt = pq.read_table(sys.argv[1])\nprint(t.num_rows, sum(t.column('stream_version').to_pylist()), t.schema.field('occurred_at').type, sorted(set(t.column('tenant').to_pylist())))";
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed for the interoperability test: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pyarrow could not read the archive (install it: pip install pyarrow; scripts/test.sh does): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected_sum: u64 = events.iter().map(|e| e.stream_version.get()).sum();
    assert_eq!(stdout.trim(), format!("300 {expected_sum} timestamp[us, tz=UTC] ['org_test']"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_archive_on_s3_round_trips_and_verifies() {
    use fintra_store_parquet::S3Config;
    let endpoint =
        std::env::var("FINTRA_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into());
    let bucket = std::env::var("FINTRA_S3_BUCKET").unwrap_or_else(|_| "fintra-test".into());
    let reachable = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::TcpStream::connect(endpoint.trim_start_matches("http://")),
    )
    .await;
    assert!(
        matches!(reachable, Ok(Ok(_))),
        "no S3-compatible server at {endpoint}: run scripts/s3.sh (scripts/test.sh does)"
    );
    let archive = ParquetArchive::s3(&S3Config {
        bucket,
        region: "us-east-1".into(),
        endpoint: Some(endpoint),
        access_key_id: std::env::var("FINTRA_S3_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into()),
        secret_access_key: std::env::var("FINTRA_S3_SECRET_ACCESS_KEY")
            .unwrap_or_else(|_| "test".into()),
    })
    .unwrap();
    let log = filled_log().await;
    let events = log.read_all(Position::START, 1_000).await.unwrap();
    let manifest = archive.write(&events[..150]).await.unwrap();
    assert!(archive.list().await.unwrap().contains(&manifest));
    assert_eq!(
        archive.read(&manifest.archive_id, &ReadFilter::default()).await.unwrap(),
        events[..150].to_vec()
    );
    assert_eq!(
        archive.verify(&manifest.archive_id).await.unwrap().content_hash,
        manifest.content_hash
    );
}
