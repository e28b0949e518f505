//! # fintra-store-postgres — the hot tier
//!
//! [`PgEventStore`] is the complete fintra event store on PostgreSQL 15+: it passes the whole
//! kernel conformance suite, and adds what a production log needs.
//!
//! - **Gap-safe global order.** Positions encode the writer's transaction id
//!   (`xid8 * 2^20 + n`); `read_all` returns only events of transactions older than every
//!   transaction still running, so a reader that resumes after its last position never skips an
//!   event that commits late. The price: one long-running writing transaction holds every
//!   global-log reader back until it ends (stream reads are not affected).
//! - **One statement per append.** The stream's head row and every event of the batch are
//!   written by a single `INSERT … UNNEST` statement; optimistic concurrency is exact because the
//!   head row serialises writers of one stream.
//! - **Idempotent retries** by event id, decided by the kernel's [`fintra_core::backend::replayed_append`].
//! - **The caller's transaction.** [`PgTx`] ([`PgEventStore::begin`]) is a cancel-safe
//!   transaction for the host's own statements and [`PgTx::append`], so events and the host's
//!   tables commit together; [`PgEventStore::append_in`] and [`PgEventStore::bulk_import_in`]
//!   write on a connection or sqlx transaction the host manages itself.
//! - **Cancel safety.** A future dropped at any await leaves no pooled connection inside a
//!   transaction or halfway through a reply: interrupted operations close their connection, and
//!   pools built by fintra check and reset every connection coming back (ADR 0004).
//! - **Bulk import** of up to [`TRANSACTION_EVENTS_MAX`] events per call through binary `COPY`,
//!   atomic, with a progress callback ([`PgEventStore::bulk_import`]).
//! - **Tenant isolation that holds against a tenant running its own SQL**: row-level security on
//!   events, stream heads and snapshots keyed on the session's login role
//!   ([`PgEventStore::bind_tenant_role`]) or, for a trusted application, a session setting
//!   ([`PgEventStore::enable_row_level_security`]).
//! - **Fencing tokens** for writers that several processes may run: [`fence::fence`] checks a
//!   lease inside the writer's own transaction.
//! - [`PgSnapshotStore`], `LISTEN/NOTIFY` wake-ups ([`PgEventStore::listen`]), pool and
//!   statement timeouts ([`PgStoreOptions`]), and `tracing` spans named `fintra.pg.*`.
//!
//! `docs/postgres.md` has the failure model: what each failure does to data and readers.
//!
//! Errors are the kernel's [`fintra_core::Error`]; database errors are mapped by kind and
//! constraint name, never by SQLSTATE text.

mod append;
mod bulk;
mod bulk_rows;
mod catch_up;
mod conn;
mod copy_binary;
mod copy_decode;
mod error;
pub mod fence;
mod group;
mod notify;
mod options;
mod rows;
mod snapshot;
mod store;
mod tenancy;
#[cfg(feature = "testing")]
pub mod testing;

pub use bulk::{BulkImportProgress, BulkImportResult};
pub use conn::{PgTx, TxError};
pub use group::{GROUP_EVENTS_MAX, GroupCommit};
pub use notify::PgLogListener;
pub use options::{EventLayout, PgStoreOptions};
pub use snapshot::PgSnapshotStore;
pub use store::PgEventStore;
pub use tenancy::HorizonHolder;

/// What `fintra-store-timescale` builds its partitioned schema from: the events table's
/// columns, their order for reads, row decoding and the shared functions. Not for applications.
#[doc(hidden)]
pub mod warm {
    use crate::EventLayout;

    /// The columns of `fintra_events` with their types and checks: the one definition of the
    /// table's shape (the hot store's migration 0001 created exactly these; a test compares
    /// them).
    pub const EVENTS_TABLE_COLUMNS: &str = include_str!("../sql/events_columns.sql");

    /// The event columns in the order [`decode_event_rows`] reads them.
    pub const EVENT_COLUMNS: &str = "position, event_id, stream_id, stream_version, tenant_id, \
        event_type, schema_version, recorded_at, occurred_at, correlation_id, causation_id, \
        actor, headers, content_type, payload";

    /// Decodes rows holding [`EVENT_COLUMNS`], strictly: a row that breaks an invariant is
    /// `Corrupted`.
    ///
    /// # Errors
    /// `Corrupted` for an invalid row, `Backend` for a column of the wrong type.
    pub fn decode_event_rows(
        rows: &[sqlx::postgres::PgRow],
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        crate::rows::recorded_events(rows)
    }

    /// The functions and the tenant-binding table every fintra event schema carries (the
    /// gap-safe page reader, the session's tenant, recorded-id lookups), for a schema of
    /// `layout` whose tables exist. Idempotent.
    pub fn shared_schema_sql(layout: EventLayout) -> String {
        crate::tenancy::shared_schema_sql(layout)
    }
}

/// Most events one transaction may write: positions reserve 20 bits for them.
pub const TRANSACTION_EVENTS_MAX: usize = (1 << 20) - 1;

/// The notification channel appends signal on (it carries no data; it only wakes readers).
pub const NOTIFY_CHANNEL: &str = "fintra_events";

#[cfg(doctest)]
#[doc = include_str!("../../docs/postgres.md")]
struct PostgresGuide;

#[cfg(doctest)]
#[doc = include_str!("../../docs/using-fintra.md")]
struct UsingFintraGuide;
