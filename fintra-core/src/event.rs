//! The event envelope: what a caller appends ([`NewEvent`]) and what a store returns
//! ([`RecordedEvent`]).
//!
//! Metadata is always plaintext so stores can index it; the payload is opaque bytes with a
//! content type, so JSON, Protobuf and ciphertext all fit the same tables.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::backend::check_limit;
use crate::limits::{
    ACTOR_BYTES_MAX, APPEND_BYTES_MAX, APPEND_EVENTS_MAX, CONTENT_TYPE_BYTES_MAX,
    EVENT_TYPE_BYTES_MAX, HEADER_NAME_BYTES_MAX, HEADER_VALUE_BYTES_MAX, HEADERS_MAX,
    PAYLOAD_BYTES_MAX,
};
use crate::{Error, EventId, Position, Result, StreamId, StreamVersion, TenantId};

/// Who caused an event: the system itself or a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// fintra or the host application acting on its own.
    #[default]
    System,
    /// A user, by the host's user id.
    User(String),
}

impl Actor {
    /// The actor as stored in a text column: `system` or `user:<id>`.
    pub fn to_storage(&self) -> String {
        match self {
            Self::System => "system".to_owned(),
            Self::User(id) => format!("user:{id}"),
        }
    }

    /// Parses [`Actor::to_storage`]'s form.
    ///
    /// # Errors
    /// [`Error::Corrupted`] for any other text.
    pub fn from_storage(text: &str) -> Result<Self> {
        match text {
            "system" => Ok(Self::System),
            _ => match text.strip_prefix("user:") {
                Some(id) => Ok(Self::User(id.to_owned())),
                None => Err(Error::corrupted(format!("unknown actor {text:?}"))),
            },
        }
    }
}

/// The media type of a payload, e.g. `application/json`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentType(Cow<'static, str>);

impl ContentType {
    /// `application/json`: the default codec.
    pub const JSON: &'static str = "application/json";
    /// `application/x-protobuf`: the compact codec.
    pub const PROTOBUF: &'static str = "application/x-protobuf";
    /// `application/vnd.fintra.shredded`: the payload of an event whose data subject was erased
    /// (crypto-shredding, `fintra-guard`). It is empty; the event's metadata and place in its
    /// stream remain, so folds and replays go on without it.
    pub const SHREDDED: &'static str = "application/vnd.fintra.shredded";

    /// Wraps a content type. Validated when the event is appended.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Cow::Owned(value.into()))
    }

    /// Wraps a content type known at compile time, without allocating.
    pub const fn from_static(value: &'static str) -> Self {
        Self(Cow::Borrowed(value))
    }

    /// Wraps a content type read from storage: the well-known ones ([`JSON`](Self::JSON),
    /// [`PROTOBUF`](Self::PROTOBUF), [`SHREDDED`](Self::SHREDDED)) without allocating, which
    /// matters when a catch-up decodes millions of events.
    pub fn from_stored(value: &str) -> Self {
        match value {
            Self::JSON => Self::from_static(Self::JSON),
            Self::PROTOBUF => Self::from_static(Self::PROTOBUF),
            Self::SHREDDED => Self::from_static(Self::SHREDDED),
            other => Self::new(other),
        }
    }

    /// JSON.
    pub const fn json() -> Self {
        Self::from_static(Self::JSON)
    }

    /// Protobuf.
    pub const fn protobuf() -> Self {
        Self::from_static(Self::PROTOBUF)
    }

    /// The media type as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentType({:?})", self.0)
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Plaintext metadata carried by every event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// Groups every event caused by one request or workflow.
    pub correlation_id: Option<Uuid>,
    /// The event or command that directly caused this one.
    pub causation_id: Option<Uuid>,
    /// Who caused it.
    pub actor: Actor,
    /// Free-form string headers (ordered, so encodings are deterministic).
    pub headers: BTreeMap<String, String>,
}

