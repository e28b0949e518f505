//! "Am I okay?" benchmark (a macro harness that prints a table):
//!
//! 1. the balance forecast per profile with 24 months of history (90 days, 400 paths and the
//!    calibration origins), p50 and p99, and profiles/s on one core;
//! 2. the seasonal-naive baseline, the same way;
//! 3. anomaly scoring per transaction in process (score and learn), p50 and p99;
//! 4. the batch slow brain: the population's log archived as Parquet on the local disk, then
//!    scanned, folded, forecast on every core and written back as `ForecastUpdated` — profiles
//!    per second for the whole job, in one pass and in four shards (bounded memory), median of
//!    three runs.
//!
//! The profiles are the seeded population of `fintra_ml::population`, imported through
//! Connect with the Brain's categories (not timed). `cargo bench -p benches --bench forecast`;
//! `FINTRA_FORECAST_PROFILES` (default 200) profiles.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use std::sync::Arc;
use std::time::Instant;

use benches::env;
use chrono::NaiveDate;
use fintra_core::{EventStore, InMemoryEventStore, Position, RecordedEvent};
use fintra_ml::Brain;
use fintra_ml::anomaly::{AnomalyScorer, Observation};
use fintra_ml::forecast::{ForecastConfig, Method, forecast_profile};
use fintra_ml::population::{PopulationConfig, generate, import_into};
use fintra_ml::slow::{ProfileFold, Shard, SlowBrain, SlowBrainConfig, append_updates};
use fintra_store_parquet::{ParquetArchive, ReadFilter};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "an index")]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn row(name: &str, mut micros: Vec<f64>) {
    micros.sort_by(f64::total_cmp);
    let total: f64 = micros.iter().sum();
    println!(
        "| {name} | {} | {:.0} | {:.0} | {:.0} |",
        micros.len(),
        percentile(&micros, 0.5),
        percentile(&micros, 0.99),
        micros.len() as f64 / (total / 1e6)
    );
}

fn main() {
    let n = usize::try_from(env("FINTRA_FORECAST_PROFILES", 200)).unwrap();
    let people = generate(&PopulationConfig { profiles: n, ..PopulationConfig::default() });
    let brain = Brain::builtin().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = Arc::new(InMemoryEventStore::new());
    for person in &people {
        rt.block_on(import_into(store.clone(), person, &brain)).unwrap();
    }
    let log = read_log(&rt, &store);
    let mut fold = ProfileFold::new(Shard::ALL);
    fold.extend(log.iter().cloned());
    let profiles: Vec<_> = fold.finish().profiles.into_iter().map(|p| p.profile).collect();
    assert_eq!(profiles.len(), n);
    let as_of = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    println!("| what | samples | p50 µs | p99 µs | per second (one core) |");
    println!("|---|---:|---:|---:|---:|");
    for (name, method) in [
        ("forecast, recurring + residual (90 days)", Method::RecurringResidual),
        ("forecast, seasonal-naive (90 days)", Method::SeasonalNaive),
    ] {
        let config = ForecastConfig { method, ..ForecastConfig::default() };
        let mut micros = Vec::new();
        for profile in &profiles {
            let t0 = Instant::now();
            let f = forecast_profile(profile, as_of, &config).unwrap();
            micros.push(t0.elapsed().as_secs_f64() * 1e6);
            assert_eq!(f.days.len(), 90);
        }
        row(name, micros);
    }
    let mut micros = Vec::new();
    for profile in &profiles {
        let mut scorer = AnomalyScorer::default();
        let mut txs: Vec<_> = profile.transactions().map(|t| &t.transaction).collect();
        txs.sort_by_key(|t| t.date);
        for tx in txs {
            let category = tx.enrichment.as_ref().map_or("", |e| e.category.as_str());
            let payee = tx.enrichment.as_ref().and_then(|e| e.merchant_name.as_deref());
            let o = Observation {
                date: tx.date,
                time: None,
                payee: payee.unwrap_or(&tx.description),
                category,
                amount_minor: tx.amount_minor,
                country: None,
            };
            let t0 = Instant::now();
            let s = scorer.observe(&o);
            micros.push(t0.elapsed().as_secs_f64() * 1e6);
            assert!(s.score.is_finite());
        }
    }
    row("anomaly score + learn, per transaction", micros);
    slow_brain(&rt, &store, &log, n);
}

fn read_log(rt: &tokio::runtime::Runtime, store: &InMemoryEventStore) -> Vec<RecordedEvent> {
    let mut log = Vec::new();
    loop {
        let after = log.last().map_or(Position::START, |e: &RecordedEvent| e.position);
        let page = rt.block_on(store.read_all(after, 1_000)).unwrap();
        if page.is_empty() {
            return log;
        }
        log.extend(page);
    }
}

fn slow_brain(
    rt: &tokio::runtime::Runtime,
    store: &InMemoryEventStore,
    log: &[RecordedEvent],
    n: usize,
) {
    let dir = std::env::temp_dir().join(format!("fintra-bench-slow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let archive = ParquetArchive::local(&dir).unwrap();
    let last = log.last().unwrap().position;
    let manifest = rt.block_on(archive.archive_range(store, Position::START, last)).unwrap();
    let slow = SlowBrain::new(SlowBrainConfig::default());
    println!();
    println!(
        "batch slow brain: {n} profiles, {} events, {} archive bytes, {} threads",
        manifest.rows,
        manifest.files.iter().map(|f| f.bytes).sum::<u64>(),
        slow.config().threads
    );
    let mut scans = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut rows = 0;
        let filter = ReadFilter::default();
        rt.block_on(archive.scan(&manifest.archive_id, &filter, |b| rows += b.len())).unwrap();
        assert_eq!(rows as u64, manifest.rows);
        scans.push(t0.elapsed().as_secs_f64());
    }
    scans.sort_by(f64::total_cmp);
    println!("(the Parquet scan alone, decoded to events and dropped: {:.2} s)", scans[1]);
    println!();
    println!("| shards | scan + fold s | forecast s | append s | profiles/s (median of 3) |");
    println!("|---:|---:|---:|---:|---:|");
    for shards in [1, 4] {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let out = InMemoryEventStore::new();
            let (mut fold_s, mut forecast_s, mut append_s, mut made) = (0.0, 0.0, 0.0, 0);
            for shard in Shard::split(shards) {
                let t0 = Instant::now();
                let mut fold = ProfileFold::new(shard);
                let filter = ReadFilter::default();
                rt.block_on(archive.scan(&manifest.archive_id, &filter, |b| fold.extend(b)))
                    .unwrap();
                let folded = fold.finish();
                let t1 = Instant::now();
                let forecasts = slow.forecast(&folded.profiles);
                let t2 = Instant::now();
                rt.block_on(append_updates(&out, &forecasts.updates)).unwrap();
                fold_s += (t1 - t0).as_secs_f64();
                forecast_s += (t2 - t1).as_secs_f64();
                append_s += t2.elapsed().as_secs_f64();
                made += forecasts.updates.len();
            }
            assert_eq!(made, n);
            runs.push((fold_s + forecast_s + append_s, fold_s, forecast_s, append_s));
        }
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (total, fold_s, forecast_s, append_s) = runs[1];
        println!(
            "| {shards} | {fold_s:.2} | {forecast_s:.2} | {append_s:.3} | {:.0} |",
            n as f64 / total
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
