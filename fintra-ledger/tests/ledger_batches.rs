//! Batches on the sharded [`Ledger`]: [`Ledger::submit`] with per-entry results, and the
//! coalescing of concurrent single transfers. The same runs on PostgreSQL, where coalescing is
//! what makes a hot account scale, in `fintra-store-postgres/tests/ledger.rs`.

#![allow(clippy::inconsistent_digit_grouping, reason = "amounts read as units_cents")]

use std::sync::Arc;

use fintra_core::{Asset, EventStore, InMemoryEventStore, Money, Repository};
use fintra_ledger::{
    AccountId, AccountKind, BATCH_TRANSFERS_MAX, BatchEntry, Ledger, LedgerBook, LedgerError,
    LedgerOptions, NewAccount, NewTransfer, Rejection, TransferId,
};
use uuid::Uuid;

const SETTLEMENT: AccountId = AccountId::from_u128(1_000);

fn eur(minor: i128) -> Money {
    Money::new(minor, Asset::EUR)
}

fn wallet(n: u128) -> AccountId {
    AccountId::from_u128(n)
}

fn id(n: u128) -> TransferId {
    TransferId::from_u128(n)
}

async fn ledger<S: EventStore>(store: S, books: u16) -> Ledger<S> {
    let repository = Repository::<LedgerBook, _>::new(store);
    let options = LedgerOptions { books, ..LedgerOptions::default() };
    Ledger::open(repository, Uuid::from_u128(9), options).await.expect("open the ledger")
}

async fn open_wallets<S: EventStore>(ledger: &Ledger<S>, n: u128) {
    let mut accounts = vec![NewAccount::new(SETTLEMENT, Asset::EUR, AccountKind::Asset).spread()];
    accounts
        .extend((1..=n).map(|i| {
            NewAccount::new(wallet(i), Asset::EUR, AccountKind::Liability).no_overdraft()
        }));
    ledger.open_accounts(accounts).await.expect("open accounts");
}

#[tokio::test]
async fn submit_answers_every_entry_and_a_reload_sees_the_same_books() {
    let store = Arc::new(InMemoryEventStore::new());
    let first = ledger(Arc::clone(&store), 4).await;
    open_wallets(&first, 20).await;
    let top_ups: Vec<BatchEntry> = (1..=20)
        .map(|i| BatchEntry::Single(NewTransfer::posted(id(i), SETTLEMENT, wallet(i), eur(10_00))))
        .collect();
    let answers = first.submit(top_ups.clone()).await.expect("top-ups");
    assert!(answers.iter().all(|a| a.as_ref().is_ok_and(|records| records.len() == 1)));
    // An overdraft, a chain across books, a chain in one book, a retry, and a cross-book transfer.
    let (a, b) = (
        wallet(1),
        (2..=20).map(wallet).find(|w| first.home_book(*w) != first.home_book(wallet(1))).unwrap(),
    );
    let entries = vec![
        BatchEntry::Single(NewTransfer::posted(id(100), a, SETTLEMENT, eur(50_00))),
        BatchEntry::Linked(vec![
            NewTransfer::posted(id(101), a, SETTLEMENT, eur(1_00)),
            NewTransfer::posted(id(102), b, SETTLEMENT, eur(1_00)),
        ]),
        BatchEntry::Linked(vec![
            NewTransfer::posted(id(103), a, SETTLEMENT, eur(2_00)),
            NewTransfer::posted(id(104), SETTLEMENT, a, eur(1_00)),
        ]),
        top_ups[0].clone(),
        BatchEntry::Single(NewTransfer::posted(id(105), a, b, eur(3_00))),
    ];
    let answers = first.submit(entries).await.expect("the batch");
    assert!(matches!(answers[0], Err(Rejection::ExceedsCredits { .. })), "{:?}", answers[0]);
    assert_eq!(answers[1], Err(Rejection::CrossBook { id: id(102) }));
    assert_eq!(answers[2].as_ref().map(Vec::len), Ok(2));
    assert_eq!(answers[3].as_ref().map(|r| r[0].id()), Ok(id(1)), "a retry returns the record");
    assert_eq!(answers[4].as_ref().map(Vec::len), Ok(3), "a saga's three legs");
    let available = |balance: Option<fintra_ledger::Balance>| {
        balance.map(|b| b.available(AccountKind::Liability))
    };
    assert_eq!(available(first.balance(a).await), Some(10_00 - 2_00 + 1_00 - 3_00));
    assert_eq!(available(first.balance(b).await), Some(10_00 + 3_00));
    let second = ledger(Arc::clone(&store), 4).await;
    for i in 1..=20 {
        assert_eq!(first.balance(wallet(i)).await, second.balance(wallet(i)).await);
    }
    assert!(second.trial_balance().await.values().all(|t| t.is_balanced()));
}

