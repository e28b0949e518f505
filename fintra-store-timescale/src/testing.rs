//! Fresh warm-store schemas for tests (feature `testing`).
//!
//! [`fresh_store`] creates a new schema in the PostgreSQL named by `FINTRA_DATABASE_URL` (native
//! partitions there). [`timescaledb_url`] names the TimescaleDB test server (a PGlite build
//! started by `scripts/timescale.sh`), which serves one session at a time: tests on it share one
//! single-connection pool and reset one schema between properties ([`TimescaleTestDb`]). A
//! missing server panics with a message saying so: such tests fail, they are never skipped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

use crate::{TimescaleEventStore, TimescaleStoreOptions};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Options for tests: one-day partitions, a generous acquire timeout, notifications on the
/// schema's own channel.
pub fn options(schema: &str) -> TimescaleStoreOptions {
    let mut options = TimescaleStoreOptions::default();
    options.store.schema = Some(schema.to_owned());
    options.store.notify_channel = schema.to_owned();
    options.store.acquire_timeout_ms = 60_000;
    // Day-wide partitions, so tests can age data across several of them.
    options.partition_interval = chrono::TimeDelta::days(1);
    options
}

/// A new, empty schema on the test PostgreSQL and a pool bound to it: `(name, pool)`.
///
/// # Panics
/// When PostgreSQL is unreachable.
pub async fn fresh_schema() -> (String, PgPool) {
    let (name, pool, _) = fresh_schema_with_options().await;
    (name, pool)
}

/// [`fresh_schema`], with the connect options of the pool (fintra's release check included).
async fn fresh_schema_with_options() -> (String, PgPool, PgConnectOptions) {
    let mut admin = fintra_store_postgres::testing::admin_connection().await;
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // The `fintra_t_<secs>_` prefix lets the hot store's helper drop stale test schemas.
    let name = format!("fintra_t_{secs}_{}_w{n}", std::process::id());
    sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create a test schema");
    let mut store = options(&name).store;
    store.max_connections = 12;
    store.statement_timeout_ms = None;
    let connect = store
        .connect_options(&fintra_store_postgres::testing::database_url())
        .expect("FINTRA_DATABASE_URL parses");
    let pool = store.pool_options().expect("valid options").connect_lazy_with(connect.clone());
    (name, pool, connect)
}

/// A migrated warm store on a fresh schema, and the schema as a target of the hot store's
/// torture suite (the warm store shares its append path).
///
/// # Panics
/// When PostgreSQL is unreachable or migration fails.
pub async fn fresh_target() -> (TimescaleEventStore, fintra_store_postgres::testing::torture::Target)
{
    let (name, pool, connect) = fresh_schema_with_options().await;
    let options = options(&name);
    let store = TimescaleEventStore::from_pool(pool.clone(), options).await.expect("detect layout");
    store.migrate().await.expect("migrate the warm schema");
    let mut log_options = store.options.store.clone();
    log_options.layout = fintra_store_postgres::EventLayout::Partitioned;
    let target = fintra_store_postgres::testing::torture::Target {
        options: log_options,
        connect,
        pool,
        name,
    };
    (store, target)
}

/// A migrated warm store (native partitions) on a fresh schema.
///
/// # Panics
/// When PostgreSQL is unreachable or migration fails.
pub async fn fresh_store() -> TimescaleEventStore {
    let (name, pool) = fresh_schema().await;
    let store = TimescaleEventStore::from_pool(pool, options(&name)).await.expect("detect layout");
    store.migrate().await.expect("migrate the warm schema");
    store
}

/// The TimescaleDB test server: `FINTRA_TIMESCALE_URL`, default
/// `postgres://postgres@127.0.0.1:5440/postgres?sslmode=disable`.
pub fn timescaledb_url() -> String {
    std::env::var("FINTRA_TIMESCALE_URL").unwrap_or_else(|_| {
        "postgres://postgres@127.0.0.1:5440/postgres?sslmode=disable".to_owned()
    })
}

/// The schema [`TimescaleTestDb`] resets.
pub const TIMESCALE_TEST_SCHEMA: &str = "fintra_warm_test";

/// The single-session TimescaleDB test server: one pool of one connection.
#[derive(Debug)]
pub struct TimescaleTestDb {
    /// The pool (one connection; `search_path` is [`TIMESCALE_TEST_SCHEMA`]).
    pub pool: PgPool,
}

impl TimescaleTestDb {
    /// Connects, or panics saying how to start the server.
    ///
    /// # Panics
    /// When the server is unreachable or lacks TimescaleDB.
    pub async fn connect() -> Self {
        let url = timescaledb_url();
        let connect = url.parse::<PgConnectOptions>().expect("FINTRA_TIMESCALE_URL parses");
        // The server ignores start-up options and keeps one session state for every client
        // (prepared statements and settings of earlier clients included): reset it and set the
        // schema with statements on each connect.
        let pool = match PgPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("DISCARD ALL").await?;
                    conn.execute(format!("SET search_path TO {TIMESCALE_TEST_SCHEMA}").as_str())
                        .await?;
                    conn.execute("SET client_min_messages TO warning").await?;
                    Ok(())
                })
            })
            .acquire_timeout(Duration::from_secs(120))
            .connect_with(connect)
            .await
        {
            Ok(pool) => pool,
            Err(error) => panic!(
                "the TimescaleDB test server is not reachable at {url}: {error}. Start it with \
                 scripts/timescale.sh (scripts/test.sh does), or set FINTRA_TIMESCALE_URL."
            ),
        };
        let version: Option<String> =
            sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
                .fetch_optional(&pool)
                .await
                .expect("query pg_extension");
        assert!(version.is_some(), "the server at {url} has no timescaledb extension");
        Self { pool }
    }

    /// Drops and recreates the test schema, then returns a migrated store on it.
    ///
    /// # Panics
    /// When the server fails.
    pub async fn fresh_store(&self) -> TimescaleEventStore {
        sqlx::raw_sql(&format!(
            "DROP SCHEMA IF EXISTS {TIMESCALE_TEST_SCHEMA} CASCADE; \
             CREATE SCHEMA {TIMESCALE_TEST_SCHEMA};"
        ))
        .execute(&self.pool)
        .await
        .expect("reset the TimescaleDB test schema");
        let mut options = options(TIMESCALE_TEST_SCHEMA);
        options.store.max_connections = 1;
        let store = TimescaleEventStore::from_pool(self.pool.clone(), options)
            .await
            .expect("detect layout");
        store.migrate().await.expect("migrate the warm schema on TimescaleDB");
        store
    }
}