/// An event as the caller appends it.
///
/// Two `NewEvent`s with the same `event_id` must be equal in every field; stores compare them to
/// tell an idempotent retry from a reused id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Client-generated UUIDv7; the idempotency key.
    pub event_id: EventId,
    /// The event's type name, e.g. `Deposited`.
    pub event_type: String,
    /// The payload's schema version (starts at 1); upcasters read it.
    pub schema_version: u32,
    /// Domain (effective) time: when it happened in the world.
    pub occurred_at: DateTime<Utc>,
    /// Plaintext metadata.
    pub metadata: EventMetadata,
    /// The payload's media type.
    pub content_type: ContentType,
    /// The payload: JSON, Protobuf or ciphertext.
    pub payload: Bytes,
}

/// An event as stored: the appended fields plus what the store assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The client-chosen id.
    pub event_id: EventId,
    /// The stream it belongs to.
    pub stream_id: StreamId,
    /// Its version in the stream (contiguous from 1).
    pub stream_version: StreamVersion,
    /// Its place in the global log (strictly increasing in read order).
    pub position: Position,
    /// The event's type name.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: u32,
    /// When the store recorded it (store clock).
    pub recorded_at: DateTime<Utc>,
    /// When it happened in the world (domain clock).
    pub occurred_at: DateTime<Utc>,
    /// Plaintext metadata.
    pub metadata: EventMetadata,
    /// The payload's media type.
    pub content_type: ContentType,
    /// The payload bytes.
    pub payload: Bytes,
}

/// The event type of the notice that a data subject was erased (appended by `fintra-guard`'s
/// shred to the stream `Shred-<subject>`). Its JSON payload names the subject:
/// `{"subject": "…", "tenant": "…"}`; every projection deletes what it derived from that
/// subject's events when it sees one ([`RecordedEvent::shredded_subject`]).
pub const SUBJECT_SHREDDED: &str = "SubjectShredded";

/// The metadata header naming an event's data subject (`fintra-guard` seals the payload with
/// that subject's key, and erases it with the subject). Code that appends events derived from a
/// subject's data — Pulse signals, for one — sets it so they are sealed and erased too.
pub const SUBJECT_HEADER: &str = "fintra-subject";

impl RecordedEvent {
    /// For a [`SUBJECT_SHREDDED`] notice, the erased subject (a stream id for the twin's
    /// profiles); `None` for any other event.
    pub fn shredded_subject(&self) -> Option<String> {
        if self.event_type != SUBJECT_SHREDDED {
            return None;
        }
        let payload: serde_json::Value = serde_json::from_slice(&self.payload).ok()?;
        payload.get("subject")?.as_str().map(str::to_owned)
    }

    /// True when the event's data subject was erased: its payload is gone for good
    /// ([`ContentType::SHREDDED`]). [`Repository`](crate::Repository) skips such events when it
    /// folds; a projection should skip them too.
    pub fn is_shredded(&self) -> bool {
        self.content_type.as_str() == ContentType::SHREDDED
    }

    /// True when `new` carries exactly the fields this event was appended with.
    pub fn same_content_as(&self, new: &NewEvent) -> bool {
        self.event_id == new.event_id
            && self.event_type == new.event_type
            && self.schema_version == new.schema_version
            && self.occurred_at == new.occurred_at
            && self.metadata == new.metadata
            && self.content_type == new.content_type
            && self.payload == new.payload
    }

    /// The appended form of this event (for forks and re-imports).
    pub fn to_new_event(&self) -> NewEvent {
        NewEvent {
            event_id: self.event_id,
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            metadata: self.metadata.clone(),
            content_type: self.content_type.clone(),
            payload: self.payload.clone(),
        }
    }
}

fn validate_text(field: &'static str, limit: &'static str, max: usize, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    check_limit(limit, max, value.len())?;
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(())
}

