//! A hostile tenant: its own login role, arbitrary SQL on its own connections.

use fintra_core::{
    Error, EventStore, EventStoreExt, ExpectedVersion, Position, Snapshot, SnapshotStore,
    StreamVersion, TenantId,
};
use sqlx::{Connection, PgConnection, Row};

use super::{Target, event_of, stream};
use crate::{EventLayout, PgEventStore, PgSnapshotStore};

/// Tenant B keeps data in every table; tenant A, logged in as its own bound role, then tries
/// everything a session can type: reading every fintra table, changing the settings and roles
/// that tenancy could key on, writing rows of B's tenant, moving B's stream heads, forging B's
/// snapshot, rebinding itself, creating objects, appending to B's stream and reusing B's ids,
/// holding a transaction open. Afterwards B's data is exactly as B left it, A never saw a row of
/// B, and the owner can find and end A's stalling transaction.
///
/// # Panics
/// When tenant A can read or change anything of tenant B; the message names the seed.
pub async fn hostile_tenant(target: &Target, seed: u64) {
    let owner = target.store();
    let a = target.tenant_store("tenant-a", 2).await;
    let b = target.tenant_store("tenant-b", 2).await;
    let (tenant_a, tenant_b) =
        (TenantId::new("tenant-a").expect("id"), TenantId::new("tenant-b").expect("id"));
    let b_events: Vec<_> = (1..=5).map(|n| event_of(&tenant_b, seed % 1_000 * 100 + n)).collect();
    b.append(&stream("b-account"), ExpectedVersion::NoStream, &b_events).await.expect("B appends");
    let b_second = [event_of(&tenant_b, seed % 1_000 * 100 + 60)];
    b.append(&stream("b-second"), ExpectedVersion::NoStream, &b_second).await.expect("B appends");
    let a_event = event_of(&tenant_a, seed % 1_000 * 100 + 50);
    a.append(&stream("a-account"), ExpectedVersion::NoStream, &[a_event]).await.expect("A appends");
    let single = owner.layout() == EventLayout::Single;
    if single {
        let b_snapshot = Snapshot {
            stream_id: stream("b-account"),
            version: StreamVersion(5),
            schema_version: 1,
            occurred_at: b_events[4].occurred_at,
            state: "{\"balance\":10}".into(),
        };
        PgSnapshotStore::new(b.pool().clone()).save(&b_snapshot).await.expect("B snapshots");
    }
    let before = fingerprint(&owner, seed).await;

    let mut conn = tenant_connection(target, "tenant-a", seed).await;
    raw_sql_attacks(&mut conn, target, single, seed).await;
    api_attacks(&a, &b_events, single, seed).await;
    stall_attack(&owner, target, seed).await;
    drop(conn);

    assert_eq!(fingerprint(&owner, seed).await, before, "seed {seed}: tenant B's data changed");
    let seen_by_a = fintra_core::testing::conformance::read_entire_log(&a, 100, 1).await;
    assert!(
        seen_by_a.iter().all(|e| e.metadata.tenant_id == tenant_a),
        "seed {seed}: tenant A read another tenant's events"
    );
    let b_stream = b.read_stream_to_vec(&stream("b-account"), 100).await.expect("B reads");
    assert_eq!(b_stream.len(), 5, "seed {seed}: B's stream");
}

/// A raw connection logged in as `tenant`'s bound role.
async fn tenant_connection(target: &Target, tenant: &str, seed: u64) -> PgConnection {
    let connect = target.connect.clone().username(&target.tenant_role(tenant));
    PgConnection::connect_with(&connect)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: tenant {tenant} cannot log in: {e}"))
}

/// Every tenant-data row as text, for before/after comparison.
async fn fingerprint(owner: &PgEventStore, seed: u64) -> Vec<String> {
    let mut tables = vec!["fintra_events", "fintra_streams", "fintra_tenant_roles"];
    if owner.layout() == EventLayout::Single {
        tables.push("fintra_snapshots");
    }
    let mut rows = Vec::new();
    for table in tables {
        let sql = format!("SELECT t::text FROM {table} t ORDER BY 1");
        let found = sqlx::query(&sql)
            .fetch_all(owner.pool())
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: read {table}: {e}"));
        rows.extend(found.iter().map(|r| format!("{table}: {}", r.get::<String, _>(0))));
    }
    rows
}

