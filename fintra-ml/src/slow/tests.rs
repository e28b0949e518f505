#![allow(clippy::unwrap_used, reason = "a failed setup fails the test")]

use std::sync::Arc;

use fintra_core::testing::conformance::read_entire_log;
use fintra_core::{
    EventMetadata, InMemoryEventStore, RecordedEvent, Repository, StreamId, StreamVersion,
};
use fintra_twin::{Profile, ProfileCommand};

use super::*;
use crate::Brain;
use crate::forecast::forecast_profile;
use crate::insight::BrainEvent;
use crate::population::{PopulationConfig, generate, import_into};

/// Three synthetic people imported into one store, plus one profile with no transactions.
async fn log() -> (Arc<InMemoryEventStore>, Vec<RecordedEvent>) {
    let store = Arc::new(InMemoryEventStore::new());
    let config = PopulationConfig { profiles: 3, months: 14, ..PopulationConfig::default() };
    let brain = Brain::builtin().unwrap();
    for person in generate(&config) {
        import_into(store.clone(), &person, &brain).await.unwrap();
    }
    let repository = Repository::<Profile, _>::new(store.clone());
    let empty = repository.stream_id(uuid::Uuid::from_u128(99)).unwrap();
    let create = ProfileCommand::Create {
        profile_id: "usr_empty".into(),
        base_currency: fintra_core::Asset::GBP,
    };
    repository.execute(&empty, &create, &EventMetadata::default()).await.unwrap();
    let events = read_entire_log(&*store, 1_000, 0).await;
    (store, events)
}

async fn loaded(store: &Arc<InMemoryEventStore>, stream: &StreamId) -> Profile {
    Repository::<Profile, _>::new(store.clone()).load(stream).await.unwrap().state
}

#[tokio::test]
async fn a_fold_in_any_batch_order_equals_the_repository_load() {
    let (store, events) = log().await;
    let mut fold = ProfileFold::new(Shard::ALL);
    // Batches in reverse order, each batch reversed too: the worst order a scan can give.
    for chunk in events.rchunks(2) {
        fold.extend(chunk.iter().rev().cloned());
    }
    // An overlapping re-read (a tail read after an archive) changes nothing.
    fold.extend(events.iter().cloned());
    let folded = fold.finish();
    // Large batches decode on several threads; the fold is the same.
    assert!(events.len() >= 2 * 256, "the log must be large enough to decode in parallel");
    let mut parallel = ProfileFold::new(Shard::ALL).with_threads(2);
    parallel.extend(events.iter().cloned());
    let parallel = parallel.finish();
    let key = |f: &Folded| -> Vec<(StreamId, StreamVersion, Profile)> {
        f.profiles.iter().map(|p| (p.stream.clone(), p.version, p.profile.clone())).collect()
    };
    assert_eq!(key(&parallel), key(&folded));
    assert!(folded.skipped.is_empty(), "{:?}", folded.skipped);
    assert_eq!(folded.profiles.len(), 4);
    for profile in &folded.profiles {
        assert_eq!(profile.profile, loaded(&store, &profile.stream).await);
        let last = events.iter().filter(|e| e.stream_id == profile.stream).last().unwrap();
        assert_eq!((profile.version, profile.last_event), (last.stream_version, last.event_id));
    }
}

#[tokio::test]
async fn streams_that_cannot_fold_are_reported_and_never_stop_the_others() {
    let (_, events) = log().await;
    let streams: Vec<StreamId> = {
        let mut s: Vec<StreamId> = events.iter().map(|e| e.stream_id.clone()).collect();
        s.dedup();
        s
    };
    let (gap, broken) = (&streams[0], &streams[1]);
    let mut fold = ProfileFold::new(Shard::ALL);
    for mut event in events.iter().cloned() {
        if &event.stream_id == gap && event.stream_version == StreamVersion::FIRST {
            continue; // the archive holding version 1 was not read
        }
        if &event.stream_id == broken && event.stream_version.0 == 2 {
            event.payload = b"{\"not\":\"a profile event\"}".as_slice().into();
        }
        fold.push(event);
    }
    let folded = fold.finish();
    assert_eq!(folded.profiles.len(), 2);
    let reasons: Vec<(&StreamId, &SkipReason)> =
        folded.skipped.iter().map(|s| (&s.stream, &s.reason)).collect();
    assert_eq!(reasons.len(), 2);
    for (stream, reason) in reasons {
        match reason {
            SkipReason::Gap { folded, next_seen } => {
                assert_eq!((stream, folded.0, next_seen.0), (gap, 0, 2));
            }
            SkipReason::Undecodable { version, .. } => {
                assert_eq!((stream, version.0), (broken, 2));
            }
            other => panic!("unexpected {other}"),
        }
    }
}

