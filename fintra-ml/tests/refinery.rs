//! The Enrichment Refinery on the in-memory store and on PostgreSQL: it categorises what Connect
//! imported, records each change once however often it replays, learns a person's correction
//! as a rule for that profile at once, and never overrides it.

#![allow(clippy::unwrap_used, reason = "test setup fails the test")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{TimeZone, Utc};
use fintra_core::{
    Asset, EventMetadata, EventStore, InMemoryEventStore, ManualClock, Repository, StreamId,
};
use fintra_ml::{Brain, EnrichmentRefinery};
use fintra_store_postgres::testing::TestSchema;
use fintra_twin::connect::csv::{CsvAccount, CsvMapping, normalise};
use fintra_twin::connect::{BadRecordPolicy, stage};
use fintra_twin::fos::{AccountType, Enrichment, Lineage, Source, USER_SOURCE};
use fintra_twin::{Profile, ProfileCommand};

static IMPORTS: AtomicU64 = AtomicU64::new(1);

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap()))
}

async fn import<S: EventStore>(repository: &Repository<Profile, S>, stream: &StreamId, csv: &str) {
    let account = CsvAccount {
        provider_account_id: "cur".into(),
        name: "Current".into(),
        account_type: AccountType::Checking,
        currency: Asset::GBP,
        institution_id: None,
    };
    let now = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
    let body = format!("Date,Description,Amount,Balance\n{csv}");
    let read = normalise(
        body.as_bytes(),
        &CsvMapping::signed_amount_preset(),
        &account,
        now,
        BadRecordPolicy::FailDocument,
    )
    .unwrap();
    let current = repository.load(stream).await.unwrap().state;
    let staged = stage(
        &current,
        uuid::Uuid::from_u128(u128::from(IMPORTS.fetch_add(1, Ordering::Relaxed))),
        Source::Csv,
        vec![read.account],
        read.transactions.records,
    );
    staged.approve(repository, stream, &EventMetadata::default(), |_, _| {}).await.unwrap();
}

async fn create<S: EventStore>(repository: &Repository<Profile, S>, n: u128) -> StreamId {
    let stream = repository.stream_id(uuid::Uuid::from_u128(n)).unwrap();
    let command =
        ProfileCommand::Create { profile_id: format!("usr_{n}"), base_currency: Asset::GBP };
    repository.execute(&stream, &command, &EventMetadata::default()).await.unwrap();
    stream
}

fn category(profile: &Profile, description: &str) -> Vec<Enrichment> {
    profile
        .transactions()
        .filter(|t| t.transaction.description == description)
        .filter_map(|t| t.transaction.enrichment.clone())
        .collect()
}

