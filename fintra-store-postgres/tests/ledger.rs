//! The ledger on PostgreSQL: two `Ledger` instances (two processes) share one store and write
//! the same books concurrently; optimistic concurrency and catch-up keep every invariant, and a
//! third instance that reloads from the database sees exactly the same balances.

#![allow(clippy::inconsistent_digit_grouping, reason = "amounts read as units_cents")]

use std::sync::Arc;

use fintra_core::{Asset, Money, Repository};
use fintra_ledger::{
    AccountId, AccountKind, Ledger, LedgerBook, LedgerError, LedgerOptions, NewAccount,
    NewTransfer, Rejection, TransferId,
};
use fintra_store_postgres::PgEventStore;
use fintra_store_postgres::testing::TestSchema;

const SETTLEMENT: AccountId = AccountId::from_u128(1);
const WALLETS: u128 = 16;
const BOOKS: u16 = 4;

fn wallet(n: u128) -> AccountId {
    AccountId::from_u128(100 + n)
}

fn eur(minor: i128) -> Money {
    Money::new(minor, Asset::EUR)
}

async fn open(store: PgEventStore) -> Ledger<PgEventStore> {
    let options = LedgerOptions { books: BOOKS, ..LedgerOptions::default() };
    // Two processes writing the same books race; the loser catches up and retries, so allow
    // more attempts than the default 8 (see docs/ledger.md, "several processes").
    let repository = Repository::<LedgerBook, _>::new(store)
        .with_attempts_max(64)
        .expect("64 attempts is within bounds");
    Ledger::open(repository, uuid::Uuid::from_u128(3), options).await.expect("open the ledger")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_sharded_ledger_without_breaking_an_invariant() {
    let schema = TestSchema::new().await;
    let first = Arc::new(open(schema.store()).await);
    let mut accounts = vec![NewAccount::new(SETTLEMENT, Asset::EUR, AccountKind::Asset).spread()];
    accounts
        .extend((0..WALLETS).map(|i| {
            NewAccount::new(wallet(i), Asset::EUR, AccountKind::Liability).no_overdraft()
        }));
    first.open_accounts(accounts).await.unwrap();
    for i in 0..WALLETS {
        let top_up =
            NewTransfer::posted(TransferId::from_u128(i + 1), SETTLEMENT, wallet(i), eur(100_00));
        first.transfer(top_up).await.unwrap();
    }
    // The second process starts after the set-up and learns everything from the database.
    let second = Arc::new(open(schema.store()).await);

    // Both spend from every wallet at once: each wallet pays 1.00 sixty times, split between
    // the processes, into the settlement account or to the next wallet (cross-book sagas).
    let mut tasks = Vec::new();
    for (p, ledger) in [Arc::clone(&first), Arc::clone(&second)].into_iter().enumerate() {
        for i in 0..WALLETS {
            let ledger = Arc::clone(&ledger);
            tasks.push(tokio::spawn(async move {
                let mut refused = 0u32;
                for k in 0..30u128 {
                    let id = TransferId::from_u128(1_000_000 * (p as u128 + 1) + i * 1_000 + k);
                    let to = if k % 3 == 0 { wallet((i + 1) % WALLETS) } else { SETTLEMENT };
                    match ledger.transfer(NewTransfer::posted(id, wallet(i), to, eur(1_00))).await {
                        Ok(_) => {}
                        Err(LedgerError::Rejected(Rejection::ExceedsCredits { .. })) => {
                            refused += 1
                        }
                        Err(other) => return Err(other),
                    }
                }
                Ok(refused)
            }));
        }
    }
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap().unwrap();
    }
    assert_eq!(refused, 0, "every wallet had enough for 60 payments of 1.00");

    first.refresh().await.unwrap();
    second.refresh().await.unwrap();
    let reloaded = open(schema.store()).await;
    assert_eq!(reloaded.recover().await.unwrap(), 0, "no saga was left half-done");
    let mut total = 0;
    for i in 0..WALLETS {
        let balance = reloaded.balance(wallet(i)).await.unwrap();
        assert_eq!(first.balance(wallet(i)).await.unwrap(), balance);
        assert_eq!(second.balance(wallet(i)).await.unwrap(), balance);
        total += balance.available(AccountKind::Liability);
    }
    // Each wallet paid 60.00 and received 20.00 from its neighbour: 100 − 60 + 20 = 60.00.
    assert_eq!(total, i128::from(u32::try_from(WALLETS).unwrap()) * 60_00);
    let settlement = reloaded.balance(SETTLEMENT).await.unwrap();
    assert_eq!(settlement.credits_posted, i128::from(u32::try_from(WALLETS).unwrap()) * 40_00);
    assert!(reloaded.trial_balance().await.values().all(|t| t.is_balanced()));
    // A retried transfer is a no-op on the database too.
    let again = NewTransfer::posted(TransferId::from_u128(1), SETTLEMENT, wallet(0), eur(100_00));
    reloaded.transfer(again).await.unwrap();
    assert_eq!(reloaded.balance(wallet(0)).await.unwrap().available(AccountKind::Liability), 60_00);
}

