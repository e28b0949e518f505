//! Codecs turn domain events into payload bytes and back; upcasters bring old payloads to the
//! current shape on read.
//!
//! JSON (serde) is the default; Protobuf (prost) is the compact alternative. Upcasters work on
//! the raw stored form ([`RawEvent`]), so they serve every codec: an upcaster registered for
//! `(event_type, schema_version)` rewrites the payload and returns the next schema version, and
//! the chain runs until no upcaster matches.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ContentType, DomainEvent, Error, RecordedEvent, Result};

/// The stored form of an event's body, as upcasters see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEvent {
    /// The event's type name.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The payload's media type.
    pub content_type: ContentType,
    /// The payload bytes.
    pub payload: Bytes,
}

impl From<&RecordedEvent> for RawEvent {
    fn from(event: &RecordedEvent) -> Self {
        Self {
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            content_type: event.content_type.clone(),
            payload: event.payload.clone(),
        }
    }
}

/// Encodes domain events of type `E` to payloads and decodes them back.
pub trait Codec<E>: Send + Sync {
    /// The payload and its media type.
    ///
    /// # Errors
    /// [`Error::Codec`].
    fn encode(&self, event: &E) -> Result<(Bytes, ContentType)>;

    /// Decodes a payload already upcast to the current schema.
    ///
    /// # Errors
    /// [`Error::Codec`] for bytes that are not a valid `E` or an unexpected content type.
    fn decode(&self, raw: &RawEvent) -> Result<E>;
}

fn codec_error(raw_type: &str, schema_version: u32, source: impl Into<crate::BoxError>) -> Error {
    Error::Codec { event_type: raw_type.to_owned(), schema_version, source: source.into() }
}

fn expect_content_type(raw: &RawEvent, expected: &str) -> Result<()> {
    if raw.content_type.as_str() == expected {
        Ok(())
    } else {
        let found = raw.content_type.as_str();
        let reason = format!("expected content type {expected}, found {found}");
        Err(codec_error(&raw.event_type, raw.schema_version, reason))
    }
}

/// JSON through serde. The event type's serde form is the payload as is.
pub struct JsonCodec<E>(PhantomData<fn() -> E>);

impl<E> JsonCodec<E> {
    /// The JSON codec.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<E> Default for JsonCodec<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> std::fmt::Debug for JsonCodec<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonCodec")
    }
}

impl<E: DomainEvent + Serialize + DeserializeOwned> Codec<E> for JsonCodec<E> {
    fn encode(&self, event: &E) -> Result<(Bytes, ContentType)> {
        let bytes = serde_json::to_vec(event)
            .map_err(|e| codec_error(event.event_type(), event.schema_version(), e))?;
        Ok((Bytes::from(bytes), ContentType::json()))
    }

    fn decode(&self, raw: &RawEvent) -> Result<E> {
        expect_content_type(raw, ContentType::JSON)?;
        serde_json::from_slice(&raw.payload)
            .map_err(|e| codec_error(&raw.event_type, raw.schema_version, e))
    }
}

/// Protobuf through prost: `E` is a prost message (derive `prost::Message`; no `protoc` needed).
pub struct ProstCodec<E>(PhantomData<fn() -> E>);

impl<E> ProstCodec<E> {
    /// The Protobuf codec.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<E> Default for ProstCodec<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> std::fmt::Debug for ProstCodec<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProstCodec")
    }
}

impl<E: DomainEvent + prost::Message + Default> Codec<E> for ProstCodec<E> {
    fn encode(&self, event: &E) -> Result<(Bytes, ContentType)> {
        Ok((Bytes::from(event.encode_to_vec()), ContentType::protobuf()))
    }

    fn decode(&self, raw: &RawEvent) -> Result<E> {
        expect_content_type(raw, ContentType::PROTOBUF)?;
        E::decode(raw.payload.clone())
            .map_err(|e| codec_error(&raw.event_type, raw.schema_version, e))
    }
}

/// Rewrites one `(event_type, schema_version)` payload to the next schema version.
pub type UpcastFn = Arc<dyn Fn(RawEvent) -> Result<RawEvent> + Send + Sync>;

/// Upcasters keyed by `(event type, schema version)`.
#[derive(Clone, Default)]
pub struct Upcasters {
    chain: HashMap<(String, u32), UpcastFn>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<_> = self.chain.keys().collect();
        keys.sort();
        f.debug_struct("Upcasters").field("registered", &keys).finish()
    }
}

impl Upcasters {
    /// No upcasters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a raw upcaster from `(event_type, from_version)`. It must return a higher
    /// schema version, or the chain stops with [`Error::Corrupted`].
    #[must_use]
    pub fn with(
        mut self,
        event_type: &str,
        from_version: u32,
        upcast: impl Fn(RawEvent) -> Result<RawEvent> + Send + Sync + 'static,
    ) -> Self {
        self.chain.insert((event_type.to_owned(), from_version), Arc::new(upcast));
        self
    }

    /// Registers a JSON upcaster: it edits the parsed payload, and the schema version becomes
    /// `from_version + 1`.
    #[must_use]
    pub fn with_json(
        self,
        event_type: &str,
        from_version: u32,
        edit: impl Fn(serde_json::Value) -> Result<serde_json::Value> + Send + Sync + 'static,
    ) -> Self {
        self.with(event_type, from_version, move |raw| {
            expect_content_type(&raw, ContentType::JSON)?;
            let value = serde_json::from_slice(&raw.payload)
                .map_err(|e| codec_error(&raw.event_type, raw.schema_version, e))?;
            let edited = edit(value)?;
            let payload = serde_json::to_vec(&edited)
                .map_err(|e| codec_error(&raw.event_type, raw.schema_version, e))?;
            let next = raw.schema_version.checked_add(1).ok_or_else(|| {
                codec_error(&raw.event_type, raw.schema_version, "schema version overflow")
            })?;
            Ok(RawEvent { schema_version: next, payload: Bytes::from(payload), ..raw })
        })
    }

    /// Runs the chain on `raw` until no upcaster matches.
    ///
    /// # Errors
    /// The first upcaster error, or [`Error::Corrupted`] when an upcaster does not raise the
    /// schema version (which would loop).
    pub fn upcast(&self, mut raw: RawEvent) -> Result<RawEvent> {
        while let Some(step) = self.chain.get(&(raw.event_type.clone(), raw.schema_version)) {
            let from = raw.schema_version;
            raw = step(raw)?;
            if raw.schema_version <= from {
                return Err(Error::corrupted(format!(
                    "upcaster for {} v{from} did not raise the schema version",
                    raw.event_type
                )));
            }
        }
        Ok(raw)
    }
}