/// Checks that a timestamp lies in years 1 to 9999 and has microsecond precision, which every
/// store can keep exactly (PostgreSQL's `timestamptz` has microseconds).
///
/// # Errors
/// [`Error::InvalidInput`] naming `field`.
pub fn validate_timestamp(field: &'static str, at: DateTime<Utc>) -> Result<()> {
    use chrono::{Datelike, Timelike};
    if !(1..=9999).contains(&at.year()) {
        return Err(Error::invalid(field, format!("year {} is outside 1..=9999", at.year())));
    }
    if !at.nanosecond().is_multiple_of(1000) {
        return Err(Error::invalid(
            field,
            "has sub-microsecond precision; stores keep microseconds",
        ));
    }
    Ok(())
}

/// Truncates a timestamp to whole microseconds (the precision every store keeps).
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    let nanos = at.nanosecond();
    if nanos.is_multiple_of(1000) {
        return at;
    }
    at.with_nanosecond(nanos - nanos % 1000).unwrap_or(at)
}

impl NewEvent {
    /// Checks one event against [`crate::limits`] and the envelope's rules.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::LimitExceeded`] naming the field.
    pub fn validate(&self) -> Result<()> {
        validate_text(
            "event_type",
            "EVENT_TYPE_BYTES_MAX",
            EVENT_TYPE_BYTES_MAX,
            &self.event_type,
        )?;
        validate_text(
            "content_type",
            "CONTENT_TYPE_BYTES_MAX",
            CONTENT_TYPE_BYTES_MAX,
            self.content_type.as_str(),
        )?;
        if self.schema_version == 0 {
            return Err(Error::invalid("schema_version", "starts at 1"));
        }
        if self.event_id.is_nil() {
            return Err(Error::invalid("event_id", "must not be the nil UUID"));
        }
        validate_timestamp("occurred_at", self.occurred_at)?;
        check_limit("PAYLOAD_BYTES_MAX", PAYLOAD_BYTES_MAX, self.payload.len())?;
        self.validate_metadata()
    }

    fn validate_metadata(&self) -> Result<()> {
        let metadata = &self.metadata;
        if let Actor::User(id) = &metadata.actor {
            validate_text("actor", "ACTOR_BYTES_MAX", ACTOR_BYTES_MAX, id)?;
        }
        check_limit("HEADERS_MAX", HEADERS_MAX, metadata.headers.len())?;
        for (name, value) in &metadata.headers {
            validate_text("header name", "HEADER_NAME_BYTES_MAX", HEADER_NAME_BYTES_MAX, name)?;
            check_limit("HEADER_VALUE_BYTES_MAX", HEADER_VALUE_BYTES_MAX, value.len())?;
            if value.chars().any(char::is_control) {
                return Err(Error::invalid("header value", "contains control characters"));
            }
        }
        Ok(())
    }
}

/// Validates a whole batch before any store touches its backend: non-empty, within
/// [`APPEND_EVENTS_MAX`] and [`APPEND_BYTES_MAX`], every event valid, no event id twice, one
/// tenant for the whole batch.
///
/// # Errors
/// [`Error::InvalidInput`] or [`Error::LimitExceeded`].
pub fn validate_batch(events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Err(Error::invalid("events", "an append needs at least one event"));
    }
    check_limit("APPEND_EVENTS_MAX", APPEND_EVENTS_MAX, events.len())?;
    let mut bytes = 0usize;
    let mut ids = HashSet::with_capacity(events.len());
    let tenant = &events[0].metadata.tenant_id;
    for event in events {
        event.validate()?;
        if event.metadata.tenant_id != *tenant {
            return Err(Error::invalid(
                "tenant_id",
                "a batch (and a stream) belongs to one tenant",
            ));
        }
        bytes = bytes.saturating_add(event.payload.len());
        if !ids.insert(event.event_id) {
            return Err(Error::invalid(
                "events",
                format!("event id {} appears twice in one batch", event.event_id),
            ));
        }
    }
    check_limit("APPEND_BYTES_MAX", APPEND_BYTES_MAX, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_storage_round_trip() {
        for actor in [Actor::System, Actor::User("u-1".into())] {
            assert_eq!(Actor::from_storage(&actor.to_storage()).unwrap(), actor);
        }
        assert!(matches!(Actor::from_storage("robot"), Err(Error::Corrupted { .. })));
    }
}
