//! The sharded [`Ledger`] on the in-memory store: spread hot accounts, cross-book sagas and
//! their recovery, time travel by effective date. The same flows run on PostgreSQL in
//! `fintra-store-postgres/tests/ledger.rs`.

#![allow(clippy::inconsistent_digit_grouping, reason = "amounts read as units_cents")]
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use fintra_core::{
    AppendResult, AsOf, Asset, Error, EventStore, ExpectedVersion, InMemoryEventStore, ManualClock,
    Money, NewEvent, Position, ReadStreamOptions, RecordedEvent, Repository, StreamId,
    StreamVersion,
};
use fintra_ledger::{
    AccountId, AccountKind, Ledger, LedgerBook, LedgerError, LedgerOptions, NewAccount,
    NewTransfer, Phase, Rejection, TransferId,
};
use uuid::Uuid;

const LEDGER: Uuid = Uuid::from_u128(7);
const SETTLEMENT: AccountId = AccountId::from_u128(1_000);

fn eur(minor: i128) -> Money {
    Money::new(minor, Asset::EUR)
}

fn wallet(n: u128) -> AccountId {
    AccountId::from_u128(n)
}

async fn ledger<S: EventStore>(store: S, books: u16) -> Ledger<S> {
    let repository = Repository::<LedgerBook, _>::new(store);
    Ledger::open(repository, LEDGER, LedgerOptions { books, ..LedgerOptions::default() })
        .await
        .unwrap()
}