/// Statements the hostile session runs, each with what must come of it.
async fn raw_sql_attacks(conn: &mut PgConnection, target: &Target, single: bool, seed: u64) {
    let b_role = target.tenant_role("tenant-b");
    // Reading: only A's rows, whatever the session sets.
    for setup in ["", "SET fintra.tenant_id = 'tenant-b'", "RESET ROLE", "SET ROLE NONE"] {
        if !setup.is_empty() {
            sqlx::raw_sql(setup)
                .execute(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: {setup}: {e}"));
        }
        let mut tables = vec!["fintra_events", "fintra_streams"];
        if single {
            tables.push("fintra_snapshots");
        }
        for table in tables {
            let others: i64 =
                sqlx::query(&format!("SELECT count(*) FROM {table} WHERE tenant_id <> 'tenant-a'"))
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed}: count {table}: {e}"))
                    .get(0);
            assert_eq!(
                others, 0,
                "seed {seed}: after `{setup}` tenant A sees {others} foreign rows in {table}"
            );
        }
        let tenant: Option<String> = sqlx::query("SELECT fintra_session_tenant()")
            .fetch_one(&mut *conn)
            .await
            .expect("tenant")
            .get(0);
        assert_eq!(tenant.as_deref(), Some("tenant-a"), "seed {seed}: after `{setup}`");
        let pages: i64 = sqlx::query("SELECT count(*) FROM fintra_read_all(0, 10000, 100000000) WHERE tenant_id <> 'tenant-a'")
            .fetch_one(&mut *conn)
            .await
            .expect("read_all")
            .get(0);
        assert_eq!(pages, 0, "seed {seed}: the page reader leaked rows after `{setup}`");
    }
    let mut refused = vec![
        format!("SET ROLE \"{b_role}\""),
        format!("SET SESSION AUTHORIZATION \"{b_role}\""),
        "SET SESSION AUTHORIZATION postgres".to_owned(),
        "SELECT * FROM fintra_tenant_roles".to_owned(),
        "INSERT INTO fintra_tenant_roles VALUES (session_user, 'tenant-b')".to_owned(),
        "UPDATE fintra_tenant_roles SET tenant_id = 'tenant-b'".to_owned(),
        "DELETE FROM fintra_events".to_owned(),
        "DELETE FROM fintra_streams".to_owned(),
        "TRUNCATE fintra_events".to_owned(),
        "UPDATE fintra_events SET payload = ''".to_owned(),
        "ALTER TABLE fintra_events DISABLE ROW LEVEL SECURITY".to_owned(),
        "CREATE TABLE fintra_evil (x int)".to_owned(),
        "CREATE FUNCTION fintra_session_tenant(x int) RETURNS text LANGUAGE sql AS 'SELECT ''tenant-b'''".to_owned(),
        // Rows of B's tenant: refused by the policies' WITH CHECK.
        "INSERT INTO fintra_streams VALUES ('torture-forged', 'tenant-b', 1)".to_owned(),
        "INSERT INTO fintra_events (position, event_id, stream_id, stream_version, tenant_id, event_type, schema_version, occurred_at, actor, headers, content_type, payload) \
         VALUES ((pg_current_xact_id()::text::bigint << 20) + 1, gen_random_uuid(), 'torture-b-account', 6, 'tenant-b', 'Forged', 1, now(), 'system', '{}', 'application/json', '')".to_owned(),
    ];
    if single {
        refused.push("INSERT INTO fintra_snapshots VALUES ('torture-b-account', 5, 1, now(), '\\x00', now(), 'tenant-b')".to_owned());
        refused.push("INSERT INTO fintra_snapshots (stream_id, tenant_id, version, schema_version, occurred_at, state) VALUES ('torture-b-account', 'tenant-a', 5, 1, now(), '') ON CONFLICT (stream_id) DO UPDATE SET state = 'forged'".to_owned());
        // The same, after shadowing the head table with a temporary one (first on the path).
        refused.push("CREATE TEMP TABLE IF NOT EXISTS fintra_streams (stream_id text, tenant_id text, version bigint); \
                      INSERT INTO pg_temp.fintra_streams VALUES ('torture-b-second', 'tenant-a', 1); \
                      INSERT INTO fintra_snapshots (stream_id, tenant_id, version, schema_version, occurred_at, state) VALUES ('torture-b-second', 'tenant-a', 1, 1, now(), '') ON CONFLICT (stream_id) DO NOTHING".to_owned());
        // Filing a snapshot under A's own tenant for B's stream (it would block B's saves).
        refused.push("INSERT INTO fintra_snapshots (stream_id, tenant_id, version, schema_version, occurred_at, state) VALUES ('torture-b-second', 'tenant-a', 1, 1, now(), '') ON CONFLICT (stream_id) DO NOTHING".to_owned());
    }
    for sql in &refused {
        let outcome = sqlx::raw_sql(sql).execute(&mut *conn).await;
        assert!(outcome.is_err(), "seed {seed}: tenant A was allowed `{sql}`");
    }
    // Statements that run but must touch nothing of B.
    for sql in [
        "UPDATE fintra_streams SET version = version + 1000 WHERE stream_id = 'torture-b-account'",
        "UPDATE fintra_streams SET tenant_id = 'tenant-a' WHERE tenant_id = 'tenant-b'",
    ] {
        let done = sqlx::raw_sql(sql)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {sql}: {e}"));
        assert_eq!(done.rows_affected(), 0, "seed {seed}: `{sql}` changed B's rows");
    }
}

