//! "Am I okay?" benchmark (a macro harness that prints a table):
//!
//! 1. the balance forecast per profile with 24 months of history (90 days, 400 paths and the
//!    calibration origins), p50 and p99, and profiles/s on one core;
//! 2. the seasonal-naive baseline, the same way;
//! 3. anomaly scoring per transaction in process (score and learn), p50 and p99.
//!
//! The profiles are the seeded population of `fintra_ml::population`, imported through
//! Connect with the Brain's categories (not timed). `cargo bench -p benches --bench forecast`;
//! `FINTRA_FORECAST_PROFILES` (default 200) profiles.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use std::time::Instant;

use benches::env;
use chrono::NaiveDate;
use fintra_ml::Brain;
use fintra_ml::anomaly::{AnomalyScorer, Observation};
use fintra_ml::forecast::{ForecastConfig, Method, forecast_profile};
use fintra_ml::population::{PopulationConfig, generate, import};

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
    let profiles: Vec<_> = people.iter().map(|p| rt.block_on(import(p, &brain)).unwrap()).collect();
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
}
