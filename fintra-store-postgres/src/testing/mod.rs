//! Fresh, isolated PostgreSQL schemas for tests (feature `testing`).
//!
//! Each [`TestSchema`] is a new schema in the database named by `FINTRA_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), migrated, with a pool whose `search_path`
//! points at it. Schemas left by runs older than an hour are dropped on first use. When the
//! server is unreachable the helper panics with a message saying so: a test that needs
//! PostgreSQL fails, it is never skipped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool, Row};
use tokio::sync::OnceCell;

use crate::{PgEventStore, PgStoreOptions};

mod cluster;
pub mod torture;

pub use cluster::PrivateCluster;

/// The database tests use.
pub fn database_url() -> String {
    std::env::var("FINTRA_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);
static CLEANED: OnceCell<()> = OnceCell::const_new();
const STALE_AFTER_SECS: u64 = 3_600;

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Connects one admin connection, or panics with a clear message.
///
/// # Panics
/// When PostgreSQL is unreachable.
pub async fn admin_connection() -> PgConnection {
    let url = database_url();
    match PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(error) => panic!(
            "PostgreSQL is not reachable at {url}: {error}. The PostgreSQL tests need a real \
             server: run them through scripts/test.sh (which starts an installed server) or set \
             FINTRA_DATABASE_URL."
        ),
    }
}

/// Seconds since the epoch in a test object's name (`fintra_t_<secs>_…`).
fn created_at(name: &str) -> u64 {
    name.split('_').nth(2).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

async fn drop_stale_schemas(conn: &mut PgConnection) {
    // Tenant roles of old test schemas go first (a role owning objects cannot be dropped).
    let roles =
        sqlx::query("SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'fintra\\_t\\_%'")
            .fetch_all(&mut *conn)
            .await
            .expect("list test roles");
    for row in roles {
        let name: String = row.get(0);
        if unix_secs().saturating_sub(created_at(&name)) > STALE_AFTER_SECS {
            let _ =
                sqlx::raw_sql(&format!("DROP OWNED BY \"{name}\" CASCADE; DROP ROLE \"{name}\""))
                    .execute(&mut *conn)
                    .await;
        }
    }
    let rows = sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'fintra\\_t\\_%'")
        .fetch_all(&mut *conn)
        .await
        .expect("list test schemas");
    let now = unix_secs();
    for row in rows {
        let name: String = row.get("nspname");
        if now.saturating_sub(created_at(&name)) > STALE_AFTER_SECS {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// An isolated, migrated schema and a pool bound to it.
#[derive(Debug)]
pub struct TestSchema {
    /// The schema's name.
    pub name: String,
    /// A pool whose connections use the schema (`search_path`).
    pub pool: PgPool,
    /// Connect options for more connections to the schema.
    pub connect_options: PgConnectOptions,
}

impl TestSchema {
    /// Creates and migrates a fresh schema.
    ///
    /// # Panics
    /// When PostgreSQL is unreachable or the schema cannot be created.
    pub async fn new() -> Self {
        let mut admin = admin_connection().await;
        CLEANED.get_or_init(|| drop_stale_schemas(&mut admin)).await;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("fintra_t_{}_{}_{n}", unix_secs(), std::process::id());
        sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create a test schema");
        let options = PgStoreOptions {
            max_connections: 12,
            acquire_timeout_ms: 30_000,
            statement_timeout_ms: None,
            schema: Some(name.clone()),
            notify_channel: name.clone(),
            ..PgStoreOptions::default()
        };
        let connect_options =
            options.connect_options(&database_url()).expect("FINTRA_DATABASE_URL parses");
        let pool = options
            .pool_options()
            .expect("valid test options")
            .connect_lazy_with(connect_options.clone());
        let schema = Self { name, pool, connect_options };
        schema.store().migrate().await.expect("migrate the test schema");
        schema
    }

    /// Options for a store on this schema: defaults, with the schema's own notification channel
    /// (so parallel tests do not wake each other).
    pub fn options(&self) -> PgStoreOptions {
        PgStoreOptions {
            schema: Some(self.name.clone()),
            notify_channel: self.name.clone(),
            ..PgStoreOptions::default()
        }
    }

    /// A store on this schema.
    ///
    /// # Panics
    /// Never for a schema built by [`TestSchema::new`] (its name is a valid channel).
    pub fn store(&self) -> PgEventStore {
        PgEventStore::from_pool(self.pool.clone(), &self.options()).expect("valid test options")
    }

    /// [`TestSchema::options`] with group commit on (default [`GroupCommit`](crate::GroupCommit)).
    pub fn grouped_options(&self) -> PgStoreOptions {
        PgStoreOptions { group_commit: Some(crate::GroupCommit::default()), ..self.options() }
    }

    /// A store on this schema that groups concurrent appends.
    ///
    /// # Panics
    /// As [`TestSchema::store`].
    pub fn grouped_store(&self) -> PgEventStore {
        PgEventStore::from_pool(self.pool.clone(), &self.grouped_options())
            .expect("valid test options")
    }
}

impl TestSchema {
    /// This schema as a target of the torture suite.
    pub fn target(&self) -> torture::Target {
        torture::Target {
            options: self.options(),
            connect: self.connect_options.clone(),
            pool: self.pool.clone(),
            name: self.name.clone(),
        }
    }

    /// This schema as a target of the torture suite, with group commit on in every store.
    pub fn grouped_target(&self) -> torture::Target {
        torture::Target {
            options: self.grouped_options(),
            connect: self.connect_options.clone(),
            pool: self.pool.clone(),
            name: self.name.clone(),
        }
    }

    /// A store logged in as a role bound to `tenant`: see [`torture::Target::tenant_store`].
    ///
    /// # Panics
    /// When the role cannot be created or bound.
    pub async fn tenant_store(&self, tenant: &str, max_connections: u32) -> PgEventStore {
        self.target().tenant_store(tenant, max_connections).await
    }
}

/// A store on a fresh schema: what the conformance macro needs.
///
/// # Panics
/// When PostgreSQL is unreachable.
pub async fn fresh_store() -> PgEventStore {
    TestSchema::new().await.store()
}

/// A store with group commit on, on a fresh schema.
///
/// # Panics
/// When PostgreSQL is unreachable.
pub async fn fresh_grouped_store() -> PgEventStore {
    TestSchema::new().await.grouped_store()
}
