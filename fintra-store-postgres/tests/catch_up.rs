//! `PgEventStore::read_all_pages`: the pipelined catch-up reader returns exactly the pages of
//! `read_all`, ends where a reader has caught up, and refuses bad limits.

use fintra_core::testing::conformance::{event, stream};
use fintra_core::{Error, EventStore, Position, RecordedEvent};
use fintra_store_postgres::testing::TestSchema;
use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_pages_are_the_pages_of_read_all() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let batch: Vec<_> =
        (0..25_000u64).map(|n| (stream(&format!("s{}", n % 97)), event(n))).collect();
    store.bulk_import(&batch, |_| {}).await.expect("import");

    let mut expected: Vec<RecordedEvent> = Vec::new();
    let mut after = Position::START;
    loop {
        let page = store.read_all(after, 1_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        expected.extend(page);
    }
    assert_eq!(expected.len(), 25_000);

    let pages: Vec<Vec<RecordedEvent>> =
        store.read_all_pages(Position::START, 1_000).map(Result::unwrap).collect().await;
    assert!(pages.iter().all(|p| !p.is_empty() && p.len() <= 1_000));
    let got: Vec<RecordedEvent> = pages.into_iter().flatten().collect();
    assert_eq!(got, expected);

    // From the middle, and from beyond the end.
    let middle = expected[12_345].position;
    let rest: Vec<RecordedEvent> =
        store.read_all_pages(middle, 777).map(Result::unwrap).collect::<Vec<_>>().await.concat();
    assert_eq!(rest, expected[12_346..]);
    let last = expected.last().unwrap().position;
    assert_eq!(store.read_all_pages(last, 10).count().await, 0);
    assert_eq!(store.read_all_pages(Position(u64::MAX), 10).count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_limit_ends_the_stream_with_an_error_and_dropping_it_early_is_harmless() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    for limit in [0, fintra_core::limits::READ_PAGE_EVENTS_MAX + 1] {
        let items: Vec<_> = store.read_all_pages(Position::START, limit).collect().await;
        assert!(
            matches!(
                items[..],
                [Err(Error::InvalidInput { .. }) | Err(Error::LimitExceeded { .. })]
            ),
            "{items:?}"
        );
    }
    let batch: Vec<_> = (0..3_000u64).map(|n| (stream("one"), event(n))).collect();
    store.bulk_import(&batch, |_| {}).await.expect("import");
    // Take one page and drop the reader while the next one is in flight, many times over: the
    // pool keeps working (an aborted fetch closes its connection instead of pooling it).
    for _ in 0..20 {
        let mut pages = Box::pin(store.read_all_pages(Position::START, 100));
        assert_eq!(pages.next().await.unwrap().unwrap().len(), 100);
    }
    assert_eq!(store.read_all(Position::START, 10).await.unwrap().len(), 10);
}
