//! Tenant isolation of the PostgreSQL key store under row-level security, with non-owner roles
//! bound to two tenants (the same setup as the store's hostile-tenant test): a tenant's session
//! neither sees nor changes another tenant's keys, whatever it asks, and a guarded store of
//! tenant A cannot open tenant B's sealed events.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::sync::Arc;

use bytes::Bytes;
use fintra_core::testing::conformance::event;
use fintra_core::{EventStore, ExpectedVersion, Position, StreamId, TenantId};
use fintra_guard::keys::postgres::PgKeyStore;
use fintra_guard::{Guard, GuardedStore, KeyState, KeyStore, LocalKeyProvider, SubjectId};
use fintra_store_postgres::testing::TestSchema;

fn guard_on(pool: sqlx::PgPool) -> Arc<Guard> {
    Arc::new(Guard::new(Arc::new(LocalKeyProvider::new([3; 32])), Arc::new(PgKeyStore::new(pool))))
}

#[tokio::test]
async fn a_tenant_role_sees_and_changes_only_its_own_keys() {
    let schema = TestSchema::new().await;
    let owner_keys = PgKeyStore::new(schema.pool.clone());
    owner_keys.migrate().await.unwrap();
    let target = schema.target();
    let a_store = target.tenant_store("tenant-a", 2).await;
    let b_store = target.tenant_store("tenant-b", 2).await;
    for tenant in ["tenant-a", "tenant-b"] {
        owner_keys.grant_to(&target.tenant_role(tenant)).await.unwrap();
    }
    let (ta, tb) = (TenantId::new("tenant-a").unwrap(), TenantId::new("tenant-b").unwrap());
    let stream = |n: u128| StreamId::for_aggregate("Profile", uuid::Uuid::from_u128(n)).unwrap();
    // Each tenant seals one profile through its own role.
    let a = GuardedStore::new(a_store.clone(), guard_on(a_store.pool().clone()));
    let b = GuardedStore::new(b_store.clone(), guard_on(b_store.pool().clone()));
    let mut ea = event(1);
    ea.metadata.tenant_id = ta.clone();
    ea.payload = Bytes::from_static(b"{\"secret\":\"a\"}");
    let mut eb = event(2);
    eb.metadata.tenant_id = tb.clone();
    eb.payload = Bytes::from_static(b"{\"secret\":\"b\"}");
    a.append(&stream(1), ExpectedVersion::NoStream, &[ea]).await.unwrap();
    b.append(&stream(2), ExpectedVersion::NoStream, &[eb]).await.unwrap();

    let a_keys = PgKeyStore::new(a_store.pool().clone());
    let b_subject = SubjectId::new(stream(2).as_str()).unwrap();
    // Asking for B's key with B's tenant id, from A's role: the policy keys on the login role.
    assert_eq!(a_keys.get(&tb, &b_subject).await.unwrap(), None, "A sees no key of B");
    let shred = a_keys.shred(&tb, &b_subject, chrono::DateTime::UNIX_EPOCH).await;
    assert!(matches!(shred, Ok(false) | Err(_)), "A cannot erase B's key: {shred:?}");
    let b_keys = PgKeyStore::new(b_store.pool().clone());
    assert!(
        matches!(b_keys.get(&tb, &b_subject).await.unwrap(), Some(KeyState::Active(_))),
        "B's key is intact"
    );
    // Raw SQL from A's role: zero rows of B, and no way to write one.
    let visible: i64 =
        sqlx::query_scalar("SELECT count(*) FROM fintra_subject_keys WHERE tenant_id = 'tenant-b'")
            .fetch_one(a_store.pool())
            .await
            .unwrap();
    assert_eq!(visible, 0);
    let forged = sqlx::query("INSERT INTO fintra_subject_keys (tenant_id, subject, created_at, shredded_at) VALUES ('tenant-b', 'x', now(), now())")
        .execute(a_store.pool())
        .await;
    assert!(forged.is_err(), "the policy refuses rows of another tenant");
    // A reads only its own events, and opens them.
    let seen = a.read_all(Position::START, 10).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].payload, Bytes::from_static(b"{\"secret\":\"a\"}"));
}
