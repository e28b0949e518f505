//! The cold tier read by another engine: the sample twin (the three sample sources imported and
//! categorised; one transaction corrected away, one re-categorised, one categorised by a person
//! and then amended by the provider, one amended into the month before) is archived as Parquet,
//! and DuckDB (PyPI) runs `docs/sql/monthly_spend.sql` over the archives. Its monthly spend per
//! category equals the twin Views' `spend:<profile>:<YYYY-MM>` documents, built by the
//! projection from the same log.
//!
//! `scripts/test.sh` installs DuckDB from PyPI.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use examples::twin_import::{csv_file, import_normalised, plaid_files, yapily_files};
use fintra_core::{
    Asset, Clock, EventMetadata, EventStore, InMemoryEventStore, ManualClock, Position, Repository,
};
use fintra_projections::views::TwinViews;
use fintra_projections::{ProjectionRunner, RunnerOptions, SharedViews, SharedViewsSink};
use fintra_store_parquet::ParquetArchive;
use fintra_twin::{Profile, ProfileCommand};

/// (profile stream, month `YYYY-MM`, category) → spend in minor units, non-zero only.
type Spend = BTreeMap<(String, String, String), i64>;

/// The sample twin in an in-memory store, with a correction and a re-categorisation.
async fn sample_twin() -> InMemoryEventStore {
    let store = InMemoryEventStore::new();
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2025, 6, 30, 18, 0, 0).unwrap()));
    let repository = Repository::<Profile, _>::new(store.clone()).with_clock(clock.clone());
    let stream = repository.stream_id(uuid::Uuid::from_u128(0x1a4e)).unwrap();
    let meta = EventMetadata::default();
    let create =
        ProfileCommand::Create { profile_id: "usr_lake".into(), base_currency: Asset::GBP };
    repository.execute(&stream, &create, &meta).await.unwrap();
    let brain = fintra_ml::Brain::builtin().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    let now = clock.now();
    let sources = [plaid_files(&dir, now), yapily_files(&dir, now), csv_file(&dir, now)];
    for (k, data) in (1u128..).zip(sources) {
        let id = uuid::Uuid::from_u128(k);
        import_normalised(&repository, &stream, &brain, now, id, data.unwrap(), |_, _| {})
            .await
            .unwrap();
    }
    let profile = repository.load(&stream).await.unwrap().state;
    let mut spent = profile.transactions().filter(|t| {
        t.is_effective_posted()
            && t.transaction.amount_minor < 0
            && t.transaction.currency == Asset::GBP
            && t.transaction.enrichment.as_ref().is_some_and(|e| {
                !matches!(e.category_l1(), "Transfers" | "Income" | "Loans")
                    && e.category != "Shopping > Electronics"
            })
    });
    let mut pick = || spent.next().unwrap().transaction.clone();
    let (gone, recategorised, by_person, shifted) = (pick(), pick(), pick(), pick());
    let correct = ProfileCommand::CorrectTransaction {
        transaction_id: gone.transaction_id.clone(),
        reason: "duplicate processing".into(),
    };
    repository.execute(&stream, &correct, &meta).await.unwrap();
    // The refinery re-files one transaction; a person files another.
    let mut enrichment = recategorised.enrichment.clone().unwrap();
    enrichment.category = "Shopping > Electronics".into();
    let mut mine = by_person.enrichment.clone().unwrap();
    mine.category = "Entertainment > Games".into();
    mine.lineage = fintra_twin::fos::Lineage::new(fintra_twin::fos::USER_SOURCE, now);
    let changes = vec![
        (recategorised.transaction_id.clone(), enrichment),
        (by_person.transaction_id.clone(), mine),
    ];
    repository.execute(&stream, &ProfileCommand::Categorise { changes }, &meta).await.unwrap();
    // The provider amends both: the person's category outlives the amendment, and the second
    // moves back a month (out of one month's spend and into another's).
    let mut amended = by_person.clone();
    amended.amount_minor -= 100;
    let mut moved = shifted.clone();
    moved.date = moved.date.checked_sub_months(chrono::Months::new(1)).unwrap();
    moved.amount_minor -= 250;
    for transaction in [amended, moved] {
        let reason = "modified by the provider".to_owned();
        let amend = ProfileCommand::AmendTransaction { transaction: Box::new(transaction), reason };
        repository.execute(&stream, &amend, &meta).await.unwrap();
    }
    store
}

