//! Wake-ups for global-log readers: `LISTEN` on the store's channel. A notification carries no data; it
//! only tells a reader to pull (`read_all`) again, so a missed one costs latency, never events.

use std::time::Duration;

use fintra_core::Result;
use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::error::backend;

/// A dedicated connection listening on a store's notification channel.
#[derive(Debug)]
pub struct PgLogListener {
    listener: PgListener,
}

impl PgLogListener {
    pub(crate) async fn connect(pool: &PgPool, channel: &str) -> Result<Self> {
        let mut listener = PgListener::connect_with(pool).await.map_err(backend)?;
        listener.listen(channel).await.map_err(backend)?;
        Ok(Self { listener })
    }

    /// Waits up to `timeout` for an append notification. `Ok(true)` when woken, `Ok(false)` on
    /// timeout (poll anyway: notifications are a hint). Several appends may wake it once.
    ///
    /// # Errors
    /// `Backend` when the listening connection fails (sqlx reconnects on the next call).
    pub async fn wait(&mut self, timeout: Duration) -> Result<bool> {
        match tokio::time::timeout(timeout, self.listener.recv()).await {
            Ok(Ok(_notification)) => Ok(true),
            Ok(Err(error)) => Err(backend(error)),
            Err(_elapsed) => Ok(false),
        }
    }
}
