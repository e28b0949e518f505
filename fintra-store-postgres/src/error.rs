//! Mapping database errors onto the kernel's error variants, by kind and constraint name.

use fintra_core::Error;
use sqlx::error::ErrorKind;

/// The unique constraint on event ids (idempotency keys).
pub(crate) const EVENT_ID_KEY: &str = "fintra_events_event_id_key";
/// The primary key of the event-id table of the partitioned layout.
pub(crate) const EVENT_IDS_KEY: &str = "fintra_event_ids_pkey";
/// The unique constraint on `(stream_id, stream_version)`.
pub(crate) const STREAM_VERSION_KEY: &str = "fintra_events_stream_version_key";

/// What a failed write statement means for the append logic.
pub(crate) enum WriteFailure {
    /// An event id of the batch is already recorded: check for an idempotent retry.
    EventIdTaken,
    /// A stream of a bulk import was created by another writer meanwhile: retry the import.
    CreatedConcurrently,
    /// Anything else, already mapped.
    Other(Error),
}

pub(crate) fn classify(error: sqlx::Error) -> WriteFailure {
    if let sqlx::Error::Database(db) = &error
        && db.kind() == ErrorKind::UniqueViolation
    {
        match db.constraint() {
            Some(EVENT_ID_KEY | EVENT_IDS_KEY) => return WriteFailure::EventIdTaken,
            Some(STREAM_VERSION_KEY) => {
                return WriteFailure::Other(Error::corrupted(
                    "a stream version was taken although the head row allowed it: \
                     events were written around fintra_streams",
                ));
            }
            _ => {}
        }
    }
    WriteFailure::Other(backend(error))
}

/// Any other database error.
pub(crate) fn backend(error: sqlx::Error) -> Error {
    Error::backend(error)
}

/// `u64` → `i64` for the database.
pub(crate) fn to_i64(field: &'static str, value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error::invalid(field, format!("{value} exceeds i64::MAX")))
}

/// `i64` from the database → `u64`.
pub(crate) fn to_u64(field: &'static str, value: i64) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| Error::corrupted(format!("negative {field}: {value}")))
}
