//! The crate's error type: semantic variants that callers branch on.

use crate::{EventId, ExpectedVersion, StreamId, StreamVersion};

/// Boxed source error of a backend or codec.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with fintra-core's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a fintra store, codec or repository can fail with.
///
/// Branch on the variant, not on the message: `Conflict` is retryable after reloading,
/// `LimitExceeded` and `InvalidInput` are the caller's to fix, `Backend` is infrastructure,
/// `Corrupted` means stored data broke an invariant and must be investigated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream was not at the expected version; nothing was written.
    #[error("version conflict on stream `{stream}`: expected {expected}, actual {actual}")]
    Conflict {
        /// The stream appended to.
        stream: StreamId,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's version when the append was refused (0: the stream has no events).
        actual: StreamVersion,
    },

    /// An event id was recorded before with other content, or in another batch; nothing was
    /// written. Event ids are idempotency keys: reusing one for different data is a caller bug.
    #[error("event id {event_id} was already recorded with different content or in another batch")]
    DuplicateEventId {
        /// The reused id.
        event_id: EventId,
    },

    /// Something the caller named does not exist.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },

    /// The backend does not offer this capability.
    #[error("unsupported by this store: {operation}")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
    },

    /// A bound from [`crate::limits`] was crossed; nothing was written.
    #[error("limit {limit} exceeded: {actual} > {max}")]
    LimitExceeded {
        /// The constant's name in [`crate::limits`].
        limit: &'static str,
        /// Its value.
        max: u64,
        /// What the request asked for.
        actual: u64,
    },

    /// The request is malformed (empty batch, empty name, control characters…).
    #[error("invalid input: {field}: {reason}")]
    InvalidInput {
        /// Which argument or field.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// Stored data breaks an invariant (a version gap, an unreadable row).
    #[error("corrupted data: {reason}")]
    Corrupted {
        /// What was found.
        reason: String,
    },

    /// An event or snapshot could not be encoded or decoded.
    #[error("codec error for `{event_type}` (schema {schema_version}): {source}")]
    Codec {
        /// The event type (or snapshot kind) involved.
        event_type: String,
        /// Its schema version.
        schema_version: u32,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// A fenced write was refused: this process no longer holds the lease `unit` at `epoch`
    /// (another owner took it, or it lapsed). Nothing was written; stop, and take the lease again
    /// before running again.
    #[error("the lease of {unit} (epoch {epoch}) is no longer held: write refused")]
    Fenced {
        /// The unit of work.
        unit: String,
        /// The epoch this process held.
        epoch: i64,
    },

    /// The backend (database, network, file system) failed.
    #[error("backend error: {source}")]
    Backend {
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Builds [`Error::InvalidInput`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput { field, reason: reason.into() }
    }

    /// Builds [`Error::LimitExceeded`] from `usize`/`u64` quantities.
    pub fn limit(limit: &'static str, max: impl TryInto<u64>, actual: impl TryInto<u64>) -> Self {
        Self::LimitExceeded {
            limit,
            max: max.try_into().unwrap_or(u64::MAX),
            actual: actual.try_into().unwrap_or(u64::MAX),
        }
    }

    /// Wraps a backend failure.
    pub fn backend(source: impl Into<BoxError>) -> Self {
        Self::Backend { source: source.into() }
    }

    /// Builds [`Error::Corrupted`].
    pub fn corrupted(reason: impl Into<String>) -> Self {
        Self::Corrupted { reason: reason.into() }
    }

    /// True for [`Error::Conflict`]: reload and retry.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

/// Checks `actual <= max` for a named limit.
///
/// # Errors
/// [`Error::LimitExceeded`] naming `limit` when `actual > max`.
pub fn check_limit(limit: &'static str, max: usize, actual: usize) -> Result<()> {
    if actual > max { Err(Error::limit(limit, max, actual)) } else { Ok(()) }
}
