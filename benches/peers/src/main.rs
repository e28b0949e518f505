//! Command throughput on PostgreSQL: fintra vs cqrs-es + postgres-es 0.5 vs esrs 0.18.
//!
//! The same work for each: load a bank account, decide a deposit, append one event. Eight
//! concurrent tasks pick accounts at random (same seeded sequence for every framework) from
//! `FINTRA_BENCH_STREAMS` accounts opened beforehand; each framework gets its own fresh schema
//! on the same server and a pool of 10 connections. Conflicts are retried in every framework.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml`

#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

mod cqrs_peer;
mod esrs_peer;
mod fintra_peer;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub(crate) const TASKS: u64 = 8;

pub(crate) struct Config {
    url: String,
    pub(crate) streams: u64,
    commands: u64,
    runs: usize,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The random account sequence of task `task` in run `run`, identical for every framework.
pub(crate) fn picks(config: &Config, task: u64, run: usize, count: u64) -> Vec<u64> {
    let mut rng = fintra_core::testing::SimRng::new(task * 7_919 + run as u64);
    (0..count).map(|_| rng.below(config.streams)).collect()
}

async fn fresh_pool(config: &Config, schema: &str, sync: bool) -> PgPool {
    let mut admin = PgConnection::connect(&config.url).await.expect("PostgreSQL reachable");
    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"))
        .execute(&mut admin)
        .await
        .expect("schema");
    let options: PgConnectOptions = config.url.parse().expect("url");
    let options = options.options([
        ("search_path", schema),
        ("synchronous_commit", if sync { "on" } else { "off" }),
    ]);
    PgPoolOptions::new().max_connections(10).connect_with(options).await.expect("pool")
}

/// A framework under test: set up `streams` open accounts, then run deposits.
pub(crate) trait Contender: Send + Sync + 'static {
    fn deposit(&self, account: u64) -> impl Future<Output = ()> + Send;
}

async fn measure<C: Contender>(config: &Config, contender: C, run: usize) -> f64 {
    let contender = Arc::new(contender);
    let per_task = config.commands / TASKS;
    let plans: Vec<Vec<u64>> = (0..TASKS).map(|t| picks(config, t, run, per_task)).collect();
    let start = Instant::now();
    let tasks: Vec<_> = plans
        .into_iter()
        .map(|plan| {
            let contender = Arc::clone(&contender);
            tokio::spawn(async move {
                for account in plan {
                    contender.deposit(account).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    (per_task * TASKS) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let config = Config {
        url: std::env::var("FINTRA_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        streams: env_u64("FINTRA_BENCH_STREAMS", 10_000),
        commands: env_u64("FINTRA_BENCH_COMMANDS", 20_000),
        runs: usize::try_from(env_u64("FINTRA_BENCH_RUNS", 3)).unwrap_or(3),
    };
    println!(
        "commands (load + decide + append 1 event), {} tasks, {} accounts, {} commands per run, {} runs\n",
        TASKS, config.streams, config.commands, config.runs
    );
    println!(
        "| synchronous_commit | fintra (cmd/s) | fintra + aggregate cache | cqrs-es + postgres-es 0.5 | esrs 0.18 | fintra / best peer | cached / best peer |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for sync in [true, false] {
        let (mut ours, mut cached) = (Vec::new(), Vec::new());
        let (mut cqrs, mut esrs) = (Vec::new(), Vec::new());
        for run in 0..config.runs {
            let pool = fresh_pool(&config, "peer_fintra", sync).await;
            ours.push(measure(&config, fintra_peer::setup(&config, pool, false).await, run).await);
            let pool = fresh_pool(&config, "peer_fintra", sync).await;
            cached.push(measure(&config, fintra_peer::setup(&config, pool, true).await, run).await);
            let pool = fresh_pool(&config, "peer_cqrs", sync).await;
            cqrs.push(measure(&config, cqrs_peer::setup(&config, pool).await, run).await);
            let pool = fresh_pool(&config, "peer_esrs", sync).await;
            esrs.push(measure(&config, esrs_peer::setup(&config, pool).await, run).await);
        }
        let (ours, cached, cqrs, esrs) = (median(ours), median(cached), median(cqrs), median(esrs));
        let mode = if sync { "on" } else { "off" };
        let best = cqrs.max(esrs);
        println!(
            "| {mode} | {ours:.0} | {cached:.0} | {cqrs:.0} | {esrs:.0} | {:.2}× | {:.2}× |",
            ours / best,
            cached / best
        );
    }
}