#[tokio::test]
async fn shards_split_the_profiles_without_overlap() {
    let (_, events) = log().await;
    let mut seen = Vec::new();
    for shard in Shard::split(3) {
        let mut fold = ProfileFold::new(shard);
        fold.extend(events.iter().cloned());
        seen.extend(fold.finish().profiles.into_iter().map(|p| p.stream));
    }
    seen.sort();
    let mut all: Vec<StreamId> = events.iter().map(|e| e.stream_id.clone()).collect();
    all.sort();
    all.dedup();
    assert_eq!(seen, all);
    assert_eq!(Shard::new(3, 3), None);
    assert_eq!(Shard::split(0).count(), 0);
}

#[tokio::test]
async fn the_batch_forecasts_match_one_by_one_and_rerunning_appends_nothing() {
    let (store, events) = log().await;
    let mut fold = ProfileFold::new(Shard::ALL);
    fold.extend(events);
    let folded = fold.finish();
    let one = SlowBrain::new(SlowBrainConfig { threads: 1, ..SlowBrainConfig::default() });
    let two = SlowBrain::new(SlowBrainConfig { threads: 2, ..SlowBrainConfig::default() });
    let made = one.forecast(&folded.profiles);
    assert_eq!(made, two.forecast(&folded.profiles), "threads change nothing");
    assert_eq!((made.updates.len(), made.failures.len()), (3, 1));
    // The profile with no account gets a typed reason, not a forecast.
    assert_eq!(made.failures[0].error, ForecastError::NoCashAccount);
    for update in &made.updates {
        let profile = folded.profiles.iter().find(|p| p.stream == update.event.profile_stream);
        let profile = profile.unwrap();
        let as_of = profile.profile.last_transaction_date().unwrap();
        let direct = forecast_profile(&profile.profile, as_of, &ForecastConfig::default());
        assert_eq!(update.event.forecast, direct.unwrap());
        assert_eq!(update.stream, brain_stream(&profile.stream).unwrap());
        assert!(update.stream.as_str().starts_with("brain-"));
    }
    let fired: usize = made.updates.iter().map(|u| u.fired.len()).sum();
    let first = append_updates(&*store, &made.updates).await.unwrap();
    assert_eq!(first, Appended { written: 3, fired, replayed: 0 });
    let again = append_updates(&*store, &made.updates).await.unwrap();
    assert_eq!(again, Appended { written: 0, fired: 0, replayed: 3 });
    // A second run over the log, Brain streams included, finds nothing new to say.
    let mut fold = ProfileFold::new(Shard::ALL);
    fold.extend(read_entire_log(&*store, 1_000, 0).await);
    let rerun = one.forecast(&fold.finish().profiles);
    assert_eq!((rerun.updates.len(), rerun.unchanged, rerun.failures.len()), (0, 3, 1));
    let back: Vec<RecordedEvent> = read_entire_log(&*store, 1_000, 0)
        .await
        .into_iter()
        .filter(|e| e.stream_id == made.updates[0].stream)
        .collect();
    assert_eq!(back.len(), 1 + made.updates[0].fired.len(), "the forecast and what it fired");
    assert_eq!(back[0].event_type, FORECAST_UPDATED);
    let body: ForecastUpdated = serde_json::from_slice(&back[0].payload).unwrap();
    assert_eq!(body, made.updates[0].event);
}

