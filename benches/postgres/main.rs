//! PostgreSQL macro benchmarks: fintra's hot store against the physical limits of the same
//! server, in one run, with `synchronous_commit` on and off. Prints a table.
//!
//! `cargo bench -p benches --bench postgres` (FINTRA_DATABASE_URL, default the local server;
//! FINTRA_BENCH_EVENTS, default 1,000,000; FINTRA_BENCH_RUNS, default 3).

#![allow(clippy::print_stdout, reason = "a macro benchmark prints its result table")]
#![allow(
    clippy::cast_precision_loss,
    reason = "rates are reported as f64; counts stay far below 2^52"
)]

mod harness;
mod workloads;

use harness::{Bench, median};

/// Whether `FINTRA_BENCH_WORKLOADS` (comma-separated; unset means all) names `workload`.
fn wanted(workload: &str) -> bool {
    std::env::var("FINTRA_BENCH_WORKLOADS")
        .map_or(true, |list| list.split(',').any(|w| w.trim() == workload))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let config = harness::Config::from_env();
    println!(
        "fintra PostgreSQL benchmarks: {} events over {} streams, {} runs (median reported)\n",
        config.events, config.streams, config.runs
    );
    let mut table = Vec::new();
    for sync in [true, false] {
        let bench = Bench::new(&config, sync).await;
        let mode = if sync { "on" } else { "off" };
        let n = config.events as f64;
        // A fintra rate beside the limit it is compared with, both in events per second.
        let row = |what, ours: &[f64], limit, theirs: &[f64]| {
            (mode, what, n / median(ours), limit, n / median(theirs))
        };
        if wanted("ingest") {
            let (ingest, copy_in, copy_indexed) = workloads::bulk_ingest(&bench).await;
            let what = "bulk_import (events/s)";
            table.push(row(what, &ingest, "COPY into bare table", &copy_in));
            table.push(row(what, &ingest, "COPY into table with fintra's indexes", &copy_indexed));
        }
        if wanted("catch_up") {
            let (pipelined, replay, copy_out) = workloads::catch_up(&bench).await;
            let limit = "COPY (SELECT) TO STDOUT";
            let what = "read_all_pages catch-up, pipelined (events/s)";
            table.push(row(what, &pipelined, limit, &copy_out));
            table.push(row("read_all catch-up loop (events/s)", &replay, limit, &copy_out));
        }
        if wanted("commands") {
            let commands = workloads::commands(&bench).await;
            table.push((
                mode,
                "commands load+decide+append (cmd/s)",
                median(&commands),
                "",
                f64::NAN,
            ));
        }
    }
    println!("| synchronous_commit | fintra | events/s | limit | events/s | ratio |");
    println!("|---|---|---:|---|---:|---:|");
    for (mode, what, ours, limit, theirs) in table {
        let ratio =
            if theirs.is_nan() { String::from("—") } else { format!("{:.2}×", ours / theirs) };
        let theirs = if theirs.is_nan() { String::from("—") } else { format!("{theirs:.0}") };
        println!("| {mode} | {what} | {ours:.0} | {limit} | {theirs} | {ratio} |");
    }
}