async fn the_refinery_on<S: EventStore + Clone>(store: S) {
    let repository = Repository::<Profile, _>::new(store.clone()).with_clock(clock());
    let stream = create(&repository, 42).await;
    import(
        &repository,
        &stream,
        "02/01/2024,CARD PAYMENT TO TESCO STORES 3297,-23.10,976.90\n\
         03/01/2024,NETFLIX.COM,-10.99,965.91\n\
         25/01/2024,ACME LTD SALARY,2500.00,3465.91\n\
         26/01/2024,ZQXW HOLDINGS 8812,-5.00,3460.91\n",
    )
    .await;
    let brain = Brain::builtin().unwrap();
    let mut refinery =
        EnrichmentRefinery::new(Repository::<Profile, _>::new(store.clone()), brain.clone())
            .with_clock(clock());
    let first = refinery.catch_up().await.unwrap();
    assert_eq!(first.transactions, 4);
    assert_eq!(first.categorised, 4, "every basic category is replaced: {first:?}");

    let profile = repository.load(&stream).await.unwrap().state;
    let tesco = &category(&profile, "CARD PAYMENT TO TESCO STORES 3297")[0];
    assert_eq!(tesco.category, "Groceries > Supermarket");
    assert_eq!(tesco.merchant_name.as_deref(), Some("Tesco"));
    assert_eq!(tesco.lineage.source, "BRAIN:merchant_truth");
    assert_eq!(tesco.lineage.version.as_deref(), Some(fintra_ml::cascade::CASCADE_VERSION));
    assert!(tesco.lineage.merchant_id.is_some());
    assert!(tesco.lineage.confidence.is_some_and(|c| c.value() >= 0.8), "{tesco:?}");
    let salary = &category(&profile, "ACME LTD SALARY")[0];
    assert_eq!(salary.category, "Income > Salary");
    let unknown = &category(&profile, "ZQXW HOLDINGS 8812")[0];
    assert_eq!(unknown.category, "Other > Uncategorised");
    assert!(unknown.lineage.confidence.is_some_and(|c| c.value() < 0.5));

    // Replays append nothing: the same refinery, and a new one from the start of the log.
    let again = refinery.catch_up().await.unwrap();
    assert_eq!(again.categorised, 0, "{again:?}");
    let mut restarted =
        EnrichmentRefinery::new(Repository::<Profile, _>::new(store.clone()), brain.clone())
            .with_clock(clock());
    assert_eq!(restarted.catch_up().await.unwrap().categorised, 0);

    // A person files Tesco under shopping: the refinery learns it as a rule for this profile,
    // and the next Tesco purchase follows it.
    let tesco_id = profile
        .transactions()
        .find(|t| t.transaction.description.contains("TESCO"))
        .map(|t| t.transaction.transaction_id.clone())
        .unwrap();
    let mut mine = tesco.clone();
    mine.category = "Shopping > Other".into();
    mine.lineage = Lineage::new(USER_SOURCE, Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap());
    repository
        .execute(
            &stream,
            &ProfileCommand::Categorise { changes: vec![(tesco_id.clone(), mine.clone())] },
            &EventMetadata::default(),
        )
        .await
        .unwrap();
    import(&repository, &stream, "05/02/2024,TESCO STORES 3297 LONDON,-12.00,3448.91\n").await;
    let learned = refinery.catch_up().await.unwrap();
    assert_eq!(learned.rules_learned, 1, "{learned:?}");
    assert_eq!(learned.categorised, 1, "{learned:?}");
    let profile = repository.load(&stream).await.unwrap().state;
    let next = &category(&profile, "TESCO STORES 3297 LONDON")[0];
    assert_eq!(next.category, "Shopping > Other");
    assert_eq!(next.lineage.source, "BRAIN:user_rule");
    let kept = profile.transaction(&tesco_id).unwrap().transaction.enrichment.clone();
    assert_eq!(kept, Some(mine), "the Brain never overrides a person");

    a_restarted_refinery_relearns_the_rules(&store, &repository, &stream, refinery.checkpoint())
        .await;

    // The rule is the profile's own: another profile's Tesco stays groceries.
    let other = create(&repository, 43).await;
    import(&repository, &other, "06/02/2024,TESCO STORES 3297 LONDON,-12.00,100.00\n").await;
    refinery.catch_up().await.unwrap();
    let theirs = repository.load(&other).await.unwrap().state;
    assert_eq!(
        category(&theirs, "TESCO STORES 3297 LONDON")[0].category,
        "Groceries > Supermarket"
    );
}

/// A refinery started from a saved checkpoint, with a fresh Brain, relearns the corrections
/// made before it: the next Tesco purchase still follows the person's rule.
async fn a_restarted_refinery_relearns_the_rules<S: EventStore + Clone>(
    store: &S,
    repository: &Repository<Profile, S>,
    stream: &StreamId,
    checkpoint: fintra_core::Position,
) {
    let mut resumed = EnrichmentRefinery::new(
        Repository::<Profile, _>::new(store.clone()),
        Brain::builtin().unwrap(),
    )
    .with_clock(clock())
    .with_checkpoint(checkpoint);
    import(repository, stream, "07/02/2024,TESCO STORES 3297 LONDON,-9.00,3439.91\n").await;
    let report = resumed.catch_up().await.unwrap();
    assert_eq!(report.rules_learned, 1, "{report:?}");
    assert_eq!(report.categorised, 1, "{report:?}");
    let profile = repository.load(stream).await.unwrap().state;
    for e in category(&profile, "TESCO STORES 3297 LONDON") {
        assert_eq!(e.category, "Shopping > Other");
    }
}

#[tokio::test]
async fn the_refinery_categorises_once_and_learns_corrections_in_memory() {
    the_refinery_on(InMemoryEventStore::new()).await;
}

