//! Identifiers and counters of the event log, as validated newtypes.
//!
//! A [`StreamId`] or [`TenantId`] that exists is valid: construction and deserialization check it,
//! so stores never see an empty or oversized name. Versions and positions are `u64` newtypes;
//! conversion to a database's signed integers happens at the boundary with `try_from`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::limits::{STREAM_ID_BYTES_MAX, TENANT_ID_BYTES_MAX};
use crate::{Error, Result};

/// The id of one event: a UUIDv7 chosen by the client, and the event's idempotency key.
pub type EventId = Uuid;

/// Rejects empty names, names over `max` bytes and names with whitespace or control characters.
fn validate_name(field: &'static str, limit: &'static str, max: usize, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(Error::limit(limit, max, value.len()));
    }
    if let Some(c) = value.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(field, format!("contains the character {c:?}")));
    }
    Ok(())
}

/// The name of one event stream, such as `account-0190c0de-…`.
///
/// Non-empty, at most [`STREAM_ID_BYTES_MAX`] bytes, no whitespace or control characters.
/// By convention the part before the first `-` is the stream's category (the aggregate type).
/// Cloning is cheap (a shared string).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(Arc<str>);

impl StreamId {
    /// Validates and wraps a stream name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name or one with whitespace/control characters,
    /// [`Error::LimitExceeded`] (`STREAM_ID_BYTES_MAX`) for one that is too long.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        validate_name("stream_id", "STREAM_ID_BYTES_MAX", STREAM_ID_BYTES_MAX, &value)?;
        Ok(Self(value.into()))
    }

    /// The conventional id of an aggregate instance: `<category>-<id>`.
    ///
    /// # Errors
    /// As [`StreamId::new`], for an invalid category.
    pub fn for_aggregate(category: &str, id: Uuid) -> Result<Self> {
        Self::new(format!("{category}-{id}"))
    }

    /// The stream's category: the text before the first `-`, or the whole name.
    pub fn category(&self) -> &str {
        self.0.split_once('-').map_or(&*self.0, |(category, _)| category)
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for StreamId {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({:?})", self.0)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::new(value).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<&str> for StreamId {
    type Error = Error;
    fn try_from(value: &str) -> Result<Self> {
        Self::new(value)
    }
}

/// The tenant an event belongs to. Single-tenant hosts use [`TenantId::default`] (`default`).
///
/// Non-empty, at most [`TENANT_ID_BYTES_MAX`] bytes, no whitespace or control characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// The tenant of single-tenant deployments.
    pub const DEFAULT: &'static str = "default";

    /// Validates and wraps a tenant id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::LimitExceeded`] (`TENANT_ID_BYTES_MAX`).
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        validate_name("tenant_id", "TENANT_ID_BYTES_MAX", TENANT_ID_BYTES_MAX, &value)?;
        Ok(Self(value))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({:?})", self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::new(value).map_err(serde::de::Error::custom)
    }
}

/// The version of a stream: the number of events in it. The first event has version 1;
/// [`StreamVersion::NONE`] (0) means the stream has no events.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct StreamVersion(pub u64);

impl StreamVersion {
    /// No events yet.
    pub const NONE: Self = Self(0);
    /// The version of a stream's first event.
    pub const FIRST: Self = Self(1);

    /// The next version.
    ///
    /// # Errors
    /// [`Error::Corrupted`] on `u64` overflow, which no real stream reaches.
    pub fn next(self) -> Result<Self> {
        self.0.checked_add(1).map(Self).ok_or_else(|| Error::corrupted("stream version overflow"))
    }

    /// The raw number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for StreamVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A place in the global log, assigned by the store.
///
/// Positions strictly increase in global read order but need not be contiguous: stores may leave
/// gaps (rolled-back transactions, encoded transaction ids). [`Position::START`] (0) lies before
/// every event; reading the log "after" it returns everything.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Position(pub u64);

impl Position {
    /// Before the first event.
    pub const START: Self = Self(0);

    /// The raw number.
    pub fn get(self) -> u64 {
        self.0
    }

    /// A position read back from storage that keeps it signed (a PostgreSQL `bigint`, a
    /// checkpoint). One rule for every reader: a negative value is corrupted data, never "start
    /// over from the beginning".
    ///
    /// # Errors
    /// [`Error::Corrupted`](crate::Error::Corrupted) for a negative value.
    pub fn from_stored(value: i64) -> crate::Result<Self> {
        u64::try_from(value)
            .map(Self)
            .map_err(|_| crate::Error::corrupted(format!("stored position {value} is negative")))
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_id_rejects_bad_names_with_typed_errors() {
        assert!(matches!(StreamId::new(""), Err(Error::InvalidInput { field: "stream_id", .. })));
        assert!(matches!(StreamId::new("a b"), Err(Error::InvalidInput { .. })));
        assert!(matches!(StreamId::new("a\u{0}b"), Err(Error::InvalidInput { .. })));
        let at_max = "s".repeat(STREAM_ID_BYTES_MAX);
        assert!(StreamId::new(at_max.clone()).is_ok());
        assert!(matches!(
            StreamId::new(at_max + "s"),
            Err(Error::LimitExceeded { limit: "STREAM_ID_BYTES_MAX", .. })
        ));
    }

    #[test]
    fn stream_id_category_and_deserialize_validation() {
        let id = StreamId::new("account-42").unwrap();
        assert_eq!(id.category(), "account");
        assert_eq!(StreamId::new("plain").unwrap().category(), "plain");
        assert!(serde_json::from_str::<StreamId>("\"\"").is_err());
        assert_eq!(serde_json::from_str::<StreamId>("\"account-42\"").unwrap(), id);
    }

    #[test]
    fn tenant_id_validates() {
        assert_eq!(TenantId::default().as_str(), "default");
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("t".repeat(TENANT_ID_BYTES_MAX + 1)).is_err());
    }

    #[test]
    fn version_overflow_is_an_error_not_a_panic() {
        assert!(StreamVersion(u64::MAX).next().is_err());
        assert_eq!(StreamVersion::NONE.next().unwrap(), StreamVersion::FIRST);
    }
}