#[test]
fn a_brain_event_id_follows_its_content() {
    let stream = StreamId::new("profile-1").unwrap();
    let tenant = fintra_core::TenantId::default();
    let event =
        BrainEvent::IdleCash { moveable_amount_minor: 50_000, currency: fintra_core::Asset::GBP };
    let day = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    let a = event.new_event(&stream, &tenant, day).unwrap();
    let b = event.new_event(&stream, &tenant, day).unwrap();
    let c = event.new_event(&stream, &tenant, day.succ_opt().unwrap()).unwrap();
    assert_eq!(a, b, "the same firing is the same event, so a retry replays");
    assert_ne!(a.event_id, c.event_id);
    assert_eq!(a.event_type, "brain.nudge.idle_cash");
    assert_eq!(a.metadata.headers.get(fintra_core::SUBJECT_HEADER), Some(&"profile-1".to_owned()));
    fintra_core::validate_timestamp("occurred_at", a.occurred_at).unwrap();
    let nan = BrainEvent::SalaryReceived {
        transaction_id: "t".into(),
        merchant: "m".into(),
        amount_minor: 1,
        confidence: f64::NAN,
    };
    assert!(matches!(
        nan.new_event(&stream, &tenant, day),
        Err(fintra_core::Error::InvalidInput { field: "brain event", .. })
    ));
    let body: BrainEvent = serde_json::from_slice(&a.payload).unwrap();
    assert_eq!(body, event);
    // An anomaly with its reasons (amounts inside a tagged reason) reads back whole.
    let mut scorer = crate::anomaly::AnomalyScorer::default();
    let mut score = None;
    for k in 0..40u32 {
        let observation = crate::anomaly::Observation {
            date: day + chrono::Duration::days(i64::from(k)),
            time: None,
            payee: "Corner Shop",
            category: "Groceries",
            amount_minor: if k == 39 { -250_000 } else { -1_200 },
            country: None,
        };
        score = Some(scorer.observe(&observation));
    }
    let score = score.unwrap();
    let anomaly = BrainEvent::anomaly("tx-39", &score).unwrap();
    let stored = anomaly.new_event(&stream, &tenant, day).unwrap();
    assert_eq!(stored.event_type, "brain.risk.anomaly");
    assert_eq!(serde_json::from_slice::<BrainEvent>(&stored.payload).unwrap(), anomaly);
    let calm = crate::anomaly::AnomalyScore { score: 0.1, anomalous: false, reasons: vec![] };
    assert_eq!(BrainEvent::anomaly("tx-1", &calm), None);
    // Amounts beyond i64 survive the tagged form too.
    let huge = BrainEvent::IdleCash {
        moveable_amount_minor: i128::MAX,
        currency: fintra_core::Asset::GBP,
    };
    let text = serde_json::to_vec(&huge).unwrap();
    assert_eq!(serde_json::from_slice::<BrainEvent>(&text).unwrap(), huge);
    assert_eq!(
        brain_stream(&StreamId::new("profile-00000000-0000-0000-0000-000000000001").unwrap())
            .unwrap()
            .as_str(),
        "brain-00000000-0000-0000-0000-000000000001"
    );
}

#[tokio::test]
async fn insight_events_fire_once_per_transition_across_runs() {
    let (store, _) = log().await;
    let last_day = {
        let mut fold = ProfileFold::new(Shard::ALL);
        fold.extend(read_entire_log(&*store, 1_000, 0).await);
        let folded = fold.finish();
        folded.profiles.iter().filter_map(|p| p.profile.last_transaction_date()).min().unwrap()
    };
    let mut said = Vec::new();
    // Six looks, a week apart (every payday of the last month falls in one), then the last
    // one again.
    let looks = [35, 28, 21, 14, 7, 0, 0];
    for (run, back) in looks.into_iter().enumerate() {
        let as_of = last_day - chrono::Duration::days(back);
        let config = SlowBrainConfig { as_of: Some(as_of), ..SlowBrainConfig::default() };
        let mut fold = ProfileFold::new(Shard::ALL);
        fold.extend(read_entire_log(&*store, 1_000, 0).await);
        let made = SlowBrain::new(config).forecast(&fold.finish().profiles);
        if run == looks.len() - 1 {
            assert_eq!((made.updates.len(), made.unchanged), (0, 3), "the same look again");
        } else {
            assert_eq!(made.updates.len(), 3);
        }
        for update in &made.updates {
            assert!(update.event.insight.is_some());
            for fired in &update.fired {
                let key = (update.stream.clone(), serde_json::to_string(fired).unwrap());
                assert!(!said.contains(&key), "said twice: {key:?}");
                said.push(key);
            }
        }
        append_updates(&*store, &made.updates).await.unwrap();
    }
    // Each person is paid in these weeks; each payment is announced once.
    let salaries = said.iter().filter(|(_, e)| e.contains("brain.insight.salary_received"));
    assert!(salaries.count() >= 3, "{said:?}");
    // The events are in the log, on the Brain streams, typed for Pulse.
    let logged = read_entire_log(&*store, 1_000, 0).await;
    let brain: Vec<_> = logged.iter().filter(|e| e.event_type.starts_with("brain.")).collect();
    assert_eq!(brain.len(), said.len());
    assert!(brain.iter().all(|e| e.stream_id.as_str().starts_with("brain-")));
}
