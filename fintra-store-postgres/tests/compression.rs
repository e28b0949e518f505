//! Large payloads are compressed with lz4 where the server has it (migration 0003), and read
//! back byte for byte whatever compression wrote them.

use fintra_core::testing::conformance::{event, stream};
use fintra_core::{EventStore, EventStoreExt, ExpectedVersion, NewEvent};
use fintra_store_postgres::testing::TestSchema;
use sqlx::Row;

/// True when the server can compress with lz4 (built `--with-lz4`, as the Debian, Ubuntu and
/// RHEL packages are): asked by trying, on a temporary table.
async fn server_has_lz4(schema: &TestSchema) -> bool {
    let mut conn = schema.pool.acquire().await.expect("a connection");
    sqlx::query("CREATE TEMP TABLE lz4_probe (b bytea)")
        .execute(&mut *conn)
        .await
        .expect("create a probe table");
    let probe = sqlx::query("ALTER TABLE lz4_probe ALTER COLUMN b SET COMPRESSION lz4")
        .execute(&mut *conn)
        .await;
    sqlx::query("DROP TABLE lz4_probe").execute(&mut *conn).await.expect("drop the probe table");
    match probe {
        Ok(_) => true,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("0A000") => false,
        Err(e) => panic!("probing lz4: {e}"),
    }
}

/// A JSON payload of `records` records, compressible as real ones are (repeated keys, varying
/// values).
fn json_payload(records: u64) -> Vec<u8> {
    let items: Vec<String> = (0..records)
        .map(|i| {
            format!(
                r#"{{"id":"{:032x}","debit":"{:032x}","amount":{{"asset":"EUR","minor":{}}},"balance":{}}}"#,
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                i.wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
                i % 977,
                i * 131
            )
        })
        .collect();
    format!("[{}]", items.join(",")).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payloads_are_lz4_compressed_and_read_back_exactly() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let columns = sqlx::query(
        "SELECT attname::text AS name, attcompression::text AS method FROM pg_attribute \
         WHERE (attrelid, attname) IN (('fintra_events'::regclass, 'payload'), \
                                       ('fintra_snapshots'::regclass, 'state'))",
    )
    .fetch_all(&schema.pool)
    .await
    .unwrap();
    assert_eq!(columns.len(), 2);
    let lz4 = server_has_lz4(&schema).await;
    for column in &columns {
        let (name, method): (String, String) = (column.get("name"), column.get("method"));
        // `l` is lz4; an empty method is the server's default (pglz) where lz4 is missing.
        let wanted = if lz4 { "l" } else { "" };
        assert_eq!(method, wanted, "{name}: compression {method:?}, server has lz4: {lz4}");
    }

    let payload = json_payload(3_000);
    assert!(payload.len() > 200_000, "a payload of {} bytes", payload.len());
    let big = NewEvent { payload: payload.clone().into(), ..event(1) };
    store.append(&stream("compressed"), ExpectedVersion::NoStream, &[big]).await.unwrap();
    let read = store.read_stream_to_vec(&stream("compressed"), 10).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].payload.as_ref(), payload.as_slice());

    let stored = sqlx::query(
        "SELECT pg_column_compression(payload) AS method, pg_column_size(payload) AS size \
         FROM fintra_events",
    )
    .fetch_one(&schema.pool)
    .await
    .unwrap();
    let method: Option<String> = stored.get("method");
    let size: i32 = stored.get("size");
    assert_eq!(method.as_deref(), Some(if lz4 { "lz4" } else { "pglz" }));
    assert!(
        usize::try_from(size).unwrap() * 2 < payload.len(),
        "{size} bytes stored for {}",
        payload.len()
    );
}
