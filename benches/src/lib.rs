//! fintra's benchmarks live in this package's `[[bench]]` targets; run them with
//! `cargo bench -p benches`. Results and the machine they ran on are in `docs/benchmarks.md`.

/// A `u64` from the environment variable `name`, or `default` when it is unset or not a number.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The median of `samples` (the upper one of an even count).
///
/// # Panics
/// When `samples` is empty.
pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
