//! Cancel-safe use of pooled connections (ADR 0004).
//!
//! Any future may be dropped at any await: a timeout, a `select!`, a disconnecting client. A
//! pooled connection that goes back to the pool after such a drop may be inside a transaction
//! that nothing will end (sqlx 0.8 returns it so when `BEGIN` was in flight) or halfway through
//! a reply. Three mechanisms keep that from reaching the next user of the pool:
//!
//! - [`Checkout`]: every fintra operation on a pooled connection holds one, and only an
//!   operation that ran to the end with the connection idle returns it to the pool. Otherwise
//!   the connection is closed, and the server rolls back whatever it was doing.
//! - [`PgTx`]: the host's own transaction, with the same rule: dropped before `commit` or
//!   `rollback` finished, or after one of fintra's calls on it was interrupted, its connection is
//!   closed (the server rolls back) instead of being pooled.
//! - [`release_hook`]: for pools built by [`PgEventStore::connect`](crate::PgEventStore::connect)
//!   or [`PgStoreOptions::pool_options`](crate::PgStoreOptions::pool_options), each connection
//!   coming back to the pool is checked for an open transaction (closed if so) and has its
//!   session state reset: role, settings such as `fintra.tenant_id` and `search_path`, and
//!   session advisory locks. This also covers the host's own use of [`sqlx`] transactions on
//!   the store's pool.

use std::ops::{Deref, DerefMut};

use fintra_core::{AppendResult, Error, ExpectedVersion, NewEvent, Result, StreamId};
use futures::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPoolOptions, PgTransactionManager};
use sqlx::{Executor, PgConnection, PgPool, Postgres, Row, TransactionManager};

use crate::error::backend;
use crate::{BulkImportProgress, BulkImportResult, PgEventStore};

/// A pooled connection lent to one operation. Dropped without [`Checkout::finish`], it is
/// closed instead of returned to the pool.
pub(crate) struct Checkout {
    conn: PoolConnection<Postgres>,
    finished: bool,
}

impl Checkout {
    pub(crate) async fn acquire(pool: &PgPool) -> Result<Self> {
        let conn = pool.acquire().await.map_err(backend)?;
        Ok(Self { conn, finished: false })
    }

    /// Ends the loan after `outcome`: the connection goes back to the pool unless the outcome
    /// is a backend error, after which its protocol state is unknown (it is closed then).
    pub(crate) fn finish<T>(mut self, outcome: &Result<T>) {
        self.finished = !matches!(outcome, Err(Error::Backend { .. }));
    }
}

impl Deref for Checkout {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Checkout {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

/// Why a [`PgTx`] refused to commit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// A call made on the transaction was dropped before it finished (a timeout, a cancelled
    /// task): what it wrote is unknown, so the transaction is rolled back instead of committed.
    #[error("a call on this transaction was interrupted; the transaction was rolled back")]
    Interrupted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxState {
    /// `BEGIN` is in flight, or a call on the transaction was interrupted.
    Unknown,
    /// Idle inside the transaction.
    Open,
    /// Committed or rolled back.
    Done,
}

/// A transaction on a pooled connection that stays safe when futures are dropped.
///
/// The host runs its own statements on it (it dereferences to [`PgConnection`]) and appends
/// events with [`PgTx::append`] or [`PgTx::bulk_import`]; then it calls [`PgTx::commit`] or
/// [`PgTx::rollback`].
///
/// - Dropped while idle without commit or rollback: rolled back, the connection returns to the
///   pool (like sqlx's `Transaction`).
/// - Dropped while `BEGIN`, `COMMIT` or `ROLLBACK` was in flight: the connection is closed, not
///   pooled, and the server rolls back anything it had not committed.
/// - After one of its calls was dropped midway: [`PgTx::commit`] refuses with
///   [`TxError::Interrupted`] (as `Error::Backend`) and the work is rolled back — an append
///   whose outcome nobody saw is never committed behind the caller's back.
///
/// ```no_run
/// # use fintra_core::{ExpectedVersion, NewEvent, StreamId};
/// # async fn demo(store: fintra_store_postgres::PgEventStore, stream: StreamId, events: Vec<NewEvent>) -> fintra_core::Result<()> {
/// let mut tx = store.begin().await?;
/// sqlx::query("UPDATE orders SET state = 'paid' WHERE id = 1")
///     .execute(&mut *tx)
///     .await
///     .map_err(fintra_core::Error::backend)?;
/// tx.append(&store, &stream, ExpectedVersion::Any, &events).await?;
/// tx.commit().await?; // or drop it: the events and the update roll back together
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PgTx {
    conn: PoolConnection<Postgres>,
    state: TxState,
}

impl PgTx {
    /// Begins a transaction on a connection of `pool`.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn begin(pool: &PgPool) -> Result<Self> {
        let conn = pool.acquire().await.map_err(backend)?;
        let mut tx = Self { conn, state: TxState::Unknown };
        PgTransactionManager::begin(&mut tx.conn, None).await.map_err(backend)?;
        tx.state = TxState::Open;
        Ok(tx)
    }

