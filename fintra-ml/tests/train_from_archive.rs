//! The slow brain trains from the cold tier: a twin's imports (generated statement lines,
//! categorised by the Brain) and a person's corrections are archived as Parquet, read back with
//! `model::history::from_archive`, and a model is trained on them with the serving featuriser.
//! The person's corrections win over the Brain's categories: the model trained on the archive
//! files the corrected merchant's lines where the person put them.

#![allow(clippy::unwrap_used, reason = "test setup fails the test")]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use fintra_core::{
    Asset, EventMetadata, EventStore, InMemoryEventStore, ManualClock, Position, Repository,
    StreamId,
};
use fintra_ml::model::history::{Labels, from_archive};
use fintra_ml::model::{LabelledLine, TrainOptions, featurise, generate};
use fintra_ml::{Brain, Catalogue, parse};
use fintra_store_parquet::ParquetArchive;
use fintra_twin::connect::csv::{CsvAccount, CsvMapping, normalise};
use fintra_twin::connect::{BadRecordPolicy, stage};
use fintra_twin::fos::{AccountType, Lineage, Source, USER_SOURCE};
use fintra_twin::{Profile, ProfileCommand};

/// Where the person files the corrected merchant (one of the taxonomy's categories).
const PERSON_CATEGORY: &str = "Housing > Rent";

/// Imports `lines` as a CSV export of one current account, categorised by the Brain.
async fn import_csv<S: EventStore>(
    repository: &Repository<Profile, S>,
    stream: &StreamId,
    lines: &[LabelledLine],
    now: DateTime<Utc>,
) {
    let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let decimal = |minor: i64| {
        let sign = if minor < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", minor.unsigned_abs() / 100, minor.unsigned_abs() % 100)
    };
    let mut csv = String::from("Date,Description,Amount,Balance\n");
    let mut balance = 10_000_000i64;
    for (n, line) in lines.iter().enumerate() {
        // Thirty lines a day, in date order, as an export lists them.
        let day = first + Duration::days(i64::try_from(n / 30).unwrap());
        balance += line.amount_minor;
        let (date, amount) = (day.format("%d/%m/%Y"), decimal(line.amount_minor));
        csv.push_str(&format!("{date},{},{amount},{}\n", line.text, decimal(balance)));
    }
    let account = CsvAccount {
        provider_account_id: "cur".into(),
        name: "Current".into(),
        account_type: AccountType::Checking,
        currency: Asset::GBP,
        institution_id: None,
    };
    let mapping = CsvMapping::signed_amount_preset();
    let read = normalise(csv.as_bytes(), &mapping, &account, now, BadRecordPolicy::Skip).unwrap();
    let current = repository.load(stream).await.unwrap().state;
    let id = uuid::Uuid::from_u128(1);
    let mut staged =
        stage(&current, id, Source::Csv, vec![read.account], read.transactions.records);
    staged.categorise(&Brain::builtin().unwrap(), Some(stream.as_str()), now);
    staged.approve(repository, stream, &EventMetadata::default(), |_, _| {}).await.unwrap();
}

/// A person files every transaction of the most frequent merchant as [`PERSON_CATEGORY`]:
/// returns the merchant and how many transactions were re-filed.
async fn correct_top_merchant<S: EventStore>(
    repository: &Repository<Profile, S>,
    stream: &StreamId,
    lines: &[LabelledLine],
    now: DateTime<Utc>,
) -> (String, usize) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for line in lines {
        *counts.entry(line.merchant_id.as_str()).or_default() += 1;
    }
    let (merchant, _) = counts.iter().max_by_key(|(m, n)| (**n, *m)).unwrap();
    let texts: Vec<&str> =
        lines.iter().filter(|l| l.merchant_id == *merchant).map(|l| l.text.as_str()).collect();
    let profile = repository.load(stream).await.unwrap().state;
    let changes: Vec<_> = profile
        .transactions()
        .filter(|t| texts.contains(&t.transaction.description.as_str()))
        .filter_map(|t| {
            let mut enrichment = t.transaction.enrichment.clone()?;
            enrichment.category = PERSON_CATEGORY.into();
            enrichment.lineage = Lineage::new(USER_SOURCE, now);
            Some((t.transaction.transaction_id.clone(), enrichment))
        })
        .collect();
    let corrected = changes.len();
    assert!(corrected >= 30, "the top merchant has {corrected} transactions");
    for chunk in changes.chunks(200) {
        let command = ProfileCommand::Categorise { changes: chunk.to_vec() };
        repository.execute(stream, &command, &EventMetadata::default()).await.unwrap();
    }
    ((*merchant).to_owned(), corrected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_trained_from_the_archives_learns_a_persons_corrections() {
    let now = Utc.with_ymd_and_hms(2024, 6, 30, 12, 0, 0).unwrap();
    let store = InMemoryEventStore::new();
    let repository =
        Repository::<Profile, _>::new(store.clone()).with_clock(Arc::new(ManualClock::new(now)));
    let stream = repository.stream_id(uuid::Uuid::from_u128(77)).unwrap();
    let meta = EventMetadata::default();
    let create = ProfileCommand::Create { profile_id: "usr_77".into(), base_currency: Asset::GBP };
    repository.execute(&stream, &create, &meta).await.unwrap();

    // 3,000 generated lines as a CSV export, categorised by the Brain at import.
    let catalogue = Catalogue::builtin().unwrap();
    let lines: Vec<LabelledLine> = generate(&catalogue, 3_000, 23)
        .into_iter()
        .filter(|l| !l.text.contains([',', '"']))
        .collect();
    import_csv(&repository, &stream, &lines, now).await;
    // The person re-files every transaction of the most frequent merchant.
    let (merchant, corrected) = correct_top_merchant(&repository, &stream, &lines, now).await;
    let profile = repository.load(&stream).await.unwrap().state;
    // Archive the whole log, then train from the archives alone.
    let dir = std::env::temp_dir().join(format!("fintra-train-archive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let archive = ParquetArchive::local(&dir).unwrap();
    let mut after = Position::START;
    loop {
        let page = store.read_all(after, 300).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        archive.write(&page).await.unwrap();
    }
    let history = from_archive(&archive, Labels::All).await.unwrap();
    let report = history.report();
    assert_eq!(report.transactions, u64::try_from(profile.transactions().count()).unwrap());
    assert_eq!(report.corrected, u64::try_from(corrected).unwrap());
    assert_eq!((report.sealed, report.undecodable), (0, 0));
    assert!(report.examples > 2_000, "{report:?}");
    let model = history.train(TrainOptions::default());
    assert_eq!(model.card.examples, usize::try_from(report.examples).unwrap());
    let merchant_lines: Vec<_> = lines.iter().filter(|l| l.merchant_id == merchant).collect();
    let filed = merchant_lines
        .iter()
        .filter(|l| {
            let x = featurise(&parse(&l.text), l.amount_minor, model.dim);
            model.top(&x).is_some_and(|(c, _)| c == "housing.rent")
        })
        .count();
    println!(
        "{report:?}; the corrected merchant {merchant}: {filed} of {} lines filed as the person did",
        merchant_lines.len()
    );
    assert!(filed * 10 >= merchant_lines.len() * 9, "{filed} of {}", merchant_lines.len());

    // Corrections only: exactly the person's labels.
    let corrections = from_archive(&archive, Labels::Corrections).await.unwrap();
    assert_eq!(corrections.report().examples, u64::try_from(corrected).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}
