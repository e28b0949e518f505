//! Ledger benchmarks (a macro harness that prints a table):
//!
//! 1. transfers/s through `decide` + `apply` on one core, no store (target ≥ 5M/s);
//! 2. end-to-end transfers/s through [`Ledger`] on the in-memory store, one writer;
//! 3. the hot-account strategy: concurrent writers all paying one settlement account, with the
//!    ledger in 1 book vs 8 books, on the in-memory store and on PostgreSQL (skipped with a
//!    message when `FINTRA_DATABASE_URL` is unreachable — this is a benchmark, not a test).
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
    AccountId, AccountKind, Command, Ledger, LedgerBook, LedgerOptions, NewAccount, NewTransfer,
    TransferId,
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
    for i in 0..wallets {
        let id = TransferId::from_u128(u128::MAX - i);
        ledger
            .transfer(NewTransfer::posted(id, SETTLEMENT, wallet(i), eur(1_000_000_000)))
            .await
            .unwrap();
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
    match reachable {
        true => {
            for books in [1u16, 8] {
                let samples = (0..runs)
                    .map(|_| {
                        rt.block_on(async {
                            let schema = fintra_store_postgres::testing::TestSchema::new().await;
                            hot_account(schema.store(), books, 32, 100).await
                        })
                    })
                    .collect();
                row(
                    &format!("hot account, PostgreSQL, 32 writers × 100, {books} book(s)"),
                    samples,
                );
            }
        }
        false => println!(
            "PostgreSQL not reachable at FINTRA_DATABASE_URL: hot-account rows on PostgreSQL skipped"
        ),
    }
}