/// The same attacks through fintra's API, as tenant A.
async fn api_attacks(
    a: &PgEventStore,
    b_events: &[fintra_core::NewEvent],
    single: bool,
    seed: u64,
) {
    let tenant_a = TenantId::new("tenant-a").expect("id");
    let forged = event_of(&tenant_a, 9_000_000 + seed % 1_000);
    for expected in
        [ExpectedVersion::Any, ExpectedVersion::NoStream, ExpectedVersion::Exact(StreamVersion(5))]
    {
        let outcome = a.append(&stream("b-account"), expected, std::slice::from_ref(&forged)).await;
        let reveals = match &outcome {
            Err(Error::InvalidInput { field: "stream_id", .. }) => false,
            Err(Error::Conflict { actual, .. }) => *actual != StreamVersion::NONE,
            _ => true,
        };
        assert!(!reveals, "seed {seed}: an append to B's stream ({expected}) answered {outcome:?}");
    }
    let reused = fintra_core::NewEvent { metadata: forged.metadata.clone(), ..b_events[0].clone() };
    let outcome = a.append(&stream("a-fresh"), ExpectedVersion::Any, &[reused]).await;
    assert!(
        matches!(outcome, Err(Error::DuplicateEventId { .. })),
        "seed {seed}: reused id: {outcome:?}"
    );
    let b_read = a.read_stream_to_vec(&stream("b-account"), 100).await.expect("read");
    assert!(b_read.is_empty(), "seed {seed}: A read B's stream");
    assert_eq!(a.stream_version(&stream("b-account")).await.expect("version"), StreamVersion::NONE);
    let log = a.read_all(Position::START, 1_000).await.expect("read_all");
    assert!(
        log.iter().all(|e| e.metadata.tenant_id == tenant_a),
        "seed {seed}: A's log has B's events"
    );
    if single {
        let snapshots = PgSnapshotStore::new(a.pool().clone());
        assert_eq!(snapshots.load(&stream("b-account")).await.expect("load"), None, "seed {seed}");
        let forged = Snapshot {
            stream_id: stream("b-account"),
            version: StreamVersion(5),
            schema_version: 1,
            occurred_at: b_events[4].occurred_at,
            state: "{\"balance\":1000000}".into(),
        };
        let saved = snapshots.save(&forged).await;
        assert!(
            matches!(saved, Err(Error::InvalidInput { .. })),
            "seed {seed}: forged snapshot: {saved:?}"
        );
    }
}

/// Tenant A holds a writing transaction open (which holds back every gap-safe reader); the
/// owner finds it with `horizon_holders` and ends it.
async fn stall_attack(owner: &PgEventStore, target: &Target, seed: u64) {
    let mut stalling = tenant_connection(target, "tenant-a", seed).await;
    sqlx::raw_sql("BEGIN; SELECT pg_current_xact_id();")
        .execute(&mut stalling)
        .await
        .expect("begin");
    let role = target.tenant_role("tenant-a");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let holder = loop {
        let holders = owner.horizon_holders(0).await.expect("horizon holders");
        if let Some(holder) = holders.into_iter().find(|h| h.role == role) {
            break holder;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "seed {seed}: the stalling session is not listed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let ended: bool = sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(holder.pid)
        .fetch_one(owner.pool())
        .await
        .expect("terminate")
        .get(0);
    assert!(ended, "seed {seed}: the owner could not end the stalling session");
    assert!(
        sqlx::raw_sql("SELECT 1").execute(&mut stalling).await.is_err(),
        "seed {seed}: the session lives on"
    );
}
