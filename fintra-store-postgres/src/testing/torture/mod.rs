//! The torture suite (feature `testing`): abuse a real server the way production does and
//! check that nothing acknowledged is lost, nothing refused appears, and no pooled connection
//! carries damage to its next user. The hot store runs it in `tests/torture.rs`, the warm store
//! (which shares the append path) in its own `tests/torture.rs`.
//!
//! - [`writers_and_readers`]: concurrent writers with caller rollbacks, conflicts and a
//!   transaction held open, against paging readers that must see every acknowledged event
//!   exactly once and nothing else;
//! - [`random_cancellation`]: every public async call dropped at random await points on a pool
//!   of one connection, after which every acknowledged write is present and every call works;
//! - [`hostile_tenant`]: a tenant with its own login role running arbitrary SQL;
//! - [`server_stop_during_imports`]: immediate stops of a private server
//!   ([`PrivateCluster`](super::PrivateCluster)) while imports run.
//!
//! Every function takes a seed and puts it in its panic messages; `FINTRA_SEED=<n>` replays.

mod cancel;
mod crash;
mod hostile;
mod load;

use std::collections::BTreeSet;

use fintra_core::testing::conformance::event;
use fintra_core::{EventId, EventMetadata, NewEvent, StreamId, TenantId};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

pub use cancel::{CancellationReport, random_cancellation};
pub use crash::{CrashReport, server_stop_during_imports};
pub use hostile::hostile_tenant;
pub use load::{LoadReport, writers_and_readers};

use crate::{PgEventStore, PgStoreOptions};

/// What the suite runs against: a migrated schema, reached as its owner.
#[derive(Clone, Debug)]
pub struct Target {
    /// Options of stores on the schema (schema, channel, layout).
    pub options: PgStoreOptions,
    /// Connect options of the owner, with the schema on the `search_path`.
    pub connect: PgConnectOptions,
    /// The owner's pool.
    pub pool: PgPool,
    /// A name unique to this schema (test roles are named after it).
    pub name: String,
}

impl Target {
    /// The owner's store.
    ///
    /// # Panics
    /// On invalid options.
    pub fn store(&self) -> PgEventStore {
        PgEventStore::from_pool(self.pool.clone(), &self.options).expect("valid options")
    }

    /// A store of the owner on a pool of its own: `max_connections` connections opened with
    /// `application_name` (so a test can find its sessions in `pg_stat_activity`).
    ///
    /// # Panics
    /// On invalid options.
    pub fn own_pool_store(&self, max_connections: u32, application_name: &str) -> PgEventStore {
        let options = PgStoreOptions { max_connections, ..self.options.clone() };
        let connect = self.connect.clone().application_name(application_name);
        let pool = options.pool_options().expect("valid options").connect_lazy_with(connect);
        PgEventStore::from_pool(pool, &options).expect("valid options")
    }

    /// The login role of `tenant` on this schema.
    pub fn tenant_role(&self, tenant: &str) -> String {
        let suffix: String =
            tenant.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("{}_{suffix}", self.name)
    }

    /// Turns row-level security on, creates a login role bound to `tenant` (once) and returns
    /// a store whose connections log in as that role: a tenant that may run any SQL on its own
    /// connections.
    ///
    /// # Panics
    /// When the role cannot be created or bound.
    pub async fn tenant_store(&self, tenant: &str, max_connections: u32) -> PgEventStore {
        let owner = self.store();
        owner.enable_row_level_security().await.expect("enable row-level security");
        let role = self.tenant_role(tenant);
        sqlx::raw_sql(&format!(
            "DO $$ BEGIN CREATE ROLE \"{role}\" LOGIN; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ))
        .execute(&self.pool)
        .await
        .expect("create a tenant role");
        let tenant_id = TenantId::new(tenant).expect("a valid tenant id");
        owner.bind_tenant_role(&role, &tenant_id).await.expect("bind the tenant role");
        let options = PgStoreOptions { max_connections, ..self.options.clone() };
        let connect = self.connect.clone().username(&role);
        let pool = options.pool_options().expect("valid options").connect_lazy_with(connect);
        PgEventStore::from_pool(pool, &options).expect("valid options")
    }
}

/// Event `n` of `tenant`.
pub(crate) fn event_of(tenant: &TenantId, n: u64) -> NewEvent {
    NewEvent {
        metadata: EventMetadata { tenant_id: tenant.clone(), ..Default::default() },
        ..event(n)
    }
}

/// A stream name for the suite.
pub(crate) fn stream(name: &str) -> StreamId {
    StreamId::new(format!("torture-{name}")).expect("a valid stream name")
}

/// What the writers know: events whose append was acknowledged, events refused or rolled back,
/// and groups whose outcome nobody saw (each must be all present or all absent).
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) acknowledged: BTreeSet<EventId>,
    pub(crate) refused: BTreeSet<EventId>,
    pub(crate) unknown: Vec<Vec<EventId>>,
}

impl Ledger {
    pub(crate) fn ack(&mut self, events: &[NewEvent]) {
        self.acknowledged.extend(events.iter().map(|e| e.event_id));
    }

    pub(crate) fn refuse(&mut self, events: &[NewEvent]) {
        self.refused.extend(events.iter().map(|e| e.event_id));
    }

    pub(crate) fn unknown(&mut self, events: &[NewEvent]) {
        self.unknown.push(events.iter().map(|e| e.event_id).collect());
    }

    /// Checks a log read against what the writers know; panics naming `seed` and `who`.
    pub(crate) fn check(&self, seen: &[EventId], seed: u64, who: &str) {
        let mut once = BTreeSet::new();
        for id in seen {
            assert!(once.insert(*id), "seed {seed}: {who} saw event {id} twice");
            assert!(!self.refused.contains(id), "seed {seed}: {who} saw refused event {id}");
        }
        let missing: Vec<_> = self.acknowledged.difference(&once).take(5).collect();
        assert!(
            missing.is_empty(),
            "seed {seed}: {who} never saw acknowledged events {missing:?} ({} in all)",
            self.acknowledged.difference(&once).count()
        );
        for group in &self.unknown {
            let present = group.iter().filter(|id| once.contains(id)).count();
            assert!(
                present == 0 || present == group.len(),
                "seed {seed}: {who} saw {present} of {} events of one interrupted batch",
                group.len()
            );
        }
    }
}
