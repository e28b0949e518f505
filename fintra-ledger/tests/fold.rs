//! Replaying a book from a log it cannot have written.

#![allow(clippy::unwrap_used, reason = "test code")]

use fintra_core::{
    Asset, Error, EventMetadata, EventStore, EventStoreExt, ExpectedVersion, InMemoryEventStore,
    Money, NewEvent, Repository,
};
use fintra_ledger::{
    AccountId, AccountKind, Command, LedgerBook, NewAccount, NewTransfer, TransferId,
};

/// Regression test: the ledger fold skipped events it could not apply.
///
/// Symptom: replaying a book whose log held a `Transferred` event between accounts the book
/// did not have (or a lapse of a reservation that was not open) returned a state without it
/// and no error: a silent hole in the books.
/// Cause: `LedgerBook::apply` ignored a fold failure, and `apply` cannot return one.
/// Fix: `Aggregate::try_apply`, which the repository folds stored events through; the ledger
/// reports such an event as `Corrupted`, naming the stream, version and transfer.
#[tokio::test]
async fn a_transfer_the_book_cannot_fold_is_corrupted_not_skipped() {
    let store = InMemoryEventStore::new();
    let books = Repository::<LedgerBook, _>::new(store.clone());
    let (source, target) = (
        books.stream_id(uuid::Uuid::from_u128(1)).unwrap(),
        books.stream_id(uuid::Uuid::from_u128(2)).unwrap(),
    );
    let (wallet, cash) = (AccountId::from_u128(1), AccountId::from_u128(2));
    let meta = EventMetadata::default();
    let open = Command::OpenAccounts(vec![
        NewAccount::new(wallet, Asset::EUR, AccountKind::Liability),
        NewAccount::new(cash, Asset::EUR, AccountKind::Asset),
    ]);
    books.execute(&source, &open, &meta).await.unwrap();
    let top_up =
        NewTransfer::posted(TransferId::from_u128(9), cash, wallet, Money::new(10_00, Asset::EUR));
    books.execute(&source, &Command::Transfer(top_up), &meta).await.unwrap();

    // Copy only the transfer into a book that never opened those accounts.
    let log = store.read_stream_to_vec(&source, 10).await.unwrap();
    let transferred = log.last().unwrap();
    let copied = NewEvent {
        event_id: uuid::Uuid::from_u128(77),
        event_type: transferred.event_type.clone(),
        schema_version: transferred.schema_version,
        occurred_at: transferred.occurred_at,
        metadata: EventMetadata::default(),
        content_type: transferred.content_type.clone(),
        payload: transferred.payload.clone(),
    };
    store.append(&target, ExpectedVersion::NoStream, &[copied]).await.unwrap();
    let loaded = books.load(&target).await;
    let Err(Error::Corrupted { reason }) = loaded else { panic!("expected Corrupted: {loaded:?}") };
    assert!(reason.contains("version 1") && reason.contains(&target.to_string()), "{reason}");
    assert!(books.load(&source).await.is_ok(), "the real book still loads");
}
