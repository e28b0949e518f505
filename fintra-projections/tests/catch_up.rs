//! A catch-up applies every event committed before it began, including events a gap-safe read
//! holds back while an older transaction is open somewhere on the server; it does not return
//! without them.

#![allow(clippy::unwrap_used, reason = "a test")]

use std::sync::Arc;
use std::time::Duration;

use fintra_core::testing::conformance::{event, stream};
use fintra_core::{EventStore, ExpectedVersion, Position, RecordedEvent};
use fintra_projections::{
    MemoryProjection, MemorySink, ProjectionError, ProjectionRunner, RunnerOptions,
};
use fintra_store_postgres::testing::TestSchema;
use sqlx::Connection;

#[derive(Debug, Default)]
struct Positions;

impl MemoryProjection for Positions {
    fn name(&self) -> &str {
        "positions"
    }
    fn handles(&self, _event_type: &str) -> bool {
        true
    }
    fn apply(&mut self, _event: &RecordedEvent) -> Result<(), ProjectionError> {
        Ok(())
    }
    fn forget(&mut self, _subject: &str) {
        // Nothing personal is kept.
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_waits_for_events_an_older_open_transaction_holds_back() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    store.append(&stream("before"), ExpectedVersion::NoStream, &[event(1)]).await.unwrap();
    // An older transaction, holding a transaction id, open on the same server: any session's
    // (another tenant's, another test's) holds the gap-safe bound back.
    let mut older = sqlx::PgConnection::connect_with(&schema.connect_options).await.unwrap();
    sqlx::query("BEGIN").execute(&mut older).await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()").execute(&mut older).await.unwrap();
    store.append(&stream("after"), ExpectedVersion::NoStream, &[event(2), event(3)]).await.unwrap();

    let visible = store.read_all(Position(0), 100).await.unwrap();
    assert_eq!(visible.len(), 1, "the page read is gap-safe: the later append waits");
    assert!(store.committed_head().await.unwrap() > Some(visible[0].position));

    let runner = ProjectionRunner::new(
        Arc::new(store.clone()),
        RunnerOptions { poll_interval: Duration::from_millis(50), ..RunnerOptions::default() },
    );
    let catch_up = tokio::spawn(async move {
        let mut sink = MemorySink::new(Positions);
        runner.catch_up(&mut sink).await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!catch_up.is_finished(), "the catch-up returned without the held-back events");

    sqlx::query("COMMIT").execute(&mut older).await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(10), catch_up).await.unwrap().unwrap();
    assert_eq!((report.read, report.applied), (3, 3));
    assert_eq!(Some(report.checkpoint), store.committed_head().await.unwrap());
}
