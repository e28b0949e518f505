//! The physical limit of the same server, measured with `pgbench` in the same run: what
//! PostgreSQL itself does per second for the statement shapes an event store needs, into a table
//! with fintra-like indexes (position, event id, stream + version).

use std::process::Command;

use sqlx::{Connection, PgConnection};

/// The three shapes of the issue: one one-event insert per transaction, the peers' load +
/// insert, and one insert of 100 events per transaction.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    OneInsert,
    LoadInsert,
    Batch100,
    /// Where fintra's append spends: the insert into a table without indexes,
    BareInsert,
    /// the stream's head-row update alone,
    HeadUpdate,
    /// and fintra's statement shape: head-row update and event insert in one statement.
    HeadAndInsert,
}

impl Shape {
    pub(crate) const ALL: [Self; 3] = [Self::OneInsert, Self::LoadInsert, Self::Batch100];
    pub(crate) const PARTS: [Self; 3] = [Self::BareInsert, Self::HeadUpdate, Self::HeadAndInsert];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::OneInsert => "one INSERT of 1 event per transaction",
            Self::LoadInsert => "BEGIN; SELECT; INSERT; COMMIT",
            Self::Batch100 => "one INSERT of 100 events per transaction (events/s)",
            Self::BareInsert => "one INSERT of 1 event into a table without indexes",
            Self::HeadUpdate => "the head-row UPDATE alone",
            Self::HeadAndInsert => "head-row UPDATE + INSERT in one statement (fintra's shape)",
        }
    }

    /// Events per transaction.
    fn events(self) -> f64 {
        match self {
            Self::Batch100 => 100.0,
            _ => 1.0,
        }
    }

    fn script(self) -> &'static str {
        match self {
            Self::OneInsert => {
                "INSERT INTO peer_pgbench.events (event_id, stream_id, stream_version, payload) \
                 VALUES (gen_random_uuid(), gen_random_uuid()::text, 1, '{\"amount\": 100}');\n"
            }
            Self::LoadInsert => {
                "\\set s random(1, 10000)\n\
                 BEGIN;\n\
                 SELECT max(stream_version) FROM peer_pgbench.events WHERE stream_id = 'a' || :s;\n\
                 INSERT INTO peer_pgbench.events (event_id, stream_id, stream_version, payload) \
                 VALUES (gen_random_uuid(), gen_random_uuid()::text, 1, '{\"amount\": 100}');\n\
                 COMMIT;\n"
            }
            Self::Batch100 => {
                "INSERT INTO peer_pgbench.events (event_id, stream_id, stream_version, payload) \
                 SELECT gen_random_uuid(), gen_random_uuid()::text, 1, '{\"amount\": 100}' \
                 FROM generate_series(1, 100);\n"
            }
            Self::BareInsert => {
                "INSERT INTO peer_pgbench.bare (event_id, stream_id, stream_version, payload) \
                 VALUES (gen_random_uuid(), gen_random_uuid()::text, 1, '{\"amount\": 100}');\n"
            }
            Self::HeadUpdate => {
                "\\set s random(1, 10000)\n\
                 UPDATE peer_pgbench.streams SET version = version + 1 WHERE stream_id = 's' || :s;\n"
            }
            Self::HeadAndInsert => {
                "\\set s random(1, 10000)\n\
                 WITH head AS (UPDATE peer_pgbench.streams SET version = version + 1 \
                 WHERE stream_id = 's' || :s RETURNING stream_id, version) \
                 INSERT INTO peer_pgbench.events (event_id, stream_id, stream_version, payload) \
                 SELECT gen_random_uuid(), stream_id, version, '{\"amount\": 100}' FROM head;\n"
            }
        }
    }
}

const TABLE: &str = "DROP SCHEMA IF EXISTS peer_pgbench CASCADE; CREATE SCHEMA peer_pgbench;
CREATE TABLE peer_pgbench.events (position bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE,
    stream_id text NOT NULL, stream_version bigint NOT NULL, payload jsonb NOT NULL,
    UNIQUE (stream_id, stream_version));
CREATE TABLE peer_pgbench.bare (position bigserial, event_id uuid NOT NULL, stream_id text NOT NULL,
    stream_version bigint NOT NULL, payload jsonb NOT NULL);
CREATE TABLE peer_pgbench.streams (stream_id text PRIMARY KEY, version bigint NOT NULL);
INSERT INTO peer_pgbench.streams SELECT 's' || g, 0 FROM generate_series(1, 10000) g;";

/// Events/s of `shape` at `clients` for `seconds`, on a freshly created table.
pub(crate) async fn limit(url: &str, shape: Shape, clients: u32, seconds: u32) -> f64 {
    let mut admin = PgConnection::connect(url).await.expect("PostgreSQL reachable");
    sqlx::raw_sql(TABLE).execute(&mut admin).await.expect("the pgbench table");
    let script = std::env::temp_dir().join(format!("fintra-pgbench-{}.sql", std::process::id()));
    std::fs::write(&script, shape.script()).expect("write the pgbench script");
    let out = Command::new("pgbench")
        .args(["-n", "-j", "2", "-c", &clients.to_string(), "-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("pgbench on the PATH (the postgresql-client package)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output:\n{text}"));
    tps * shape.events()
}
