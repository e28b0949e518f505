//! Brain benchmark (a macro harness that prints tables):
//!
//! 1. the categorisation cascade in process, one core: transactions/s, p50 and p99 per
//!    transaction, over the hand-written statement lines of `fintra-ml/tests/data` (real-world
//!    shapes, not generated), repeated;
//! 2. the vector index backends at 10k and 100k points: build time, queries/s, recall@1 against
//!    brute force for queries with one character dropped.
//!
//! `cargo bench -p benches --bench brain`. `FINTRA_BRAIN_ROUNDS` (default 20) repeats of the
//! line set; `FINTRA_BRAIN_QUERIES` (default 2,000) index queries per size.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use std::time::Instant;

use benches::env;
use fintra_ml::index::{BruteForceIndex, Filter, InMemoryIndex, Point, VectorIndex, embed};
use fintra_ml::{Cascade, Catalogue, Transaction};

fn lines() -> Vec<(String, i64)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fintra-ml/tests/data");
    let mut out = Vec::new();
    for name in ["statements_handwritten_a.jsonl", "statements_handwritten_b.jsonl"] {
        for line in std::fs::read_to_string(dir.join(name)).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let amount: f64 = v["amount"].as_str().unwrap().parse().unwrap();
            #[allow(clippy::cast_possible_truncation, reason = "amounts of a few thousand")]
            out.push((v["text"].as_str().unwrap().to_owned(), (amount * 100.0).round() as i64));
        }
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "an index")]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn cascade(rounds: u64) {
    let started = Instant::now();
    let cascade = Cascade::new(&Catalogue::builtin().unwrap());
    let build = started.elapsed();
    let lines = lines();
    let mut samples = Vec::new();
    let started = Instant::now();
    for _ in 0..rounds {
        for (text, amount) in &lines {
            let t0 = Instant::now();
            let r = cascade.categorise(&Transaction {
                description: text,
                amount_minor: *amount,
                mcc: None,
                country: None,
                profile: Some("bench"),
            });
            samples.push(t0.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(r);
        }
    }
    let total = started.elapsed().as_secs_f64();
    samples.sort_by(f64::total_cmp);
    println!("| cascade ({} lines × {rounds}, one core) | value |", lines.len());
    println!("|---|---:|");
    println!("| build (catalogue + index) | {:.0} ms |", build.as_secs_f64() * 1e3);
    println!("| transactions/s | {:.0} |", samples.len() as f64 / total);
    println!("| p50 per transaction | {:.1} µs |", percentile(&samples, 0.5));
    println!("| p99 per transaction | {:.1} µs |", percentile(&samples, 0.99));
    println!();
}

fn name(n: u64) -> String {
    const SYL: &[&str] = &[
        "KA", "LO", "MEX", "TRI", "BON", "SU", "VAR", "DEL", "QUI", "ZAN", "PER", "OST", "AN", "RI",
    ];
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut out = String::new();
    for part in 0..4 {
        if part > 0 && x.is_multiple_of(3) {
            out.push(' ');
        }
        out.push_str(SYL[usize::try_from(x % 14).unwrap()]);
        x /= 14;
    }
    format!("{out} {}", n % 997)
}

fn index(size: u64, queries: u64) -> [String; 2] {
    let mut rows = [String::new(), String::new()];
    let mut reference = BruteForceIndex::default();
    for n in 0..size {
        reference.upsert(Point { id: n.to_string(), tenant: None, vector: embed(&name(n)) });
    }
    let backends: Vec<(&str, Box<dyn VectorIndex>)> = vec![
        ("in-memory inverted", Box::new(InMemoryIndex::default())),
        ("brute force", Box::new(BruteForceIndex::default())),
    ];
    let qs: Vec<_> = (0..queries)
        .map(|k| {
            let mut q = name(k * (size / queries).max(1));
            q.remove(2);
            embed(&q)
        })
        .collect();
    let want: Vec<Option<String>> = qs
        .iter()
        .map(|q| reference.search(q, 1, &Filter::default()).first().map(|h| h.id.clone()))
        .collect();
    for (i, (label, mut backend)) in backends.into_iter().enumerate() {
        let started = Instant::now();
        for n in 0..size {
            backend.upsert(Point { id: n.to_string(), tenant: None, vector: embed(&name(n)) });
        }
        let build = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut agree = 0u64;
        for (q, w) in qs.iter().zip(&want) {
            let got = backend.search(q, 1, &Filter::default());
            agree += u64::from(got.first().map(|h| &h.id) == w.as_ref());
        }
        let qps = queries as f64 / started.elapsed().as_secs_f64();
        rows[i] = format!(
            "| {label} | {size} | {build:.2} s | {qps:.0} | {:.3} |",
            agree as f64 / queries as f64
        );
    }
    rows
}

fn main() {
    let rounds = env("FINTRA_BRAIN_ROUNDS", 20);
    let queries = env("FINTRA_BRAIN_QUERIES", 2_000);
    cascade(rounds);
    println!("| index backend | points | build | queries/s | recall@1 vs brute force |");
    println!("|---|---:|---:|---:|---:|");
    for size in [10_000, 100_000] {
        for row in index(size, queries) {
            println!("{row}");
        }
    }
}
