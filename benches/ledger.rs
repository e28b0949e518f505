//! Ledger benchmarks (a macro harness that prints a table):
//!
//! 1. transfers/s through `decide` + `apply` on one core, no store (target ≥ 5M/s);
//! 2. end-to-end transfers/s through [`Ledger`] on the in-memory store, one writer;
//! 3. the hot-account strategy: concurrent writers all paying one settlement account, with the
//!    ledger in 1 book vs 8 books, on the in-memory store;
//! 4. on PostgreSQL (skipped with a message when `FINTRA_DATABASE_URL` is unreachable — this is
//!    a benchmark, not a test): single `transfer` calls coalesced into batches, and
//!    `Ledger::submit` batches of 1,000, at 1, 8 and 64 callers, for a hot account (every
//!    transfer pays one settlement account, one book) and for uniform traffic (1,000 wallets
//!    over 8 books, each paying the spread settlement account in its own book).
//!
//! `cargo bench -p benches --bench ledger`. Sizes: `FINTRA_LEDGER_TRANSFERS` (decide+apply,
//! default 1,000,000), `FINTRA_LEDGER_E2E` (default 100,000), `FINTRA_LEDGER_RUNS` (default 5).
//! Results are recorded in `docs/benchmarks.md`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use benches::{env, median};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fintra_core::{
    Aggregate, Asset, DecideContext, EventStore, InMemoryEventStore, ManualClock, Money,
    Repository, SequentialIdGenerator,
};
use fintra_ledger::{
    AccountId, AccountKind, BatchEntry, Command, Ledger, LedgerBook, LedgerOptions, NewAccount,
    NewTransfer, TransferId,
};

const WALLETS: u128 = 10_000;
const SETTLEMENT: AccountId = AccountId::from_u128(1);

fn wallet(n: u128) -> AccountId {
    AccountId::from_u128(1_000 + n)
}

fn eur(minor: i128) -> Money {
    Money::new(minor, Asset::EUR)
}

fn accounts(spread: bool) -> Vec<NewAccount> {
    let settlement = NewAccount::new(SETTLEMENT, Asset::EUR, AccountKind::Asset);
    let mut accounts = vec![if spread { settlement.spread() } else { settlement }];
    accounts
        .extend((0..WALLETS).map(|i| {
            NewAccount::new(wallet(i), Asset::EUR, AccountKind::Liability).no_overdraft()
        }));
    accounts
}

/// A book with every wallet funded, and `n` wallet-to-wallet or wallet-to-settlement transfers.
fn decide_apply(n: u64) -> f64 {
    let clock = ManualClock::at_epoch_2024();
    let ids = SequentialIdGenerator::default();
    let ctx = DecideContext::from_clock(&clock, &ids);
    let mut book = LedgerBook::default();
    for chunk in accounts(false).chunks(500) {
        let events = book.decide(&Command::OpenAccounts(chunk.to_vec()), &ctx).unwrap();
        events.iter().for_each(|e| book.apply(e));
    }
    for i in 0..WALLETS {
        let id = TransferId::from_u128(u128::MAX - i);
        let fund = NewTransfer::posted(id, SETTLEMENT, wallet(i), eur(1_000_000_000));
        let events = book.decide(&Command::Transfer(fund), &ctx).unwrap();
        events.iter().for_each(|e| book.apply(e));
    }
    let commands: Vec<Command> = (0..u128::from(n))
        .map(|k| {
            let debit = wallet(k % WALLETS);
            let credit = if k % 3 == 0 { SETTLEMENT } else { wallet((k * 7 + 1) % WALLETS) };
            let credit = if credit == debit { SETTLEMENT } else { credit };
            Command::Transfer(NewTransfer::posted(
                TransferId::from_u128(k + 1),
                debit,
                credit,
                eur(1),
            ))
        })
        .collect();
    let start = Instant::now();
    for command in &commands {
        let events = book.decide(command, &ctx).unwrap();
        events.iter().for_each(|e| book.apply(e));
    }
    let elapsed = start.elapsed();
    assert_eq!(
        book.transfer_count(),
        usize::try_from(n + u64::try_from(WALLETS).unwrap()).unwrap()
    );
    n as f64 / elapsed.as_secs_f64()
}

