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