/// Opens the settlement account (spread) and `n` no-overdraft wallets, each funded with 100.00.
async fn open_and_fund<S: EventStore>(ledger: &Ledger<S>, n: u128) {
    let mut accounts = vec![NewAccount::new(SETTLEMENT, Asset::EUR, AccountKind::Asset).spread()];
    accounts
        .extend((1..=n).map(|i| {
            NewAccount::new(wallet(i), Asset::EUR, AccountKind::Liability).no_overdraft()
        }));
    ledger.open_accounts(accounts).await.unwrap();
    for i in 1..=n {
        let top_up =
            NewTransfer::posted(TransferId::from_u128(i), SETTLEMENT, wallet(i), eur(100_00));
        ledger.transfer(top_up).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spread_settlement_account_takes_concurrent_traffic_from_every_book() {
    let ledger = Arc::new(ledger(InMemoryEventStore::new(), 8).await);
    open_and_fund(&ledger, 40).await;
    let mut tasks = Vec::new();
    for i in 1..=40u128 {
        let ledger = Arc::clone(&ledger);
        tasks.push(tokio::spawn(async move {
            for k in 0..10u128 {
                let id = TransferId::from_u128(10_000 + i * 100 + k);
                ledger.transfer(NewTransfer::posted(id, wallet(i), SETTLEMENT, eur(1_00))).await?;
            }
            Ok::<_, LedgerError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let settlement = ledger.balance(SETTLEMENT).await.unwrap();
    // Debited 40 × 100.00 for the top-ups, credited back 40 × 10 × 1.00.
    assert_eq!((settlement.debits_posted, settlement.credits_posted), (4_000_00, 400_00));
    for i in 1..=40 {
        assert_eq!(
            ledger.balance(wallet(i)).await.unwrap().available(AccountKind::Liability),
            90_00
        );
    }
    let books_used =
        ledger.books_snapshot().await.iter().filter(|b| b.transfer_count() > 0).count();
    assert!(books_used > 1, "the settlement traffic was spread over {books_used} book(s)");
    assert!(ledger.trial_balance().await.values().all(|t| t.is_balanced()));
}

#[tokio::test]
async fn a_ledger_reloads_from_its_log() {
    let store = Arc::new(InMemoryEventStore::new());
    let first = ledger(Arc::clone(&store), 4).await;
    open_and_fund(&first, 12).await;
    let second = ledger(Arc::clone(&store), 4).await;
    for i in 1..=12 {
        assert_eq!(first.balance(wallet(i)).await, second.balance(wallet(i)).await);
    }
    assert_eq!(first.balance(SETTLEMENT).await, second.balance(SETTLEMENT).await);
    // The second instance knows the spread account, so it routes like the first.
    let id = TransferId::from_u128(77);
    second.transfer(NewTransfer::posted(id, wallet(3), SETTLEMENT, eur(5_00))).await.unwrap();
    // The first instance's copy of that book is behind: its next write there conflicts, catches
    // up and succeeds.
    let id = TransferId::from_u128(78);
    first.transfer(NewTransfer::posted(id, wallet(3), SETTLEMENT, eur(5_00))).await.unwrap();
    second.refresh().await.unwrap();
    let available = second.balance(wallet(3)).await.unwrap().available(AccountKind::Liability);
    assert_eq!(available, 90_00);
}

/// Two wallets whose home books differ.
fn wallets_in_different_books<S: EventStore>(ledger: &Ledger<S>) -> (AccountId, AccountId) {
    let a = wallet(1);
    let b = (2..100).map(wallet).find(|w| ledger.home_book(*w) != ledger.home_book(a)).unwrap();
    (a, b)
}

#[tokio::test]
async fn a_cross_book_transfer_runs_as_a_saga_through_clearing() {
    let ledger = ledger(InMemoryEventStore::new(), 4).await;
    open_and_fund(&ledger, 99).await;
    let (a, b) = wallets_in_different_books(&ledger);
    let id = TransferId::from_u128(5_000);
    let legs = ledger.transfer(NewTransfer::posted(id, a, b, eur(30_00))).await.unwrap();
    assert_eq!(legs.len(), 3);
    assert!(matches!(legs[0].phase, Phase::Pending { .. }));
    assert!(matches!(legs[2].phase, Phase::Post { .. }));
    assert_eq!(ledger.balance(a).await.unwrap().available(AccountKind::Liability), 70_00);
    assert_eq!(ledger.balance(b).await.unwrap().available(AccountKind::Liability), 130_00);
    let clearing = legs[0].credit_account;
    let clearing_balance = ledger.balance(clearing).await.unwrap();
    assert_eq!(clearing_balance.posted(AccountKind::Asset), 0, "clearing nets to zero");
    // A retry returns the same legs and moves nothing.
    let again = ledger.transfer(NewTransfer::posted(id, a, b, eur(30_00))).await.unwrap();
    assert_eq!(again, legs);
    assert_eq!(ledger.balance(a).await.unwrap().available(AccountKind::Liability), 70_00);
    assert!(ledger.trial_balance().await.values().all(|t| t.is_balanced()));
}

#[tokio::test]
async fn a_refused_credit_leg_voids_the_reservation() {
    let ledger = ledger(InMemoryEventStore::new(), 4).await;
    open_and_fund(&ledger, 99).await;
    let (a, b) = wallets_in_different_books(&ledger);
    ledger
        .transfer(NewTransfer::posted(TransferId::from_u128(6_000), b, SETTLEMENT, eur(100_00)))
        .await
        .unwrap();
    ledger.close_account(b).await.unwrap();
    let error = ledger
        .transfer(NewTransfer::posted(TransferId::from_u128(6_001), a, b, eur(10_00)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::Rejected(Rejection::AccountClosed { account }) if account == b)
    );
    let balance = ledger.balance(a).await.unwrap();
    assert_eq!((balance.debits_pending, balance.available(AccountKind::Liability)), (0, 100_00));
}

#[tokio::test]
async fn linked_batches_and_two_phase_transfers_must_stay_in_one_book() {
    let ledger = ledger(InMemoryEventStore::new(), 4).await;
    open_and_fund(&ledger, 99).await;
    let (a, b) = wallets_in_different_books(&ledger);
    let pending = NewTransfer::pending(TransferId::from_u128(7_000), a, b, eur(1_00), None);
    let error = ledger.transfer(pending).await.unwrap_err();
    assert!(matches!(error, LedgerError::Rejected(Rejection::CrossBook { .. })));
    let batch = vec![
        NewTransfer::posted(TransferId::from_u128(7_001), a, SETTLEMENT, eur(1_00)),
        NewTransfer::posted(TransferId::from_u128(7_002), b, SETTLEMENT, eur(1_00)),
    ];
    let error = ledger.linked(batch).await.unwrap_err();
    assert!(
        matches!(error, LedgerError::Rejected(Rejection::CrossBook { id }) if id == TransferId::from_u128(7_002))
    );
    // In one book, with the spread settlement account, both work.
    let hold =
        NewTransfer::pending(TransferId::from_u128(7_003), a, SETTLEMENT, eur(5_00), Some(60));
    ledger.transfer(hold).await.unwrap();
    let post = NewTransfer::post(
        TransferId::from_u128(7_004),
        TransferId::from_u128(7_003),
        Some(eur(2_00)),
    );
    ledger.transfer(post).await.unwrap();
    assert_eq!(ledger.balance(a).await.unwrap().available(AccountKind::Liability), 98_00);
}

/// Lets a number of appends to one stream through, then fails the rest (a crash between two
/// saga steps).
struct CrashingStore {
    inner: InMemoryEventStore,
    armed: std::sync::Mutex<Option<(StreamId, usize)>>,
}

impl CrashingStore {
    fn arm(&self, stream: StreamId, let_through: usize) {
        *self.armed.lock().unwrap() = Some((stream, let_through));
    }

    fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }
}

#[async_trait]
impl EventStore for CrashingStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> fintra_core::Result<AppendResult> {
        if let Some((target, let_through)) = self.armed.lock().unwrap().as_mut()
            && target == stream
        {
            if *let_through == 0 {
                return Err(Error::backend(std::io::Error::other("process died")));
            }
            *let_through -= 1;
        }
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> fintra_core::Result<Vec<RecordedEvent>> {
        self.inner.read_stream(stream, options).await
    }
    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> fintra_core::Result<Vec<RecordedEvent>> {
        self.inner.read_all(after, limit).await
    }
    async fn stream_version(&self, stream: &StreamId) -> fintra_core::Result<StreamVersion> {
        self.inner.stream_version(stream).await
    }
}

#[tokio::test]
async fn recovery_finishes_interrupted_sagas_either_way() {
    let store =
        Arc::new(CrashingStore { inner: InMemoryEventStore::new(), armed: Default::default() });
    let live = ledger(Arc::clone(&store), 4).await;
    open_and_fund(&live, 99).await;
    let (a, b) = wallets_in_different_books(&live);
    let available = |balance: Option<fintra_ledger::Balance>| {
        balance.unwrap().available(AccountKind::Liability)
    };
    // A first, complete saga opens the clearing account in every book.
    live.transfer(NewTransfer::posted(TransferId::from_u128(8_000), a, b, eur(30_00)))
        .await
        .unwrap();
    let debit_book = live.book_stream(live.home_book(a)).await.unwrap();
    let credit_book = live.book_stream(live.home_book(b)).await.unwrap();

    // Crash before the credit leg: recovery voids the reservation.
    store.arm(credit_book, 0);
    let failed = live.transfer(NewTransfer::posted(TransferId::from_u128(8_001), a, b, eur(10_00)));
    assert!(matches!(failed.await, Err(LedgerError::Store(_))));
    assert_eq!(live.balance(a).await.unwrap().debits_pending, 10_00);
    store.disarm();
    let restarted = ledger(Arc::clone(&store), 4).await;
    assert_eq!(restarted.recover().await.unwrap(), 1);
    let balance = restarted.balance(a).await.unwrap();
    assert_eq!((balance.debits_pending, balance.available(AccountKind::Liability)), (0, 70_00));
    assert_eq!(available(restarted.balance(b).await), 130_00);

    // Crash after the credit leg, before the post: recovery posts the reservation.
    store.arm(debit_book, 1);
    let failed =
        restarted.transfer(NewTransfer::posted(TransferId::from_u128(8_002), a, b, eur(10_00)));
    assert!(matches!(failed.await, Err(LedgerError::Store(_))));
    store.disarm();
    let restarted = ledger(Arc::clone(&store), 4).await;
    assert_eq!(restarted.recover().await.unwrap(), 1);
    assert_eq!(available(restarted.balance(a).await), 60_00);
    assert_eq!(available(restarted.balance(b).await), 140_00);
    assert!(restarted.trial_balance().await.values().all(|t| t.is_balanced()));
    assert_eq!(restarted.recover().await.unwrap(), 0, "nothing left to recover");
}

#[tokio::test]
async fn balances_as_of_an_effective_date_come_from_time_travel() {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap()));
    let repository =
        Repository::<LedgerBook, _>::new(InMemoryEventStore::new()).with_clock(clock.clone());
    let ledger = Ledger::open(repository, LEDGER, LedgerOptions::default()).await.unwrap();
    let opened = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    ledger
        .open_accounts(vec![
            NewAccount::new(SETTLEMENT, Asset::EUR, AccountKind::Asset).opened_at(opened),
            NewAccount::new(wallet(1), Asset::EUR, AccountKind::Liability).opened_at(opened),
        ])
        .await
        .unwrap();
    // Recorded on 1 March, effective on 15 January (a back-dated bank booking).
    let backdated = Utc.with_ymd_and_hms(2024, 1, 15, 0, 0, 0).unwrap();
    let t1 = NewTransfer::posted(TransferId::from_u128(1), SETTLEMENT, wallet(1), eur(40_00))
        .effective_at(backdated);
    ledger.transfer(t1).await.unwrap();
    clock.advance(Duration::days(1));
    ledger
        .transfer(NewTransfer::posted(TransferId::from_u128(2), SETTLEMENT, wallet(1), eur(2_00)))
        .await
        .unwrap();
    let stream = ledger.book_stream(0).await.unwrap();
    let as_of = |at| ledger.repository().load_as_of(&stream, AsOf::Occurred(at));
    let jan_10 = as_of(Utc.with_ymd_and_hms(2024, 1, 10, 0, 0, 0).unwrap()).await.unwrap();
    assert_eq!(jan_10.state.balance(wallet(1)).unwrap().credits_posted, 0);
    let feb_1 = as_of(Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap()).await.unwrap();
    assert_eq!(feb_1.state.balance(wallet(1)).unwrap().credits_posted, 40_00);
    let now = ledger.balance(wallet(1)).await.unwrap();
    assert_eq!(now.credits_posted, 42_00);
    // On the recorded timeline, 1 February knew nothing yet.
    let recorded = ledger
        .repository()
        .load_as_of(&stream, AsOf::Recorded(Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap()))
        .await
        .unwrap();
    assert!(recorded.state.balance(wallet(1)).is_none());
}

#[tokio::test]
async fn a_book_count_outside_the_bounds_is_refused() {
    let repository = Repository::<LedgerBook, _>::new(InMemoryEventStore::new());
    let error = Ledger::open(repository, LEDGER, LedgerOptions { books: 0, ..Default::default() })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }));
}