async fn funded_ledger<S: EventStore>(store: S, books: u16, wallets: u128) -> Ledger<S> {
    let repository = Repository::<LedgerBook, _>::new(store);
    let ledger = Ledger::open(
        repository,
        uuid::Uuid::from_u128(9),
        LedgerOptions { books, ..LedgerOptions::default() },
    )
    .await
    .unwrap();
    let mut all = accounts(true);
    all.truncate(usize::try_from(wallets + 1).unwrap());
    for chunk in all.chunks(400) {
        ledger.open_accounts(chunk.to_vec()).await.unwrap();
    }
    let top_ups: Vec<BatchEntry> = (0..wallets)
        .map(|i| {
            let id = TransferId::from_u128(u128::MAX - i);
            BatchEntry::Single(NewTransfer::posted(id, SETTLEMENT, wallet(i), eur(1_000_000_000)))
        })
        .collect();
    for chunk in top_ups.chunks(1_000) {
        let answers = ledger.submit(chunk.to_vec()).await.unwrap();
        assert!(answers.iter().all(Result::is_ok));
    }
    ledger
}

/// One writer, sequential transfers between wallets in one book.
async fn end_to_end(n: u64) -> f64 {
    let ledger = funded_ledger(InMemoryEventStore::new(), 1, 1_000).await;
    let start = Instant::now();
    for k in 0..u128::from(n) {
        let (debit, credit) = (wallet(k % 1_000), wallet((k * 7 + 1) % 1_000));
        let credit = if credit == debit { SETTLEMENT } else { credit };
        let request = NewTransfer::posted(TransferId::from_u128(k + 1), debit, credit, eur(1));
        ledger.transfer(request).await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// `writers` tasks each paying `per_writer` transfers into the settlement account.
async fn hot_account<S: EventStore + 'static>(
    store: S,
    books: u16,
    writers: u128,
    per_writer: u128,
) -> f64 {
    let ledger = Arc::new(funded_ledger(store, books, writers).await);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let ledger = Arc::clone(&ledger);
        tasks.push(tokio::spawn(async move {
            for k in 0..per_writer {
                let id = TransferId::from_u128((w + 1) * 1_000_000 + k);
                ledger
                    .transfer(NewTransfer::posted(id, wallet(w), SETTLEMENT, eur(1)))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = start.elapsed();
    let settlement = ledger.balance(SETTLEMENT).await.unwrap();
    assert_eq!(settlement.credits_posted, i128::try_from(writers * per_writer).unwrap());
    (writers * per_writer) as f64 / elapsed.as_secs_f64()
}

fn row(name: &str, samples: Vec<f64>) {
    let spread = |s: &[f64]| {
        let (lo, hi) = s.iter().fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        format!("{:>10.0} – {:<10.0}", lo, hi)
    };
    let range = spread(&samples);
    println!("| {name:<58} | {:>12.0} | {range} |", median(samples));
}

fn main() {
    let runs = env("FINTRA_LEDGER_RUNS", 5);
    let n = env("FINTRA_LEDGER_TRANSFERS", 1_000_000);
    let e2e = env("FINTRA_LEDGER_E2E", 100_000);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("| workload (median of {runs}) | transfers/s | min – max |");
    println!("|---|---:|---|");
    row(
        &format!("decide+apply, one core, {n} transfers, 10k accounts"),
        (0..runs).map(|_| decide_apply(n)).collect(),
    );
    row(
        &format!("Ledger on InMemoryEventStore, 1 writer, {e2e} transfers"),
        (0..runs).map(|_| rt.block_on(end_to_end(e2e))).collect(),
    );
    for books in [1u16, 8] {
        let samples = (0..runs)
            .map(|_| rt.block_on(hot_account(InMemoryEventStore::new(), books, 64, 500)))
            .collect();
        row(&format!("hot account, in-memory, 64 writers × 500, {books} book(s)"), samples);
    }
    let url = fintra_store_postgres::testing::database_url();
    let reachable = rt.block_on(async {
        use sqlx::Connection;
        let connect = sqlx::PgConnection::connect(&url);
        matches!(tokio::time::timeout(Duration::from_secs(5), connect).await, Ok(Ok(_)))
    });
    if !reachable {
        println!(
            "PostgreSQL not reachable at FINTRA_DATABASE_URL: the PostgreSQL rows are skipped"
        );
        return;
    }
    let pg_runs = env("FINTRA_LEDGER_PG_RUNS", 3);
    for traffic in [Traffic::Hot, Traffic::Uniform] {
        for callers in [1u128, 8, 64] {
            let samples = (0..pg_runs)
                .map(|_| rt.block_on(on_postgres(traffic, Mode::Coalesced, callers)))
                .collect();
            row(
                &format!("{}, coalesced single transfers, {callers} caller(s)", traffic.name()),
                samples,
            );
        }
        for callers in [1u128, 8, 64] {
            let samples = (0..pg_runs)
                .map(|_| rt.block_on(on_postgres(traffic, Mode::Batches, callers)))
                .collect();
            row(&format!("{}, batches of 1,000, {callers} caller(s)", traffic.name()), samples);
        }
    }
}

#[derive(Clone, Copy)]
enum Traffic {
    /// Every transfer pays the settlement account; one book.
    Hot,
    /// 1,000 wallets spread over 8 books, each paying the settlement account (spread, so every
    /// transfer stays in its wallet's book): traffic over every book, no single hot stream.
    Uniform,
}

impl Traffic {
    fn name(self) -> &'static str {
        match self {
            Self::Hot => "PostgreSQL, hot account (1 book)",
            Self::Uniform => "PostgreSQL, 1,000 wallets over 8 books",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Coalesced,
    Batches,
}

const BATCH: u128 = 1_000;

/// Transfers/s for `callers` concurrent callers on a fresh schema.
async fn on_postgres(traffic: Traffic, mode: Mode, callers: u128) -> f64 {
    let schema = fintra_store_postgres::testing::TestSchema::new().await;
    let (books, wallets) = match traffic {
        Traffic::Hot => (1, 64),
        Traffic::Uniform => (8, 1_000),
    };
    let ledger = Arc::new(funded_ledger(schema.store(), books, wallets).await);
    // Whole batches per caller; about 64,000 transfers a run in batches, 6,400 coalesced
    // (1,000 for one caller, which runs at one commit per transfer).
    let per_caller = match (mode, callers) {
        (Mode::Batches, _) => BATCH * (64 / callers).max(1),
        (Mode::Coalesced, 1) => 1_000,
        (Mode::Coalesced, _) => 6_400 / callers,
    };
    let request = move |c: u128, k: u128| {
        let id = TransferId::from_u128((c + 1) * 10_000_000 + k);
        match traffic {
            Traffic::Hot => NewTransfer::posted(id, wallet(c % wallets), SETTLEMENT, eur(1)),
            Traffic::Uniform => {
                let debit = wallet((c * 7_919 + k * 104_729) % wallets);
                NewTransfer::posted(id, debit, SETTLEMENT, eur(1))
            }
        }
    };
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|c| {
            let ledger = Arc::clone(&ledger);
            tokio::spawn(async move {
                match mode {
                    Mode::Coalesced => {
                        for k in 0..per_caller {
                            ledger.transfer(request(c, k)).await.unwrap();
                        }
                    }
                    Mode::Batches => {
                        for b in 0..per_caller / BATCH {
                            let batch = (b * BATCH..(b + 1) * BATCH)
                                .map(|k| BatchEntry::Single(request(c, k)))
                                .collect();
                            let answers = ledger.submit(batch).await.unwrap();
                            assert!(answers.iter().all(Result::is_ok));
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (callers * per_caller) as f64 / start.elapsed().as_secs_f64()
}
