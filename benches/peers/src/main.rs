//! Command throughput on PostgreSQL: fintra vs cqrs-es + postgres-es 0.5 vs esrs 0.18, and the
//! physical limit of the same server measured with `pgbench` in the same run.
//!
//! The same work for each framework: load a bank account, decide a deposit, append one event.
//! `FINTRA_BENCH_CALLERS` concurrent callers (default 8, 64 and 256) pick accounts at random
//! (same seeded sequence for every framework) from `FINTRA_BENCH_STREAMS` accounts opened
//! beforehand; each framework gets its own fresh schema on the same server and a pool of 10
//! connections. Conflicts are retried in every framework. fintra runs three ways: uncached,
//! with the aggregate cache, and cached with group commit.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml`

#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

mod cqrs_peer;
mod esrs_peer;
mod fintra_peer;
mod pgbench;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub(crate) struct Config {
    url: String,
    pub(crate) streams: u64,
    commands: u64,
    runs: usize,
    callers: Vec<u64>,
    pgbench_secs: u32,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The random account sequence of task `task` in run `run`, identical for every framework.
pub(crate) fn picks(config: &Config, task: u64, run: usize, count: u64) -> Vec<u64> {
    let mut rng = fintra_core::testing::SimRng::new(task * 7_919 + run as u64);
    (0..count).map(|_| rng.below(config.streams)).collect()
}

async fn fresh_pool(config: &Config, schema: &str) -> PgPool {
    let mut admin = PgConnection::connect(&config.url).await.expect("PostgreSQL reachable");
    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"))
        .execute(&mut admin)
        .await
        .expect("schema");
    let options: PgConnectOptions = config.url.parse().expect("url");
    let options = options.options([("search_path", schema)]);
    PgPoolOptions::new().max_connections(10).connect_with(options).await.expect("pool")
}

/// A framework under test: set up `streams` open accounts, then run deposits.
pub(crate) trait Contender: Send + Sync + 'static {
    fn deposit(&self, account: u64) -> impl Future<Output = ()> + Send;
}

async fn measure<C: Contender>(config: &Config, contender: C, callers: u64, run: usize) -> f64 {
    let contender = Arc::new(contender);
    let per_task = config.commands / callers;
    let plans: Vec<Vec<u64>> = (0..callers).map(|t| picks(config, t, run, per_task)).collect();
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
    (per_task * callers) as f64 / start.elapsed().as_secs_f64()
}

/// One caller, one command at a time: the latency of each command, p50 and p99 in µs.
async fn lone_latency<C: Contender>(config: &Config, contender: C) -> (f64, f64) {
    let plan = picks(config, 0, 0, 2_000);
    let mut micros = Vec::with_capacity(plan.len());
    for account in plan {
        let start = Instant::now();
        contender.deposit(account).await;
        micros.push(start.elapsed().as_secs_f64() * 1e6);
    }
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let callers = std::env::var("FINTRA_BENCH_CALLERS").unwrap_or_else(|_| "8,64,256".into());
    let config = Config {
        url: std::env::var("FINTRA_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        streams: env_u64("FINTRA_BENCH_STREAMS", 10_000),
        commands: env_u64("FINTRA_BENCH_COMMANDS", 20_000),
        runs: usize::try_from(env_u64("FINTRA_BENCH_RUNS", 3)).unwrap_or(3),
        callers: callers.split(',').filter_map(|c| c.trim().parse().ok()).collect(),
        pgbench_secs: u32::try_from(env_u64("FINTRA_BENCH_PGBENCH_SECS", 8)).unwrap_or(8),
    };
    println!(
        "commands (load + decide + append 1 event), {} accounts, {} commands per run, median of {} runs, synchronous_commit on\n",
        config.streams, config.commands, config.runs
    );
    // The physical limit first, at 8 and 64 clients (the server's max_connections bounds it).
    println!("| pgbench shape | clients | per second |");
    println!("|---|---:|---:|");
    let mut one_insert = Vec::new();
    let shapes = pgbench::Shape::ALL.into_iter().chain(pgbench::Shape::PARTS);
    for shape in shapes {
        for clients in [8u32, 64] {
            let mut samples = Vec::new();
            for _ in 0..config.runs {
                samples.push(pgbench::limit(&config.url, shape, clients, config.pgbench_secs).await);
            }
            let rate = median(samples);
            if matches!(shape, pgbench::Shape::OneInsert) {
                one_insert.push((u64::from(clients), rate));
            }
            println!("| {} | {clients} | {rate:.0} |", shape.name());
        }
    }
    println!();
    // A lone caller must pay nothing for group commit: latency per command, 2,000 commands.
    println!("| lone caller, 2,000 commands | p50 µs | p99 µs |");
    println!("|---|---:|---:|");
    for (name, variant) in [
        ("fintra + cache", fintra_peer::Variant::Cached),
        ("fintra + cache + group commit", fintra_peer::Variant::Grouped),
    ] {
        let pool = fresh_pool(&config, "peer_fintra").await;
        let contender = fintra_peer::setup(&config, pool, variant).await;
        let (p50, p99) = lone_latency(&config, contender).await;
        println!("| {name} | {p50:.0} | {p99:.0} |");
    }
    println!();
    println!(
        "| callers | fintra | fintra + cache | fintra + cache + group commit | cqrs-es 0.5 | esrs 0.18 | grouped / best peer | grouped / pgbench one-insert |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &callers in &config.callers {
        let (mut ours, mut cached, mut grouped) = (Vec::new(), Vec::new(), Vec::new());
        let (mut cqrs, mut esrs) = (Vec::new(), Vec::new());
        for run in 0..config.runs {
            let pool = fresh_pool(&config, "peer_fintra").await;
            let plain = fintra_peer::setup(&config, pool, fintra_peer::Variant::Plain).await;
            ours.push(measure(&config, plain, callers, run).await);
            let pool = fresh_pool(&config, "peer_fintra").await;
            let cache = fintra_peer::setup(&config, pool, fintra_peer::Variant::Cached).await;
            cached.push(measure(&config, cache, callers, run).await);
            let pool = fresh_pool(&config, "peer_fintra").await;
            let group = fintra_peer::setup(&config, pool, fintra_peer::Variant::Grouped).await;
            grouped.push(measure(&config, group, callers, run).await);
            let pool = fresh_pool(&config, "peer_cqrs").await;
            cqrs.push(measure(&config, cqrs_peer::setup(&config, pool).await, callers, run).await);
            let pool = fresh_pool(&config, "peer_esrs").await;
            esrs.push(measure(&config, esrs_peer::setup(&config, pool).await, callers, run).await);
        }
        let (ours, cached, grouped) = (median(ours), median(cached), median(grouped));
        let (cqrs, esrs) = (median(cqrs), median(esrs));
        let best = cqrs.max(esrs);
        // The limit at the nearest measured client count at or below the callers.
        let limit = one_insert
            .iter()
            .filter(|(clients, _)| *clients <= callers)
            .next_back()
            .or(one_insert.first())
            .map_or(f64::NAN, |(_, rate)| *rate);
        println!(
            "| {callers} | {ours:.0} | {cached:.0} | {grouped:.0} | {cqrs:.0} | {esrs:.0} | {:.2}× | {:.2}× |",
            grouped / best,
            grouped / limit
        );
    }
}
