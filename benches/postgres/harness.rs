//! Set-up shared by the PostgreSQL workloads: configuration, a fresh schema per run, data.

use std::time::Duration;

use fintra_core::{ContentType, EventMetadata, NewEvent, StreamId};
use fintra_store_postgres::{PgEventStore, PgStoreOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub(crate) struct Config {
    pub(crate) url: String,
    pub(crate) events: u64,
    pub(crate) streams: u64,
    pub(crate) runs: usize,
    pub(crate) commands: u64,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Config {
    pub(crate) fn from_env() -> Self {
        Self {
            url: std::env::var("FINTRA_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            events: env_u64("FINTRA_BENCH_EVENTS", 1_000_000),
            streams: env_u64("FINTRA_BENCH_STREAMS", 10_000),
            runs: usize::try_from(env_u64("FINTRA_BENCH_RUNS", 3)).unwrap_or(3),
            commands: env_u64("FINTRA_BENCH_COMMANDS", 20_000),
        }
    }
}

pub(crate) struct Bench<'a> {
    pub(crate) config: &'a Config,
    pub(crate) sync: bool,
    pub(crate) events: Vec<(StreamId, NewEvent)>,
}

pub(crate) fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

pub(crate) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Events shaped like imported bank transactions: ~120-byte JSON payloads, round-robin over
/// the streams, deterministic ids.
pub(crate) fn make_events(events: u64, streams: u64) -> Vec<(StreamId, NewEvent)> {
    let at = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(19_000);
    (0..events)
        .map(|n| {
            let stream = StreamId::new(format!("account-{}", n % streams)).expect("valid");
            let payload = format!(
                r#"{{"amount_minor":{},"currency":"GBP","merchant":"SQ *STARBUCKS #{}","category":"Food & Drink > Coffee"}}"#,
                (n % 10_000) + 1,
                n % 997
            );
            let event = NewEvent {
                event_id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | u128::from(n)),
                event_type: "TransactionImported".into(),
                schema_version: 1,
                occurred_at: at + chrono::Duration::seconds(i64::try_from(n).unwrap_or(0)),
                metadata: EventMetadata::default(),
                content_type: ContentType::json(),
                payload: payload.into(),
            };
            (stream, event)
        })
        .collect()
}

impl<'a> Bench<'a> {
    pub(crate) async fn new(config: &'a Config, sync: bool) -> Self {
        let events = make_events(config.events, config.streams);
        Self { config, sync, events }
    }

    fn connect_options(&self, schema: &str) -> PgConnectOptions {
        let sync = if self.sync { "on" } else { "off" };
        self.config
            .url
            .parse::<PgConnectOptions>()
            .expect("FINTRA_DATABASE_URL parses")
            .options([("search_path", schema), ("synchronous_commit", sync)])
    }

    /// Drops and recreates `schema`, migrated, and returns a store and pool on it.
    pub(crate) async fn fresh(&self, schema: &str) -> (PgEventStore, PgPool) {
        let mut admin = PgConnection::connect(&self.config.url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL unreachable at {}: {e}", self.config.url));
        sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"))
            .execute(&mut admin)
            .await
            .expect("recreate the bench schema");
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_with(self.connect_options(schema))
            .await
            .expect("connect");
        let options = PgStoreOptions {
            schema: Some(schema.into()),
            notify: false,
            ..PgStoreOptions::default()
        };
        let store = PgEventStore::from_pool(pool.clone(), &options).expect("options");
        store.migrate().await.expect("migrate");
        (store, pool)
    }
}