#[tokio::test]
async fn a_full_batch_on_a_hot_account_is_a_handful_of_events_in_one_append() {
    let store = Arc::new(InMemoryEventStore::new());
    let ledger = ledger(Arc::clone(&store), 1).await;
    open_wallets(&ledger, 10).await;
    let stream = ledger.book_stream(0).await.unwrap();
    let before = store.stream_version(&stream).await.unwrap();
    let batch: Vec<BatchEntry> = (0..u128::try_from(BATCH_TRANSFERS_MAX).unwrap())
        .map(|k| {
            let to = wallet(1 + k % 10);
            BatchEntry::Single(NewTransfer::posted(id(10_000 + k), SETTLEMENT, to, eur(1)))
        })
        .collect();
    let answers = ledger.submit(batch).await.unwrap();
    assert!(answers.iter().all(Result::is_ok));
    let after = store.stream_version(&stream).await.unwrap();
    let events = after.get() - before.get();
    let per_event = u64::try_from(fintra_ledger::TRANSFERS_PER_EVENT_MAX).unwrap();
    assert_eq!(events, u64::try_from(BATCH_TRANSFERS_MAX).unwrap().div_ceil(per_event));
    let settlement = ledger.balance(SETTLEMENT).await.unwrap();
    assert_eq!(settlement.debits_posted, i128::try_from(BATCH_TRANSFERS_MAX).unwrap());
    let too_many = vec![answers_entry(); BATCH_TRANSFERS_MAX + 1];
    assert!(matches!(
        ledger.submit(too_many).await,
        Err(LedgerError::Rejected(Rejection::TooLarge { .. }))
    ));
    assert!(matches!(
        ledger.submit(Vec::new()).await,
        Err(LedgerError::Rejected(Rejection::EmptyBatch))
    ));
}

fn answers_entry() -> BatchEntry {
    BatchEntry::Single(NewTransfer::posted(id(1), SETTLEMENT, wallet(1), eur(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_single_transfers_each_get_their_own_answer() {
    let ledger = Arc::new(ledger(InMemoryEventStore::new(), 1).await);
    open_wallets(&ledger, 32).await;
    let tasks: Vec<_> = (1..=32u128)
        .map(|i| {
            let ledger = Arc::clone(&ledger);
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for k in 0..20u128 {
                    // Every fifth transfer overdraws its wallet and must be refused alone.
                    let (from, to, minor) = if k % 5 == 4 {
                        (wallet(i), SETTLEMENT, 1_000_00)
                    } else {
                        (SETTLEMENT, wallet(i), 1_00)
                    };
                    let answer = ledger
                        .transfer(NewTransfer::posted(id(i * 1_000 + k), from, to, eur(minor)))
                        .await;
                    answers.push((k, answer));
                }
                answers
            })
        })
        .collect();
    for task in tasks {
        for (k, answer) in task.await.unwrap() {
            if k % 5 == 4 {
                assert!(
                    matches!(answer, Err(LedgerError::Rejected(Rejection::ExceedsCredits { .. }))),
                    "{answer:?}"
                );
            } else {
                assert_eq!(answer.unwrap().len(), 1);
            }
        }
    }
    for i in 1..=32 {
        let available = ledger.balance(wallet(i)).await.unwrap().available(AccountKind::Liability);
        assert_eq!(available, 16_00);
    }
    assert!(ledger.trial_balance().await.values().all(|t| t.is_balanced()));
}
