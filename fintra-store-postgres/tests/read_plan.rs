//! The catch-up read stays an index range scan on a table the planner knows nothing about.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]
#![allow(clippy::print_stdout, reason = "the test prints what it measured")]

use std::time::Instant;

use fintra_core::limits::READ_PAGE_BYTES_MAX;
use fintra_core::{EventStore, Position};
use fintra_store_postgres::testing::TestSchema;
use serde_json::Value;
use sqlx::Row;

const EVENTS: i64 = 1_000_000;

/// Buffers and temporary blocks of the top plan node of an `EXPLAIN (ANALYZE, BUFFERS, FORMAT
/// JSON)`: (shared hit + read, temp read + written). A function scan counts what the function's
/// own query touched.
fn buffers(plan: &Value) -> (i64, i64) {
    let node = &plan[0]["Plan"];
    let get = |key: &str| node[key].as_i64().unwrap_or(0);
    (
        get("Shared Hit Blocks") + get("Shared Read Blocks"),
        get("Temp Read Blocks") + get("Temp Written Blocks"),
    )
}

/// Regression test: a catch-up page on a never-analysed table went quadratic.
///
/// Symptom: after a bulk import (or a crash that reset the statistics counters) one page of
/// `read_all` took 436 ms and 95 MB of temporary files instead of 2.3 ms, and a full read of
/// 1M events took 23–32 s instead of 2.3 s.
/// Cause: the upper bound on `pg_snapshot_xmin` cannot be estimated, so on a table without
/// statistics the planner chose a bitmap scan and an on-disk sort of every remaining row.
/// Fix: `fintra_read_all` limits the page on `position` alone, which the planner can estimate,
/// and applies the snapshot bound after the limit; here a page must touch a few hundred blocks
/// and no temporary file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_page_is_an_index_range_scan_on_a_never_analysed_table() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let mut conn = schema.pool.acquire().await.unwrap();
    without_autovacuum(&mut conn).await;
    write_events(&mut conn, 0, EVENTS).await;
    let analysed: i64 = sqlx::query(
        "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() \
         AND tablename = 'fintra_events'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
    .get(0);
    assert_eq!(analysed, 0, "the table must have no statistics for this test");
    assert_pages_are_range_scans(&mut conn).await;
    // For comparison (printed, not asserted): a page as a plain query with the snapshot bound
    // beside the position bound, planned freely.
    let deep = position_at(&mut conn, EVENTS * 9 / 10).await;
    let free: Value = sqlx::query(&format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM fintra_events \
         WHERE position > {deep} \
           AND position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20) \
         ORDER BY position LIMIT 1000"
    ))
    .fetch_one(&mut *conn)
    .await
    .unwrap()
    .get(0);
    println!("plain query of the same page: {} (blocks, temp blocks)", {
        let (b, t) = buffers(&free);
        format!("{b}, {t}; {}", free[0]["Plan"]["Node Type"])
    });
    drop(conn);

    read_everything_page_by_page(&store).await;
}

/// The same with statistics that lie: analysed when the table held a thousand events, then a
/// million more written (a bulk import after the last autovacuum).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_page_is_an_index_range_scan_with_stale_statistics() {
    let schema = TestSchema::new().await;
    let mut conn = schema.pool.acquire().await.unwrap();
    without_autovacuum(&mut conn).await;
    write_events(&mut conn, 0, 1_000).await;
    sqlx::raw_sql("ANALYZE fintra_events").execute(&mut *conn).await.unwrap();
    write_events(&mut conn, 1_000, EVENTS).await;
    assert_pages_are_range_scans(&mut conn).await;
}

async fn without_autovacuum(conn: &mut sqlx::PgConnection) {
    sqlx::raw_sql(
        "ALTER TABLE fintra_events SET (autovacuum_enabled = false, \
         toast.autovacuum_enabled = false)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
}

/// The position of the event `offset` events into the log.
async fn position_at(conn: &mut sqlx::PgConnection, offset: i64) -> i64 {
    sqlx::query("SELECT position FROM fintra_events ORDER BY position OFFSET $1 LIMIT 1")
        .bind(offset)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0)
}

/// The first page, and a page deep in the log (90% of the rows before it, 10% after), each
/// touch a few hundred blocks and no temporary file.
async fn assert_pages_are_range_scans(conn: &mut sqlx::PgConnection) {
    let total: i64 = sqlx::query("SELECT count(*) FROM fintra_events")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
    let deep = position_at(conn, total * 9 / 10).await;
    for (after, label) in [(0, "first page"), (deep, "a page at 90%")] {
        let plan: Value = sqlx::query(&format!(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) \
             SELECT * FROM fintra_read_all({after}, 1000, {READ_PAGE_BYTES_MAX})"
        ))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
        let (blocks, temp) = buffers(&plan);
        println!("{label}: {blocks} blocks, {temp} temporary blocks");
        assert!(blocks < 500, "{label}: the page touched {blocks} blocks: {plan}");
        assert_eq!(temp, 0, "{label}: the page spilled to temporary files: {plan}");
    }
}

/// Events `from..to` in one transaction, written server-side (the read is under test, not the
/// import): 1,000 streams, positions in the transaction's range.
async fn write_events(conn: &mut sqlx::PgConnection, from: i64, to: i64) {
    sqlx::raw_sql(&format!(
        "BEGIN;
         INSERT INTO fintra_events (position, event_id, stream_id, stream_version, tenant_id,
             event_type, schema_version, occurred_at, actor, headers, content_type, payload)
         SELECT (pg_current_xact_id()::text::bigint << 20) + g, gen_random_uuid(),
                'plan-' || (g % 1000), g / 1000 + 1, 'default', 'Planned', 1, now(), 'system',
                '{{}}', 'application/json', convert_to(repeat('x', 120), 'UTF8')
         FROM generate_series({from}, {last}) AS g;
         INSERT INTO fintra_streams SELECT 'plan-' || s, 'default', {last} / 1000 + 1
         FROM generate_series(0, 999) AS s
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version;
         COMMIT;",
        last = to - 1
    ))
    .execute(&mut *conn)
    .await
    .unwrap();
}

/// The whole log, page by page: every event once, pages of equal cost (printed).
async fn read_everything_page_by_page(store: &fintra_store_postgres::PgEventStore) {
    let started = Instant::now();
    let (mut after, mut read, mut slowest) = (Position::START, 0i64, 0u128);
    loop {
        let page_started = Instant::now();
        let page = store.read_all(after, 10_000).await.unwrap();
        slowest = slowest.max(page_started.elapsed().as_millis());
        let Some(last) = page.last() else { break };
        after = last.position;
        read += i64::try_from(page.len()).unwrap();
    }
    assert_eq!(read, EVENTS);
    println!(
        "read {read} events in {:?} (slowest page of 10,000: {slowest} ms)",
        started.elapsed()
    );
}