    /// Appends inside this transaction; see [`PgEventStore::append_in`].
    ///
    /// # Errors
    /// As [`PgEventStore::append_in`].
    pub async fn append(
        &mut self,
        store: &PgEventStore,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        self.guard()?;
        self.state = TxState::Unknown;
        let outcome = store.append_in(&mut self.conn, stream, expected, events).await;
        self.state = TxState::Open;
        outcome
    }

    /// Bulk-imports inside this transaction; see [`PgEventStore::bulk_import_in`].
    ///
    /// # Errors
    /// As [`PgEventStore::bulk_import_in`].
    pub async fn bulk_import(
        &mut self,
        store: &PgEventStore,
        events: &[(StreamId, NewEvent)],
        progress: impl FnMut(BulkImportProgress) + Send,
    ) -> Result<BulkImportResult> {
        self.guard()?;
        self.state = TxState::Unknown;
        let outcome = store.bulk_import_in(&mut self.conn, events, progress).await;
        self.state = TxState::Open;
        outcome
    }

    fn guard(&self) -> Result<()> {
        match self.state {
            TxState::Open => Ok(()),
            TxState::Unknown | TxState::Done => Err(Error::backend(TxError::Interrupted)),
        }
    }

    /// Commits.
    ///
    /// # Errors
    /// `Backend` with [`TxError::Interrupted`] after an interrupted call (the transaction is
    /// rolled back instead); `Backend` when the commit fails.
    pub async fn commit(mut self) -> Result<()> {
        self.guard()?;
        self.state = TxState::Unknown;
        PgTransactionManager::commit(&mut self.conn).await.map_err(backend)?;
        self.state = TxState::Done;
        Ok(())
    }

    /// Rolls back.
    ///
    /// # Errors
    /// `Backend` when the rollback fails (the connection is closed; the server rolls back).
    pub async fn rollback(mut self) -> Result<()> {
        if self.state != TxState::Open {
            return Ok(()); // dropping closes the connection, which rolls back
        }
        self.state = TxState::Unknown;
        PgTransactionManager::rollback(&mut self.conn).await.map_err(backend)?;
        self.state = TxState::Done;
        Ok(())
    }
}

impl Deref for PgTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for PgTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        match self.state {
            TxState::Done => {}
            // Idle in the transaction: queue the rollback; the pool's release flushes it.
            TxState::Open => PgTransactionManager::start_rollback(&mut self.conn),
            TxState::Unknown => self.conn.close_on_drop(),
        }
    }
}

/// The statement a pooled connection runs when it comes back: ends any session state a user of
/// the pool left behind and reports whether a transaction is still open (`now()` is the
/// transaction's start, `statement_timestamp()` this statement's: they are equal only when the
/// statement runs in a transaction of its own).
const RELEASE_SQL: &str = "SET SESSION AUTHORIZATION DEFAULT; RESET ALL; RESET ROLE; \
    SELECT pg_advisory_unlock_all(), now() = statement_timestamp() AS idle";

/// Checks a connection coming back to the pool: `Ok(false)` (close it) when it is inside a
/// transaction; otherwise resets its session to the values it was opened with.
pub(crate) fn release_hook(conn: &mut PgConnection) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        let row = conn.fetch_one(RELEASE_SQL).await?;
        row.try_get::<bool, _>("idle")
    })
}

/// Adds the release check to `options`.
pub(crate) fn with_release_hook(options: PgPoolOptions) -> PgPoolOptions {
    options.after_release(|conn, _meta| release_hook(conn))
}
