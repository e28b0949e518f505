//! The slow brain over the cold tier: a population's log archived as Parquet (two archives),
//! the tail after them left in the hot store, folded in two shards from `ParquetArchive::scan`
//! and the tail, forecast in parallel, and written back as `ForecastUpdated` — equal to
//! forecasting each twin as the repository loads it.

#![allow(clippy::unwrap_used, reason = "a failed setup fails the test")]

use std::sync::Arc;

use fintra_core::testing::conformance::read_entire_log;
use fintra_core::{EventStore, InMemoryEventStore, Position, Repository};
use fintra_ml::Brain;
use fintra_ml::forecast::{ForecastConfig, forecast_profile};
use fintra_ml::population::{PopulationConfig, generate, import_into};
use fintra_ml::slow::{
    Appended, FORECAST_UPDATED, ForecastUpdated, ProfileFold, Shard, SlowBrain, SlowBrainConfig,
    append_updates,
};
use fintra_store_parquet::{ParquetArchive, ReadFilter};
use fintra_twin::Profile;

#[tokio::test]
async fn forecasts_from_the_archived_log_match_the_live_twins() {
    let store = Arc::new(InMemoryEventStore::new());
    let brain = Brain::builtin().unwrap();
    let people = generate(&PopulationConfig { profiles: 8, months: 14, ..Default::default() });
    for person in &people {
        import_into(store.clone(), person, &brain).await.unwrap();
    }
    let log = read_entire_log(&*store, 1_000, 0).await;
    // Two archives, then a tail only the hot store holds.
    let dir = std::env::temp_dir().join(format!("fintra-slow-brain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let archive = ParquetArchive::local(&dir).unwrap();
    let (middle, archived) = (log[log.len() / 3].position, log[log.len() * 2 / 3].position);
    archive.archive_range(&*store, Position::START, middle).await.unwrap();
    archive.archive_range(&*store, middle, archived).await.unwrap();
    let manifests = archive.list().await.unwrap();
    assert_eq!(manifests.len(), 2);

    let slow = SlowBrain::new(SlowBrainConfig { threads: 2, ..SlowBrainConfig::default() });
    let mut updates = Vec::new();
    for shard in Shard::split(2) {
        let mut fold = ProfileFold::new(shard);
        for manifest in &manifests {
            let filter = ReadFilter::default();
            archive.scan(&manifest.archive_id, &filter, |batch| fold.extend(batch)).await.unwrap();
        }
        let mut after = archived; // the tail only the hot store holds, to its end
        loop {
            let page = store.read_all(after, 1_000).await.unwrap();
            let Some(last) = page.last().map(|e| e.position) else { break };
            after = last;
            fold.extend(page);
        }
        assert!(after > archived, "a tail was read");
        let folded = fold.finish();
        assert!(folded.skipped.is_empty(), "{:?}", folded.skipped);
        let made = slow.forecast(&folded.profiles);
        assert!(made.failures.is_empty(), "{:?}", made.failures);
        updates.extend(made.updates);
    }
    assert_eq!(updates.len(), people.len());

    let repository = Repository::<Profile, _>::new(store.clone());
    for update in &updates {
        let live = repository.load(&update.event.profile_stream).await.unwrap();
        let as_of = live.state.last_transaction_date().unwrap();
        let direct = forecast_profile(&live.state, as_of, &ForecastConfig::default()).unwrap();
        assert_eq!(update.event.forecast, direct, "{}", update.event.profile_stream);
        assert_eq!(update.event.source_version, live.version.0);
    }

    let fired = updates.iter().map(|u| u.fired.len()).sum();
    assert_eq!(
        append_updates(&*store, &updates).await.unwrap(),
        Appended { written: people.len(), fired, replayed: 0 }
    );
    assert_eq!(
        append_updates(&*store, &updates).await.unwrap(),
        Appended { written: 0, fired: 0, replayed: people.len() }
    );
    let written: Vec<ForecastUpdated> = read_entire_log(&*store, 1_000, 0)
        .await
        .into_iter()
        .filter(|e| e.event_type == FORECAST_UPDATED)
        .map(|e| serde_json::from_slice(&e.payload).unwrap())
        .collect();
    assert_eq!(written.len(), people.len());
    let _ = std::fs::remove_dir_all(&dir);
}