/// The Views' spend per (profile, month, category): each month's `spend_minor` rows.
async fn views_spend(store: &InMemoryEventStore) -> Spend {
    let views = SharedViews::new();
    let projection = TwinViews::new(Repository::new(store.clone()));
    let mut sink = SharedViewsSink::new(projection, views.clone());
    let runner = ProjectionRunner::new(Arc::new(store.clone()), RunnerOptions::default());
    runner.catch_up(&mut sink).await.unwrap();
    let mut spend = Spend::new();
    for key in views.keys_with_prefix("spend:") {
        let doc: serde_json::Value = serde_json::from_str(&views.get(&key).unwrap().json).unwrap();
        let (profile, month) = key["spend:".len()..].rsplit_once(':').unwrap();
        for row in doc["categories"].as_array().unwrap() {
            let minor = row["spend_minor"].as_i64().unwrap();
            if minor != 0 {
                let category = row["category"].as_str().unwrap().to_owned();
                spend.insert((profile.to_owned(), month.to_owned(), category), minor);
            }
        }
    }
    spend
}

/// DuckDB over the archives under `root`, running the documented query.
fn duckdb_spend(root: &Path) -> Spend {
    let glob = root.join("fintra-archive").join("data").join("**").join("*.parquet");
    let sql = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/sql/monthly_spend.sql");
    let script = r#"
import sys, json, duckdb
glob, sql = sys.argv[1], open(sys.argv[2]).read()
con = duckdb.connect()
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
print(json.dumps(con.execute(sql).fetchall()))
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&glob)
        .arg(&sql)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed for the lake test: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'duckdb'"),
        "DuckDB is missing: run scripts/test.sh, which installs it from PyPI (pip install duckdb)"
    );
    assert!(output.status.success(), "DuckDB failed: {stderr}");
    let rows: Vec<(String, String, String, i64)> = serde_json::from_slice(&output.stdout).unwrap();
    rows.into_iter().map(|(p, m, c, minor)| ((p, m, c), minor)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_over_the_archives_computes_the_views_monthly_spend() {
    let store = sample_twin().await;
    let mut log = Vec::new();
    loop {
        let after = log.last().map_or(Position::START, |e: &fintra_core::RecordedEvent| e.position);
        let page = store.read_all(after, 500).await.unwrap();
        if page.is_empty() {
            break;
        }
        log.extend(page);
    }
    let dir = std::env::temp_dir().join(format!("fintra-lake-spend-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let archive = ParquetArchive::local(&dir).unwrap();
    for page in log.chunks(40) {
        archive.write(page).await.unwrap();
    }
    let views = views_spend(&store).await;
    let lake = duckdb_spend(&dir);
    let months: std::collections::BTreeSet<&String> = views.keys().map(|(_, m, _)| m).collect();
    assert!(months.len() >= 3, "the sample spans months: {months:?}");
    for (category, what) in [
        ("Shopping > Electronics", "the re-categorised transaction"),
        ("Entertainment > Games", "the person's category, after the amendment"),
    ] {
        assert!(views.keys().any(|(_, _, c)| c == category), "{what} counts under {category}");
    }
    let differ: Vec<_> = lake
        .keys()
        .chain(views.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| lake.get(*k) != views.get(*k))
        .map(|k| (k, lake.get(k), views.get(k)))
        .collect();
    assert!(
        differ.is_empty(),
        "DuckDB over the archives ≠ the Views at (key, lake, views): {differ:?}"
    );
    let total: i64 = lake.values().sum();
    println!(
        "{} (profile, month, category) rows over {} months, {total} minor units",
        lake.len(),
        months.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
