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

/// Through `fintra-guard`, the twin and the slow brain's outputs are sealed with the profile's
/// key, read back whole through the decorator, and erased with the profile.
#[tokio::test]
async fn through_guard_the_brain_outputs_are_sealed_and_erased_with_the_profile() {
    use fintra_guard::{Guard, GuardedStore, InMemoryKeyStore, LocalKeyProvider, SubjectId};
    let raw = Arc::new(InMemoryEventStore::new());
    let guard =
        Guard::new(Arc::new(LocalKeyProvider::new([7; 32])), Arc::new(InMemoryKeyStore::new()));
    let guarded = Arc::new(GuardedStore::new(raw.clone(), Arc::new(guard)));
    let brain = Brain::builtin().unwrap();
    let people = generate(&PopulationConfig { profiles: 2, months: 14, ..Default::default() });
    for person in &people {
        import_into(guarded.clone(), person, &brain).await.unwrap();
    }
    let mut fold = ProfileFold::new(Shard::ALL);
    fold.extend(read_entire_log(&*guarded, 1_000, 0).await);
    let folded = fold.finish();
    assert_eq!(folded.profiles.len(), 2, "{:?}", folded.skipped);
    let made = SlowBrain::new(SlowBrainConfig::default()).forecast(&folded.profiles);
    assert_eq!(made.updates.len(), 2);
    append_updates(&*guarded, &made.updates).await.unwrap();

    let at_rest = read_entire_log(&*raw, 1_000, 0).await;
    let outputs: Vec<_> =
        at_rest.iter().filter(|e| e.stream_id.as_str().starts_with("brain-")).collect();
    assert!(outputs.len() >= 2);
    for event in at_rest.iter().filter(|e| !e.stream_id.as_str().starts_with("Shred-")) {
        assert_eq!(event.content_type.as_str(), fintra_guard::SEALED, "{}", event.stream_id);
    }
    // The same reader over the raw log cannot see the profiles (sealed), and says so.
    let mut blind = ProfileFold::new(Shard::ALL);
    blind.extend(at_rest);
    let blind = blind.finish();
    assert!(blind.profiles.is_empty() && blind.skipped.len() == 2);

    // Erase the first person: their twin and their Brain outputs go; the other's stay.
    let first = &made.updates[0];
    let subject = SubjectId::new(first.event.profile_stream.as_str()).unwrap();
    guarded.shred(&subject, &fintra_core::EventMetadata::default()).await.unwrap();
    let after = read_entire_log(&*guarded, 1_000, 0).await;
    let of = |stream: &fintra_core::StreamId| -> Vec<&fintra_core::RecordedEvent> {
        after.iter().filter(|e| &e.stream_id == stream).collect()
    };
    assert!(of(&first.stream).iter().all(|e| e.is_shredded()));
    assert!(of(&first.event.profile_stream).iter().all(|e| e.is_shredded()));
    let second = &made.updates[1];
    assert!(of(&second.stream).iter().all(|e| !e.is_shredded()));
    let body: ForecastUpdated = serde_json::from_slice(&of(&second.stream)[0].payload).unwrap();
    assert_eq!(body, second.event);
}