#[tokio::test]
async fn the_refinery_categorises_once_and_learns_corrections_on_postgres() {
    let schema = TestSchema::new().await;
    the_refinery_on(schema.store()).await;
}

/// A store that lets a person's correction land on `stream` just before the next append to it:
/// between the refinery's load of the profile and its own append.
struct CorrectedMeanwhile<S> {
    inner: S,
    correction: std::sync::Mutex<Option<(StreamId, ProfileCommand)>>,
    /// Appends asked of this store (the person's correction goes to the inner store directly).
    appends: AtomicU64,
}

#[async_trait::async_trait]
impl<S: EventStore + Clone> EventStore for CorrectedMeanwhile<S> {
    async fn append(
        &self,
        stream: &StreamId,
        expected: fintra_core::ExpectedVersion,
        events: &[fintra_core::NewEvent],
    ) -> fintra_core::Result<fintra_core::AppendResult> {
        self.appends.fetch_add(1, Ordering::Relaxed);
        let pending = {
            let mut slot = self.correction.lock().unwrap();
            if slot.as_ref().is_some_and(|(s, _)| s == stream) { slot.take() } else { None }
        };
        if let Some((stream, command)) = pending {
            let person = Repository::<Profile, _>::new(self.inner.clone()).with_clock(clock());
            person.execute(&stream, &command, &EventMetadata::default()).await.unwrap();
        }
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: fintra_core::ReadStreamOptions,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        self.inner.read_stream(stream, options).await
    }

    async fn read_all(
        &self,
        after: fintra_core::Position,
        limit: usize,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        self.inner.read_all(after, limit).await
    }

    async fn committed_head(&self) -> fintra_core::Result<Option<fintra_core::Position>> {
        self.inner.committed_head().await
    }

    async fn stream_version(
        &self,
        stream: &StreamId,
    ) -> fintra_core::Result<fintra_core::StreamVersion> {
        self.inner.stream_version(stream).await
    }
}

/// The refinery decides on the profile it loaded; a person's correction that lands before its
/// append makes the append conflict, and the command decided again on the caught-up profile
/// keeps the person's category and still categorises the rest.
#[tokio::test]
async fn a_correction_between_load_and_append_is_kept() {
    let inner = InMemoryEventStore::new();
    let repository = Repository::<Profile, _>::new(inner.clone()).with_clock(clock());
    let stream = create(&repository, 77).await;
    import(
        &repository,
        &stream,
        "02/01/2024,CARD PAYMENT TO TESCO STORES 3297,-23.10,976.90\n\
         03/01/2024,NETFLIX.COM,-10.99,965.91\n",
    )
    .await;
    let profile = repository.load(&stream).await.unwrap().state;
    let tesco = profile
        .transactions()
        .find(|t| t.transaction.description.contains("TESCO"))
        .unwrap()
        .transaction
        .clone();
    let mut mine = tesco.enrichment.clone().unwrap();
    mine.category = "Shopping > Other".into();
    mine.lineage = Lineage::new(USER_SOURCE, Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap());
    let correction =
        ProfileCommand::Categorise { changes: vec![(tesco.transaction_id.clone(), mine.clone())] };
    let store = Arc::new(CorrectedMeanwhile {
        inner: inner.clone(),
        correction: std::sync::Mutex::new(Some((stream.clone(), correction))),
        appends: AtomicU64::new(0),
    });
    let mut refinery = EnrichmentRefinery::new(
        Repository::<Profile, _>::new(store.clone()),
        Brain::builtin().unwrap(),
    )
    .with_clock(clock());
    let report = refinery.catch_up().await.unwrap();
    assert_eq!(report.categorised, 1, "only Netflix is the Brain's to change: {report:?}");
    // The first append met the correction and conflicted; the second was decided again.
    assert_eq!(store.appends.load(Ordering::Relaxed), 2);

    let profile = repository.load(&stream).await.unwrap().state;
    let kept = profile.transaction(&tesco.transaction_id).unwrap().transaction.enrichment.clone();
    assert_eq!(kept, Some(mine), "the Brain never overrides a person");
    let netflix = &category(&profile, "NETFLIX.COM")[0];
    assert_eq!(netflix.lineage.source, "BRAIN:merchant_truth");
}