/// A hot account on one book: 64 callers pay into one settlement account at once. Coalescing
/// writes whatever queued during the previous commit as one batch, so the book takes far fewer
/// appends than transfers, and every caller still gets its own record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transfers_on_a_hot_account_are_coalesced_into_batches() {
    const CALLERS: u128 = 64;
    const EACH: u128 = 10;
    let schema = TestSchema::new().await;
    let options = LedgerOptions { books: 1, ..LedgerOptions::default() };
    let repository = Repository::<LedgerBook, _>::new(schema.store());
    let ledger =
        Arc::new(Ledger::open(repository, uuid::Uuid::from_u128(4), options).await.expect("open"));
    let mut accounts = vec![NewAccount::new(SETTLEMENT, Asset::EUR, AccountKind::Asset)];
    accounts.extend(
        (0..CALLERS).map(|i| NewAccount::new(wallet(i), Asset::EUR, AccountKind::Liability)),
    );
    ledger.open_accounts(accounts).await.unwrap();
    let stream = ledger.book_stream(0).await.unwrap();
    let store = schema.store();
    let before = fintra_core::EventStore::stream_version(&store, &stream).await.unwrap();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|i| {
            let ledger = Arc::clone(&ledger);
            tokio::spawn(async move {
                for k in 0..EACH {
                    let id = TransferId::from_u128(10_000 + i * 100 + k);
                    let records = ledger
                        .transfer(NewTransfer::posted(id, wallet(i), SETTLEMENT, eur(1_00)))
                        .await?;
                    assert_eq!(records.iter().map(|r| r.id()).collect::<Vec<_>>(), [id]);
                }
                Ok::<_, LedgerError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let after = fintra_core::EventStore::stream_version(&store, &stream).await.unwrap();
    let appended = after.get() - before.get();
    let transfers = u64::try_from(CALLERS * EACH).unwrap();
    assert!(appended < transfers / 2, "{transfers} transfers took {appended} events");
    let reloaded = Ledger::open(
        Repository::<LedgerBook, _>::new(schema.store()),
        uuid::Uuid::from_u128(4),
        LedgerOptions { books: 1, ..LedgerOptions::default() },
    )
    .await
    .unwrap();
    let settlement = reloaded.balance(SETTLEMENT).await.unwrap();
    assert_eq!(settlement.debits_posted, 0);
    assert_eq!(settlement.credits_posted, i128::try_from(CALLERS * EACH).unwrap() * 1_00);
    assert_eq!(reloaded.balance(SETTLEMENT).await, ledger.balance(SETTLEMENT).await);
    assert!(reloaded.trial_balance().await.values().all(|t| t.is_balanced()));
}
